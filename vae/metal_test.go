package vae_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/metal"
	"github.com/ingotml/ingot/metal/emu"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/vae"
)

// The same training run on the emulated Metal device matches the CPU's
// losses, and each training step (forward, backward, Adam, reading the
// three metrics) is exactly one command buffer.
func TestMetalTrainingMatchesCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the shaders with the MSL emulator")
	}
	d, err := metal.New("metal", emu.Open)
	if err != nil {
		t.Skipf("MSL emulator unavailable: %v", err)
	}
	defer d.Close()
	t.Run("mlp", func(t *testing.T) {
		metalMatchesCPU(t, d, subset(t, data.Train, 96), vae.Config{Hidden: []int{32}, Latent: 4}, []string{"adam_update"})
	})
	t.Run("conv", func(t *testing.T) {
		// 8×8 crops keep the emulated convolutions fast.
		full := subset(t, data.Train, 64)
		small := &data.Images{N: 64, Rows: 8, Cols: 8, Labels: full.Labels}
		for i := range 64 {
			img := full.Image(i)
			for r := range 8 {
				small.Pixels = append(small.Pixels, img[(10+r)*28+10:(10+r)*28+18]...)
			}
		}
		metalMatchesCPU(t, d, small, tinyConv(), []string{"adam_update", "im2col", "col2im"})
	})
}

func metalMatchesCPU(t *testing.T, d *metal.Device, set *data.Images, model vae.Config, kernels []string) {
	for _, k := range kernels {
		if !d.Kernels().Has(k) {
			t.Skipf("the Metal device has no %s kernel yet", k)
		}
	}
	cfg := vae.TrainConfig{Model: model, Batch: 32, LR: 3e-3, Seed: 5}
	const steps = 6
	run := func(dev tensor.Device, each func()) [][]float64 {
		tr, err := vae.NewTrainer(dev, cfg, nil)
		require.NoError(t, err)
		ld, err := data.NewLoader(set, cfg.Batch, data.LoaderOptions{Seed: 1, Shuffle: true})
		require.NoError(t, err)
		var b data.Batch
		var out [][]float64
		for range steps {
			if !ld.Next(&b) {
				require.True(t, ld.Next(&b))
			}
			m, err := tr.Step(context.Background(), &b)
			require.NoError(t, err)
			require.NoError(t, dev.Sync())
			out = append(out, []float64{m["loss"], m["recon"], m["kl"]})
			each()
		}
		return out
	}
	want := run(tensor.CPU(), func() {})
	require.NoError(t, d.Sync())
	var commits []int64
	commits = append(commits, d.Stats().Commits)
	got := run(d, func() { commits = append(commits, d.Stats().Commits) })
	for i := range want {
		for j := range want[i] {
			// float32 sums in other orders over 784·32 terms, compounded
			// over a few Adam steps: agreement to 1e-3 relative (KL, which is
			// small early on, to 1e-3 absolute).
			assert.InDelta(t, want[i][j], got[i][j], 1e-3*math.Max(1, math.Abs(want[i][j])), "step %d metric %d", i+1, j)
		}
	}
	assert.Less(t, got[steps-1][0], got[0][0], "the loss goes down on Metal too")
	for i := 1; i < len(commits); i++ {
		assert.Equal(t, int64(1), commits[i]-commits[i-1], "command buffers in step %d", i)
	}
}
