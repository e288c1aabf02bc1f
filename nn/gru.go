package nn

import (
	"fmt"

	"github.com/ingotml/ingot/tensor"
)

// GRU is a multi-layer gated recurrent unit network with PyTorch's
// parameters (weight_ih_l{k} [3H,in], weight_hh_l{k} [3H,H], bias_ih_l{k},
// bias_hh_l{k} [3H]; gates r, z, n with n = tanh(W_in·x + b_in +
// r⊙(W_hn·h + b_hn))) and initialisation U(−1/√H, 1/√H). Like LSTM it runs
// on fused cell kernels as one autograd node, with dropout between layers
// in training mode.
type GRU struct {
	Base
	stack rnnStack
}

// NewGRU builds a GRU on d (nil means the CPU) with weights drawn from rng.
func NewGRU(d tensor.Device, rng *tensor.RNG, cfg RNNConfig) *GRU {
	m := &GRU{stack: rnnStack{kind: rnnGRU, name: "nn.GRU", cfg: cfg}}
	m.stack.init(&m.Base, d, rng, false)
	return m
}

// Config returns the layer's configuration.
func (m *GRU) Config() RNNConfig { return m.stack.cfg }

// Forward runs the sequence x ([T,B,I], or [B,T,I] batch-first) from a zero
// state and returns the last layer's outputs.
func (m *GRU) Forward(x *tensor.Tensor) *tensor.Tensor {
	y, hn := m.ForwardState(x, nil)
	hn.Release() // unused
	return y
}

// ForwardState runs x from h0 ([L,B,H], nil for zeros) and returns the
// outputs and h_n [L,B,H], views of one recorded result (Release what you
// do not use, as for LSTM.ForwardState).
func (m *GRU) ForwardState(x, h0 *tensor.Tensor) (y, hn *tensor.Tensor) {
	y, hn, _ = m.stack.run(x, h0, nil)
	return y, hn
}

// GRUCell is one GRU step with PyTorch's GRUCell parameters.
type GRUCell struct {
	Base
	stack rnnStack
}

// NewGRUCell builds a GRUCell on d (nil means the CPU).
func NewGRUCell(d tensor.Device, rng *tensor.RNG, inputSize, hiddenSize int, bias bool) *GRUCell {
	m := &GRUCell{stack: rnnStack{kind: rnnGRU, name: "nn.GRUCell",
		cfg: RNNConfig{InputSize: inputSize, HiddenSize: hiddenSize, NoBias: !bias}}}
	m.stack.init(&m.Base, d, rng, true)
	return m
}

// Forward advances h ([B,H], nil for zeros) by the input x [B,I].
func (m *GRUCell) Forward(x, h *tensor.Tensor) *tensor.Tensor {
	if x.Rank() != 2 {
		panic(fmt.Sprintf("nn.GRUCell: input %v, want [B %d]", x, m.stack.cfg.InputSize))
	}
	x3, h0 := cellSeq(x), cellState(h)
	y, hn, _ := m.stack.run(x3, h0, nil)
	y.Release() // unused
	out := hn.Reshape(x.Dim(0), m.stack.cfg.HiddenSize)
	if !hn.RequiresGrad() {
		hn.Release()
	}
	for _, t := range []*tensor.Tensor{x3, h0} {
		if t != nil && !t.RequiresGrad() {
			t.Release()
		}
	}
	return out
}
