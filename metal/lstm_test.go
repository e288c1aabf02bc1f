package metal_test

import (
	"testing"

	"github.com/ingotml/ingot/metal"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A whole LSTM sequence — every timestep forward and backward — is encoded
// without a host round trip: reading the loss at the end is the only commit.
// Its values match the CPU's.
func TestLSTMSequenceInOneCommandBuffer(t *testing.T) {
	d := device(t)
	const T, B, I, H = 16, 3, 5, 8
	run := func(dev tensor.Device) (loss float32, gw []float32, commits int64) {
		m := nn.NewLSTM(dev, tensor.NewRNG(5), nn.RNNConfig{InputSize: I, HiddenSize: H, NumLayers: 2})
		x := tensor.NewRNG(6).Normal(dev, 0, 1, T, B, I)
		if md, ok := dev.(interface{ Sync() error }); ok {
			require.NoError(t, md.Sync())
		}
		before := commitsOf(dev)
		y := m.Forward(x)
		l := tensor.Sum(tensor.Mul(y, y), false)
		l.Backward()
		loss = l.Item()
		commits = commitsOf(dev) - before
		gw = nn.Trainable(m)[0].T.Grad().Float32s()
		return
	}
	wantLoss, wantG, _ := run(tensor.CPU())
	loss, g, commits := run(d)
	assert.Equal(t, int64(1), commits, "command buffers for a 16-step sequence, forward and backward")
	assert.InEpsilon(t, wantLoss, loss, 1e-4)
	require.Len(t, g, len(wantG))
	for i := range g {
		assert.InDelta(t, wantG[i], g[i], 1e-4*(1+float64(abs(wantG[i]))), "weight_ih_l0 grad %d", i)
	}
}

func commitsOf(d tensor.Device) int64 {
	if s, ok := d.(interface{ Stats() metal.Stats }); ok {
		return s.Stats().Commits
	}
	return 0
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
