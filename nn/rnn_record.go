package nn

import "github.com/ingotml/ingot/tensor"

// rnnRecord attaches a backward function to out as ONE autograd node with
// the given inputs (backward returns one gradient per input, nil where none).
func rnnRecord(out *tensor.Tensor, op string, inputs []*tensor.Tensor, backward func(g *tensor.Tensor) []*tensor.Tensor) {
	tensor.Record(out, op, inputs, backward)
}
