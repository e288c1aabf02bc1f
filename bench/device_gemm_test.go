package bench_test

import (
	"bytes"
	"testing"

	"github.com/ingotml/ingot/bench"
	"github.com/ingotml/ingot/metal"
	"github.com/ingotml/ingot/metal/emu"
	"github.com/stretchr/testify/require"
)

// RunDeviceGEMM checks its products against the CPU and reports wall and
// GPU-time rows; here on the emulated Metal device (whose "GPU time" is
// the emulator's).
func TestRunDeviceGEMMEmulated(t *testing.T) {
	d, err := metal.New("metal", emu.Open)
	require.NoError(t, err)
	defer d.Close()
	var out bytes.Buffer
	rows, err := bench.RunDeviceGEMM(&out, d, bench.GEMMConfig{Sizes: [][3]int{{64, 64, 32}, {17, 5, 9}}, Repeat: 1})
	require.NoError(t, err)
	require.Len(t, rows, 4)
	require.Equal(t, "metal-wall", rows[0].Name)
	require.Equal(t, "metal-gpu", rows[1].Name)
	require.Greater(t, rows[0].GFLOPSMedian, 0.0)
	require.Contains(t, out.String(), "metal-wall")
}
