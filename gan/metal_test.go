package gan_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/gan"
	"github.com/ingotml/ingot/metal"
	"github.com/ingotml/ingot/metal/emu"
	"github.com/ingotml/ingot/tensor"
)

// A small DCGAN (convolutions, transposed convolutions, BatchNorm in both
// networks, LeakyReLU/ReLU/tanh, Adam) trains the same on the emulated
// Metal device as on the CPU, and each step — D update, G update with D
// frozen, reading the four metrics — is one command buffer.
func TestMetalDCGANMatchesCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the shaders with the MSL emulator")
	}
	d, err := metal.New("metal", emu.Open)
	if err != nil {
		t.Skipf("MSL emulator unavailable: %v", err)
	}
	defer d.Close()
	set, err := data.Default(data.Train)
	require.NoError(t, err)
	// 8×8 crops of 64 images keep the emulated convolutions fast.
	small := &data.Images{N: 64, Rows: 8, Cols: 8, Labels: set.Labels[:64]}
	for i := range 64 {
		img := set.Image(i * (set.N / 64))
		for r := range 8 {
			small.Pixels = append(small.Pixels, img[(10+r)*28+10:(10+r)*28+18]...)
		}
	}
	model := gan.DefaultConfig(gan.ArchDCGAN)
	model.Height, model.Width, model.Features, model.Noise = 8, 8, 4, 8
	cfg := gan.TrainConfig{Model: model, Batch: 16, LR: 1e-3, Seed: 3}
	const steps = 5
	run := func(dev tensor.Device, each func()) [][]float64 {
		tr, err := gan.NewTrainer(dev, cfg, nil)
		require.NoError(t, err)
		ld, err := data.NewLoader(small, cfg.Batch, data.LoaderOptions{Seed: 1, Shuffle: true, DropLast: true, Scale: data.ScaleSigned})
		require.NoError(t, err)
		require.NoError(t, dev.Sync()) // initialisation is not part of a step
		each()
		var b data.Batch
		var out [][]float64
		for range steps {
			if !ld.Next(&b) { // a new epoch
				require.True(t, ld.Next(&b))
			}
			m, err := tr.Step(context.Background(), &b)
			require.NoError(t, err)
			require.NoError(t, dev.Sync())
			out = append(out, []float64{m["d_loss"], m["g_loss"], m["d_real"], m["d_fake"]})
			each()
		}
		return out
	}
	want := run(tensor.CPU(), func() {})
	var commits []int64
	got := run(d, func() { commits = append(commits, d.Stats().Commits) })
	for i := range want {
		for j := range want[i] {
			// float32 sums in other orders (GEMM, BatchNorm statistics),
			// compounded over a few Adam steps: 1e-3 relative.
			assert.InDelta(t, want[i][j], got[i][j], 1e-3*math.Max(1, math.Abs(want[i][j])), "step %d metric %d", i+1, j)
		}
	}
	for i := 1; i < len(commits); i++ {
		assert.Equal(t, int64(1), commits[i]-commits[i-1], "command buffers in step %d", i)
	}
}
