package metal_test

import (
	"sync"
	"testing"

	"github.com/ingotml/ingot/metal"
	"github.com/ingotml/ingot/metal/emu"
	_ "github.com/ingotml/ingot/nn/kernels/kerneltest" // nn's kernels join the suite
	"github.com/ingotml/ingot/tensor/devicetest"
	"github.com/stretchr/testify/require"
)

var emulated = sync.OnceValues(func() (*metal.Device, error) { return metal.New("metal", emu.Open) })

// device is the Metal device over the MSL emulator, shared by the tests
// (compiling the shaders takes seconds).
func device(t testing.TB) *metal.Device {
	d, err := emulated()
	require.NoError(t, err)
	return d
}

func TestConformanceEmulated(t *testing.T) { devicetest.Run(t, device(t)) }
