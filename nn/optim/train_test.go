package optim_test

import (
	"testing"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/require"
)

// TestLSTMLearnsDelay trains a small LSTM end to end (fused layer, Adam,
// clipping, a warm-up schedule) to output its input delayed by one step,
// which needs memory. The loss must fall by a factor of 20; with these
// seeds it falls from ~0.3 to below 0.01.
func TestLSTMLearnsDelay(t *testing.T) {
	d := tensor.CPU()
	rng := tensor.NewRNG(7)
	lstm := nn.NewLSTM(d, rng, nn.RNNConfig{InputSize: 1, HiddenSize: 16, BatchFirst: true})
	head := nn.NewLinear(d, rng, 16, 1)
	var net nn.Base
	net.AddModule("lstm", lstm)
	net.AddModule("head", head)
	params := nn.Trainable(&net)
	opt, err := optim.NewAdam(params, optim.AdamConfig{LR: 0.02, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	require.NoError(t, err)
	sched := optim.WarmUp(10, optim.Cosine(290, 0.1))
	const B, T = 16, 12
	data := tensor.NewRNG(8)
	var first, last float32
	for step := range 300 {
		optim.Apply(opt, 0.02, sched, step)
		x := data.Uniform(d, -1, 1, B, T, 1)
		// target[t] = x[t-1], 0 at t = 0.
		target := tensor.Concat(1, tensor.Zeros(d, B, 1, 1), x.Slice(1, 0, T-1))
		y := head.Forward(lstm.Forward(x))
		loss := tensor.Mean(tensor.Mul(tensor.Sub(y, target), tensor.Sub(y, target)), false)
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.Step()
		opt.ZeroGrad()
		v := loss.Item()
		if step == 0 {
			first = v
		}
		last = v
		loss.ReleaseGraph()
	}
	t.Logf("loss %.4f → %.4f", first, last)
	require.Less(t, last, first/20)
}
