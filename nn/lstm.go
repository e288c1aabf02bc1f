package nn

import (
	"fmt"

	"github.com/ingotml/ingot/tensor"
)

// LSTM is a multi-layer long short-term memory network with PyTorch's
// parameters (weight_ih_l{k} [4H,in], weight_hh_l{k} [4H,H], bias_ih_l{k},
// bias_hh_l{k} [4H]; gates i, f, g, o) and initialisation U(−1/√H, 1/√H).
// It runs on fused cell kernels as one autograd node (see RNNConfig and the
// package docs of the recurrent engine in rnn.go). Inputs are float32
// sequences, so soft inputs (a distribution times an embedding matrix) get
// gradients like any other; gradients also reach the initial state.
// RNNConfig.Dropout applies between layers in training mode, the mode a new
// LSTM starts in (SetTraining(false) to evaluate).
type LSTM struct {
	Base
	stack rnnStack
}

// LSTMState is a recurrent state: H and C are [L,B,H] for LSTM (one slice
// per layer) and [B,H] for LSTMCell. A nil tensor means zeros.
type LSTMState struct{ H, C *tensor.Tensor }

// Detach returns the state cut from its graph (for truncated
// backpropagation through time); the caller owns the new views.
func (s LSTMState) Detach() LSTMState {
	var out LSTMState
	if s.H != nil {
		out.H = s.H.Detach()
	}
	if s.C != nil {
		out.C = s.C.Detach()
	}
	return out
}

// NewLSTM builds an LSTM on d (nil means the CPU) with weights drawn from rng.
func NewLSTM(d tensor.Device, rng *tensor.RNG, cfg RNNConfig) *LSTM {
	m := &LSTM{stack: rnnStack{kind: rnnLSTM, name: "nn.LSTM", cfg: cfg}}
	m.stack.init(&m.Base, d, rng, false)
	return m
}

// Config returns the layer's configuration.
func (m *LSTM) Config() RNNConfig { return m.stack.cfg }

// Forward runs the sequence x ([T,B,I], or [B,T,I] batch-first) from a zero
// state and returns the last layer's outputs [T,B,H] (or [B,T,H]).
func (m *LSTM) Forward(x *tensor.Tensor) *tensor.Tensor {
	y, s := m.ForwardState(x, LSTMState{})
	s.H.Release() // unused slices of the result: nothing depends on them
	s.C.Release()
	return y
}

// ForwardState runs x from state s (each part [L,B,H], nil for zeros) and
// returns the outputs and the final state (h_n, c_n), all views of one
// recorded result. A batch-first y is a transposed view. Release the parts
// you do not use (or Detach and Release them, to carry the state into the
// next chunk) so that ReleaseGraph can return the result's memory.
func (m *LSTM) ForwardState(x *tensor.Tensor, s LSTMState) (*tensor.Tensor, LSTMState) {
	y, h, c := m.stack.run(x, s.H, s.C)
	return y, LSTMState{H: h, C: c}
}

// LSTMCell is one LSTM step with PyTorch's LSTMCell parameters (weight_ih
// [4H,I], weight_hh [4H,H], bias_ih, bias_hh [4H]).
type LSTMCell struct {
	Base
	stack rnnStack
}

// NewLSTMCell builds an LSTMCell on d (nil means the CPU).
func NewLSTMCell(d tensor.Device, rng *tensor.RNG, inputSize, hiddenSize int, bias bool) *LSTMCell {
	m := &LSTMCell{stack: rnnStack{kind: rnnLSTM, name: "nn.LSTMCell",
		cfg: RNNConfig{InputSize: inputSize, HiddenSize: hiddenSize, NoBias: !bias}}}
	m.stack.init(&m.Base, d, rng, true)
	return m
}

// Forward advances the state s (H, C [B,H]; nil for zeros) by the input x
// [B,I] and returns the new state.
func (m *LSTMCell) Forward(x *tensor.Tensor, s LSTMState) LSTMState {
	if x.Rank() != 2 {
		panic(fmt.Sprintf("nn.LSTMCell: input %v, want [B %d]", x, m.stack.cfg.InputSize))
	}
	x3 := cellSeq(x)
	h0, c0 := cellState(s.H), cellState(s.C)
	y, h, c := m.stack.run(x3, h0, c0)
	y.Release() // unused

	B, H := x.Dim(0), m.stack.cfg.HiddenSize
	out := LSTMState{H: h.Reshape(B, H), C: c.Reshape(B, H)}
	if !h.RequiresGrad() {
		h.Release()
		c.Release()
	}
	for _, t := range []*tensor.Tensor{x3, h0, c0} {
		if t != nil && !t.RequiresGrad() {
			t.Release()
		}
	}
	return out
}

// cellSeq views a [B,I] input as a one-step sequence [1,B,I].
func cellSeq(x *tensor.Tensor) *tensor.Tensor { return x.Unsqueeze(0) }

// cellState views a [B,H] state as [1,B,H] (nil stays nil).
func cellState(s *tensor.Tensor) *tensor.Tensor {
	if s == nil {
		return nil
	}
	if s.Rank() != 2 {
		panic(fmt.Sprintf("nn: cell state %v, want [B H]", s))
	}
	return s.Unsqueeze(0)
}
