package nn

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/require"
)

// goldenTensor is a tensor in the golden JSON files.
type goldenTensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func (g *goldenTensor) tensor(d tensor.Device) *tensor.Tensor {
	return tensor.FromFloat32(d, g.Data, g.Shape...)
}

type rnnGoldenCase struct {
	Params     map[string]goldenTensor `json:"params"`
	ParamOrder []string                `json:"param_order"`
	X          goldenTensor            `json:"x"`
	H0         *goldenTensor           `json:"h0"`
	C0         *goldenTensor           `json:"c0"`
	Outputs    map[string]goldenTensor `json:"outputs"`
	Weights    map[string]goldenTensor `json:"weights"`
	Grads      map[string]goldenTensor `json:"grads"`
}

// TestRNNGoldenPyTorch runs the models of testdata/rnn_golden.json (made by
// rnn_golden.py with PyTorch 1.13) with PyTorch's weights, loaded by
// parameter name, and compares outputs and all gradients. It checks the
// parameter names, their order and shapes, the gate order and the
// equations. Tolerance 2e-5 relative: both sides are float32 with
// different summation orders.
func TestRNNGoldenPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/rnn_golden.json")
	require.NoError(t, err)
	var file struct {
		Cases map[string]*rnnGoldenCase `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(raw, &file))
	d := tensor.CPU()
	const I, H = 3, 5
	require.Len(t, file.Cases, 6)
	for name, gc := range file.Cases {
		t.Run(name, func(t *testing.T) {
			rng := tensor.NewRNG(1)
			var m Module
			switch name {
			case "lstm":
				m = NewLSTM(d, rng, RNNConfig{InputSize: I, HiddenSize: H, NumLayers: 2})
			case "lstm_batch_first":
				m = NewLSTM(d, rng, RNNConfig{InputSize: I, HiddenSize: H, BatchFirst: true})
			case "gru":
				m = NewGRU(d, rng, RNNConfig{InputSize: I, HiddenSize: H, NumLayers: 2})
			case "gru_batch_first":
				m = NewGRU(d, rng, RNNConfig{InputSize: I, HiddenSize: H, BatchFirst: true})
			case "lstm_cell":
				m = NewLSTMCell(d, rng, I, H, true)
			case "gru_cell":
				m = NewGRUCell(d, rng, I, H, true)
			default:
				t.Fatalf("unknown golden case %q", name)
			}
			ps := m.Params()
			require.Len(t, ps, len(gc.ParamOrder))
			for i, p := range ps {
				require.Equal(t, gc.ParamOrder[i], p.Name, "parameter order")
				g := gc.Params[p.Name]
				require.NoError(t, p.Set(g.tensor(d)))
			}
			x := gc.X.tensor(d).SetRequiresGrad(true)
			var h0, c0 *tensor.Tensor
			if gc.H0 != nil {
				h0 = gc.H0.tensor(d).SetRequiresGrad(true)
			}
			if gc.C0 != nil {
				c0 = gc.C0.tensor(d).SetRequiresGrad(true)
			}
			outs := map[string]*tensor.Tensor{}
			switch m := m.(type) {
			case *LSTM:
				y, s := m.ForwardState(x, LSTMState{H: h0, C: c0})
				outs["y"], outs["h_n"], outs["c_n"] = y, s.H, s.C
			case *GRU:
				outs["y"], outs["h_n"] = m.ForwardState(x, h0)
			case *LSTMCell:
				s := m.Forward(x, LSTMState{H: h0, C: c0})
				outs["h"], outs["c"] = s.H, s.C
			case *GRUCell:
				outs["h"] = m.Forward(x, h0)
			}
			require.Len(t, outs, len(gc.Outputs))
			var loss *tensor.Tensor
			for k, want := range gc.Outputs {
				got := outs[k]
				require.Equal(t, want.Shape, got.Shape(), k)
				requireAllClose(t, want.Data, got.Float32s(), 2e-5, k)
				w := gc.Weights[k]
				s := tensor.Sum(tensor.Mul(got, w.tensor(d)), false)
				if loss == nil {
					loss = s
				} else {
					loss = tensor.Add(loss, s)
				}
			}
			loss.Backward()
			check := func(k string, g *tensor.Tensor) {
				want, ok := gc.Grads[k]
				require.True(t, ok, k)
				require.NotNil(t, g, k)
				require.Equal(t, want.Shape, g.Shape(), k)
				requireAllClose(t, want.Data, g.Float32s(), 2e-5, "grad "+k)
			}
			check("x", x.Grad())
			if h0 != nil {
				check("h0", h0.Grad())
			}
			if c0 != nil {
				check("c0", c0.Grad())
			}
			for _, p := range ps {
				check(p.Name, p.T.Grad())
			}
		})
	}
}
