package nn_test

import (
	"fmt"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
)

// Truncated backpropagation through time: the state carried from one chunk
// to the next is detached, so each backward pass stops at the chunk start.
func ExampleLSTM_ForwardState() {
	d := tensor.CPU()
	lstm := nn.NewLSTM(d, tensor.NewRNG(1), nn.RNNConfig{InputSize: 3, HiddenSize: 4, NumLayers: 2})
	opt, _ := optim.NewAdam(nn.Trainable(lstm), optim.DefaultAdam())
	var state nn.LSTMState // zeros
	for chunk := range 3 {
		x := tensor.NewRNG(uint64(10+chunk)).Normal(d, 0, 1, 5, 2, 3) // [T=5, B=2, I=3]
		y, next := lstm.ForwardState(x, state)
		loss := tensor.Mean(tensor.Mul(y, y), false)
		loss.Backward()
		optim.ClipGradNorm(nn.Trainable(lstm), 1)
		opt.Step()
		opt.ZeroGrad()
		// Keep the final state's values, drop its graph.
		old := state
		state = next.Detach()
		next.H.Release()
		next.C.Release()
		if old.H != nil {
			old.H.Release()
			old.C.Release()
		}
		loss.ReleaseGraph()
		fmt.Println(chunk, state.H.Shape(), state.H.RequiresGrad())
	}
	// Output:
	// 0 [2 2 4] false
	// 1 [2 2 4] false
	// 2 [2 2 4] false
}
