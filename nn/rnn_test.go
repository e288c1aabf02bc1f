package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/require"
)

// rnnModule is what the recurrent tests need of LSTM and GRU.
type rnnModule interface {
	Module
	run(x, h0, c0 *tensor.Tensor) (y, hn, cn *tensor.Tensor)
}

func (m *LSTM) run(x, h0, c0 *tensor.Tensor) (y, hn, cn *tensor.Tensor) {
	return m.stack.run(x, h0, c0)
}
func (m *GRU) run(x, h0, _ *tensor.Tensor) (y, hn, cn *tensor.Tensor) { return m.stack.run(x, h0, nil) }

// unrolled is the reference: the same network written as a plain
// composition of recorded tensor ops, step by step. ps are leaves holding
// the module's parameter values, in registration order.
func unrolled(kind rnnKind, cfg RNNConfig, ps []*tensor.Tensor, x, h0, c0 *tensor.Tensor) (y, hn, cn *tensor.Tensor) {
	H := cfg.HiddenSize
	if cfg.BatchFirst {
		x = x.Transpose(0, 1)
	}
	T, B := x.Dim(0), x.Dim(1)
	var hs, cs []*tensor.Tensor
	next := 0
	for l := range cfg.NumLayers {
		wih, whh := ps[next], ps[next+1]
		next += 2
		var bih, bhh *tensor.Tensor
		if !cfg.NoBias {
			bih, bhh = ps[next], ps[next+1]
			next += 2
		}
		state := func(s *tensor.Tensor) *tensor.Tensor {
			if s == nil {
				return tensor.Zeros(x.Device(), B, H)
			}
			return s.Slice(0, l, l+1).Reshape(B, H)
		}
		h, c := state(h0), state(c0)
		var outs []*tensor.Tensor
		for t := range T {
			xt := x.Slice(0, t, t+1).Reshape(B, x.Dim(2))
			xp := tensor.MatMul(xt, wih.T())
			hp := tensor.MatMul(h, whh.T())
			if bih != nil {
				xp, hp = tensor.Add(xp, bih), tensor.Add(hp, bhh)
			}
			switch kind {
			case rnnLSTM:
				p := tensor.Add(xp, hp).Split(1, H, H, H, H)
				i, f, g, o := tensor.Sigmoid(p[0]), tensor.Sigmoid(p[1]), tensor.Tanh(p[2]), tensor.Sigmoid(p[3])
				c = tensor.Add(tensor.Mul(f, c), tensor.Mul(i, g))
				h = tensor.Mul(o, tensor.Tanh(c))
			case rnnGRU:
				xs, hs := xp.Split(1, H, H, H), hp.Split(1, H, H, H)
				r := tensor.Sigmoid(tensor.Add(xs[0], hs[0]))
				z := tensor.Sigmoid(tensor.Add(xs[1], hs[1]))
				n := tensor.Tanh(tensor.Add(xs[2], tensor.Mul(r, hs[2])))
				h = tensor.Add(tensor.Mul(tensor.AddScalar(tensor.Neg(z), 1), n), tensor.Mul(z, h))
			}
			outs = append(outs, h)
		}
		x = tensor.Stack(0, outs...)
		hs, cs = append(hs, h), append(cs, c)
	}
	y = x
	if cfg.BatchFirst {
		y = y.Transpose(0, 1)
	}
	hn = tensor.Stack(0, hs...)
	if kind == rnnLSTM {
		cn = tensor.Stack(0, cs...)
	}
	return y, hn, cn
}

func randT(r *rand.Rand, d tensor.Device, scale float64, shape ...int) *tensor.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((r.Float64()*2 - 1) * scale)
	}
	return tensor.FromFloat32(d, v, shape...)
}

// weightedLoss is Σ w·t over the given tensors (nil ones skipped), with
// fixed random weights, so every output element gets a distinct gradient.
func weightedLoss(ws []*tensor.Tensor, ts ...*tensor.Tensor) *tensor.Tensor {
	var loss *tensor.Tensor
	for i, t := range ts {
		if t == nil {
			continue
		}
		s := tensor.Sum(tensor.Mul(t, ws[i]), false)
		if loss == nil {
			loss = s
		} else {
			loss = tensor.Add(loss, s)
		}
	}
	return loss
}

func requireAllClose(t *testing.T, want, got []float32, tol float64, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		w := float64(want[i])
		require.InDeltaf(t, w, float64(got[i]), tol*(1+math.Abs(w)), "%s element %d", what, i)
	}
}

type rnnCase struct {
	kind       rnnKind
	layers     int
	batchFirst bool
	state      bool
	noBias     bool
}

func (c rnnCase) String() string {
	return fmt.Sprintf("%v/L%d/batchFirst=%v/state=%v/noBias=%v", c.kind, c.layers, c.batchFirst, c.state, c.noBias)
}

func (c rnnCase) build(d tensor.Device, seed uint64, in, hidden int) rnnModule {
	cfg := RNNConfig{InputSize: in, HiddenSize: hidden, NumLayers: c.layers, BatchFirst: c.batchFirst, NoBias: c.noBias}
	if c.kind == rnnLSTM {
		return NewLSTM(d, tensor.NewRNG(seed), cfg)
	}
	return NewGRU(d, tensor.NewRNG(seed), cfg)
}

func rnnCases() []rnnCase {
	var cs []rnnCase
	for _, kind := range []rnnKind{rnnLSTM, rnnGRU} {
		for _, layers := range []int{1, 2} {
			for _, bf := range []bool{false, true} {
				for _, state := range []bool{false, true} {
					cs = append(cs, rnnCase{kind, layers, bf, state, false})
				}
			}
		}
		cs = append(cs, rnnCase{kind, 2, false, true, true}, rnnCase{kind, 1, true, false, true})
	}
	return cs
}

// TestRNNMatchesUnrolled checks the fused layers' outputs and every
// gradient (input, initial states, each parameter) against the unrolled
// composition of tensor ops. Both sides compute in float32 with different
// operation orders (fused bias sums, GEMM blocking); 2e-5 relative is ~100
// ulp, far above that rounding and far below any real error.
func TestRNNMatchesUnrolled(t *testing.T) {
	d := tensor.CPU()
	const T, B, I, H = 5, 3, 4, 6
	for _, c := range rnnCases() {
		t.Run(c.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(c.layers)))
			m := c.build(d, 42, I, H)
			cfg := RNNConfig{InputSize: I, HiddenSize: H, NumLayers: c.layers, BatchFirst: c.batchFirst, NoBias: c.noBias}
			xs := []int{T, B, I}
			if c.batchFirst {
				xs = []int{B, T, I}
			}
			x := randT(r, d, 1, xs...).SetRequiresGrad(true)
			xr := tensor.FromFloat32(d, x.Float32s(), xs...).SetRequiresGrad(true)
			var h0, c0, h0r, c0r *tensor.Tensor
			if c.state {
				h0 = randT(r, d, 0.5, c.layers, B, H).SetRequiresGrad(true)
				h0r = tensor.FromFloat32(d, h0.Float32s(), c.layers, B, H).SetRequiresGrad(true)
				if c.kind == rnnLSTM {
					c0 = randT(r, d, 0.5, c.layers, B, H).SetRequiresGrad(true)
					c0r = tensor.FromFloat32(d, c0.Float32s(), c.layers, B, H).SetRequiresGrad(true)
				}
			}
			var refPs []*tensor.Tensor
			for _, p := range m.Params() {
				refPs = append(refPs, tensor.FromFloat32(d, p.T.Float32s(), p.T.Shape()...).SetRequiresGrad(true))
			}
			y, hn, cn := m.run(x, h0, c0)
			yr, hnr, cnr := unrolled(c.kind, cfg, refPs, xr, h0r, c0r)
			require.Equal(t, yr.Shape(), y.Shape())
			requireAllClose(t, yr.Float32s(), y.Float32s(), 2e-5, "y")
			requireAllClose(t, hnr.Float32s(), hn.Float32s(), 2e-5, "h_n")
			if cn != nil {
				requireAllClose(t, cnr.Float32s(), cn.Float32s(), 2e-5, "c_n")
			}
			ws := []*tensor.Tensor{randT(r, d, 1, y.Shape()...), randT(r, d, 1, hn.Shape()...), randT(r, d, 1, hn.Shape()...)}
			weightedLoss(ws, y, hn, cn).Backward()
			weightedLoss(ws, yr, hnr, cnr).Backward()
			requireAllClose(t, xr.Grad().Float32s(), x.Grad().Float32s(), 2e-5, "dx")
			if c.state {
				requireAllClose(t, h0r.Grad().Float32s(), h0.Grad().Float32s(), 2e-5, "dh0")
				if c0 != nil {
					requireAllClose(t, c0r.Grad().Float32s(), c0.Grad().Float32s(), 2e-5, "dc0")
				}
			}
			for i, p := range m.Params() {
				require.NotNil(t, p.T.Grad(), p.Name)
				requireAllClose(t, refPs[i].Grad().Float32s(), p.T.Grad().Float32s(), 2e-5, "d"+p.Name)
			}
		})
	}
}
