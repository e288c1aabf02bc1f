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
	for _, k := range []string{"adam_update"} {
		if !d.Kernels().Has(k) {
			t.Skipf("the Metal device has no %s kernel yet", k)
		}
	}
	set := subset(t, data.Train, 96)
	cfg := vae.TrainConfig{Model: vae.Config{Hidden: []int{32}, Latent: 4}, Batch: 32, LR: 3e-3, Seed: 5}
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
