package charlm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/charlm"
	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/metal"
	"github.com/ingotml/ingot/metal/emu"
	"github.com/ingotml/ingot/tensor"
)

// The same training run on the emulated Metal device matches the CPU's
// losses and held-out bits per character; without clipping, a training
// step (every LSTM timestep forward and backward, Adam, reading the loss)
// is one command buffer.
func TestMetalTrainingMatchesCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the shaders with the MSL emulator")
	}
	d, err := metal.New("metal", emu.Open)
	if err != nil {
		t.Skipf("MSL emulator unavailable: %v", err)
	}
	defer d.Close()
	text := strings.Repeat("床前明月光，疑是地上霜。It is a truth universally acknowledged.\n", 8)
	v := data.NewVocab(text)
	ids := v.Encode(text)
	const steps = 3
	run := func(dev tensor.Device, each func()) ([]float64, float64) {
		m, err := charlm.New(dev, tensor.NewRNG(3), v, charlm.Config{Embed: 8, Hidden: 16, Layers: 2})
		require.NoError(t, err)
		tr, err := charlm.NewTrainer(m, charlm.TrainConfig{LR: 1e-2})
		require.NoError(t, err)
		b, err := data.NewTextBatcher(ids, 4, 12, data.TextOptions{})
		require.NoError(t, err)
		var c data.TextBatch
		var losses []float64
		for range steps {
			require.True(t, b.Next(&c))
			losses = append(losses, tr.Step(c.Input, c.Target, c.Seq, c.Batch, c.Step == 0))
			require.NoError(t, dev.Sync())
			each()
		}
		bpc, err := m.BitsPerChar(context.Background(), ids[:100])
		require.NoError(t, err)
		return losses, bpc
	}
	want, wantBPC := run(tensor.CPU(), func() {})
	require.NoError(t, d.Sync())
	commits := []int64{d.Stats().Commits}
	got, gotBPC := run(d, func() { commits = append(commits, d.Stats().Commits) })
	// float32 sums in other orders, compounded over a few Adam steps:
	// 1e-4 relative.
	for i := range want {
		assert.InEpsilon(t, want[i], got[i], 1e-4, "step %d", i+1)
	}
	assert.InEpsilon(t, wantBPC, gotBPC, 1e-4)
	for i := 1; i < len(commits); i++ {
		assert.Equal(t, int64(1), commits[i]-commits[i-1], "command buffers in step %d", i)
	}
}
