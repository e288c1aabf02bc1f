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
	return unrolledMasked(kind, cfg, ps, x, h0, c0, nil)
}

// unrolledMasked multiplies layer l's output sequence by masks[l] before
// it feeds layer l+1 (dropout with given masks).
func unrolledMasked(kind rnnKind, cfg RNNConfig, ps []*tensor.Tensor, x, h0, c0 *tensor.Tensor, masks []*tensor.Tensor) (y, hn, cn *tensor.Tensor) {
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
		if l < len(masks) {
			y = x
			x = tensor.Mul(x, masks[l])
		}
	}
	if len(masks) < cfg.NumLayers {
		y = x
	}
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

// TestRNNCellsMatchUnrolled checks LSTMCell and GRUCell (one step, given
// or zero state) and their gradients against the unrolled composition.
func TestRNNCellsMatchUnrolled(t *testing.T) {
	d := tensor.CPU()
	const B, I, H = 3, 5, 4
	for _, kind := range []rnnKind{rnnLSTM, rnnGRU} {
		for _, state := range []bool{false, true} {
			for _, bias := range []bool{true, false} {
				t.Run(fmt.Sprintf("%vCell/state=%v/bias=%v", kind, state, bias), func(t *testing.T) {
					r := rand.New(rand.NewPCG(5, 6))
					var m Module
					if kind == rnnLSTM {
						m = NewLSTMCell(d, tensor.NewRNG(9), I, H, bias)
					} else {
						m = NewGRUCell(d, tensor.NewRNG(9), I, H, bias)
					}
					names := []string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
					var refPs []*tensor.Tensor
					for i, p := range m.Params() {
						require.Equal(t, names[i], p.Name)
						refPs = append(refPs, tensor.FromFloat32(d, p.T.Float32s(), p.T.Shape()...).SetRequiresGrad(true))
					}
					x := randT(r, d, 1, B, I).SetRequiresGrad(true)
					xr := tensor.FromFloat32(d, x.Float32s(), 1, B, I).SetRequiresGrad(true)
					var h, c, hr, cr *tensor.Tensor
					if state {
						h = randT(r, d, 0.5, B, H).SetRequiresGrad(true)
						c = randT(r, d, 0.5, B, H).SetRequiresGrad(true)
						hr = tensor.FromFloat32(d, h.Float32s(), 1, B, H).SetRequiresGrad(true)
						cr = tensor.FromFloat32(d, c.Float32s(), 1, B, H).SetRequiresGrad(true)
					}
					var h1, c1 *tensor.Tensor
					if kind == rnnLSTM {
						s := m.(*LSTMCell).Forward(x, LSTMState{H: h, C: c})
						h1, c1 = s.H, s.C
					} else {
						h1 = m.(*GRUCell).Forward(x, h)
						cr = nil
					}
					cfg := RNNConfig{InputSize: I, HiddenSize: H, NumLayers: 1, NoBias: !bias}
					_, hnr, cnr := unrolled(kind, cfg, refPs, xr, hr, cr)
					require.Equal(t, []int{B, H}, h1.Shape())
					requireAllClose(t, hnr.Float32s(), h1.Float32s(), 2e-5, "h")
					if c1 != nil {
						requireAllClose(t, cnr.Float32s(), c1.Float32s(), 2e-5, "c")
					}
					ws := []*tensor.Tensor{randT(r, d, 1, B, H), randT(r, d, 1, B, H)}
					weightedLoss(ws, h1, c1).Backward()
					hnr2, cnr2 := hnr.Reshape(B, H), (*tensor.Tensor)(nil)
					if cnr != nil {
						cnr2 = cnr.Reshape(B, H)
					}
					weightedLoss(ws, hnr2, cnr2).Backward()
					requireAllClose(t, xr.Grad().Float32s(), x.Grad().Float32s(), 2e-5, "dx")
					if state {
						requireAllClose(t, hr.Grad().Float32s(), h.Grad().Float32s(), 2e-5, "dh")
						if kind == rnnLSTM {
							requireAllClose(t, cr.Grad().Float32s(), c.Grad().Float32s(), 2e-5, "dc")
						}
					}
					for i, p := range m.Params() {
						requireAllClose(t, refPs[i].Grad().Float32s(), p.T.Grad().Float32s(), 2e-5, "d"+p.Name)
					}
				})
			}
		}
	}
}

// ref64 is a float64 LSTM/GRU written from the equations, for finite
// differences. Inputs are time-major; vals holds x, h0, c0 (may be empty)
// and the parameters, flattened.
type ref64 struct {
	kind          rnnKind
	T, B, I, H, L int
	bias          bool
}

func sig64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// run returns y [T,B,H], h_n and c_n [L,B,H].
func (r ref64) run(x, h0, c0 []float64, ps [][]float64) (y, hn, cn []float64) {
	G := r.kind.gates() * r.H
	in, inSize := x, r.I
	k := 0
	for l := range r.L {
		wih, whh := ps[k], ps[k+1]
		k += 2
		bih, bhh := make([]float64, G), make([]float64, G)
		if r.bias {
			bih, bhh = ps[k], ps[k+1]
			k += 2
		}
		h := append([]float64(nil), h0[l*r.B*r.H:(l+1)*r.B*r.H]...)
		c := append([]float64(nil), c0[l*r.B*r.H:(l+1)*r.B*r.H]...)
		out := make([]float64, r.T*r.B*r.H)
		for t := range r.T {
			nh := make([]float64, r.B*r.H)
			for b := range r.B {
				xp, hp := make([]float64, G), make([]float64, G)
				for j := range G {
					xp[j], hp[j] = bih[j], bhh[j]
					for i := range inSize {
						xp[j] += wih[j*inSize+i] * in[(t*r.B+b)*inSize+i]
					}
					for i := range r.H {
						hp[j] += whh[j*r.H+i] * h[b*r.H+i]
					}
				}
				for j := range r.H {
					if r.kind == rnnLSTM {
						H := r.H
						ig, fg := sig64(xp[j]+hp[j]), sig64(xp[H+j]+hp[H+j])
						gg, og := math.Tanh(xp[2*H+j]+hp[2*H+j]), sig64(xp[3*H+j]+hp[3*H+j])
						c[b*H+j] = fg*c[b*H+j] + ig*gg
						nh[b*H+j] = og * math.Tanh(c[b*H+j])
					} else {
						H := r.H
						rg, zg := sig64(xp[j]+hp[j]), sig64(xp[H+j]+hp[H+j])
						ng := math.Tanh(xp[2*H+j] + rg*hp[2*H+j])
						nh[b*H+j] = (1-zg)*ng + zg*h[b*H+j]
					}
				}
			}
			h = nh
			copy(out[t*r.B*r.H:], h)
		}
		hn, cn = append(hn, h...), append(cn, c...)
		in, inSize = out, r.H
	}
	return in, hn, cn
}

// TestRNNFiniteDifferences checks every gradient of the fused layers (input,
// initial states, parameters) against central differences of the float64
// reference on a tiny two-layer model. Tolerance: 1e-3 relative, as in the
// conformance suite — float32 forward and backward over a few dozen
// accumulated terms, against differences accurate to ~1e-8.
func TestRNNFiniteDifferences(t *testing.T) {
	d := tensor.CPU()
	const T, B, I, H, L = 3, 2, 3, 4, 2
	for _, kind := range []rnnKind{rnnLSTM, rnnGRU} {
		t.Run(kind.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, 9))
			c := rnnCase{kind: kind, layers: L, state: true}
			m := c.build(d, 77, I, H)
			x := randT(r, d, 1, T, B, I).SetRequiresGrad(true)
			h0 := randT(r, d, 0.5, L, B, H).SetRequiresGrad(true)
			c0 := randT(r, d, 0.5, L, B, H).SetRequiresGrad(true)
			var c0in *tensor.Tensor
			if kind == rnnLSTM {
				c0in = c0
			}
			y, hn, cn := m.run(x, h0, c0in)
			ws := []*tensor.Tensor{randT(r, d, 1, T, B, H), randT(r, d, 1, L, B, H), randT(r, d, 1, L, B, H)}
			weightedLoss(ws, y, hn, cn).Backward()

			f64 := func(t *tensor.Tensor) []float64 {
				v := t.Float32s()
				out := make([]float64, len(v))
				for i, x := range v {
					out[i] = float64(x)
				}
				return out
			}
			vals := [][]float64{f64(x), f64(h0), f64(c0)}
			grads := []*tensor.Tensor{x.Grad(), h0.Grad(), nil}
			if kind == rnnLSTM {
				grads[2] = c0.Grad()
			} else {
				vals[2] = make([]float64, L*B*H) // the GRU has no cell state
			}
			for _, p := range m.Params() {
				vals = append(vals, f64(p.T))
				grads = append(grads, p.T.Grad())
			}
			wv := [][]float64{f64(ws[0]), f64(ws[1]), f64(ws[2])}
			ref := ref64{kind: kind, T: T, B: B, I: I, H: H, L: L, bias: true}
			loss := func() float64 {
				yy, hh, cc := ref.run(vals[0], vals[1], vals[2], vals[3:])
				s := 0.0
				for i, v := range yy {
					s += v * wv[0][i]
				}
				for i, v := range hh {
					s += v * wv[1][i]
				}
				if kind == rnnLSTM {
					for i, v := range cc {
						s += v * wv[2][i]
					}
				}
				return s
			}
			// The reference forward agrees with the fused one.
			yy, _, _ := ref.run(vals[0], vals[1], vals[2], vals[3:])
			for i, v := range y.Float32s() {
				require.InDelta(t, yy[i], float64(v), 2e-6*(1+math.Abs(yy[i])), "y element %d", i)
			}
			for vi, v := range vals {
				if grads[vi] == nil {
					continue
				}
				g := grads[vi].Float32s()
				for i := range v {
					old := v[i]
					e := 1e-6
					v[i] = old + e
					fp := loss()
					v[i] = old - e
					fm := loss()
					v[i] = old
					num := (fp - fm) / (2 * e)
					require.InDeltaf(t, num, float64(g[i]), 1e-3*(1+math.Abs(num)), "input %d element %d", vi, i)
				}
			}
		})
	}
}

// TestRNNReusesMemory checks that training steps in steady state take no
// fresh buffers from the device: the layer frees its saved activations
// after backward and its result is released with the graph.
func TestRNNReusesMemory(t *testing.T) {
	d := tensor.CPU()
	for _, kind := range []rnnKind{rnnLSTM, rnnGRU} {
		t.Run(kind.String(), func(t *testing.T) {
			m := rnnCase{kind: kind, layers: 2, batchFirst: true}.build(d, 3, 4, 8)
			r := rand.New(rand.NewPCG(1, 1))
			x := randT(r, d, 1, 3, 5, 4).SetRequiresGrad(true)
			h0 := randT(r, d, 1, 2, 3, 8)
			step := func() {
				y, hn, cn := m.run(x, h0, nil)
				hn.Release()
				if cn != nil {
					cn.Release()
				}
				loss := tensor.Sum(tensor.Mul(y, y), false)
				loss.Backward()
				loss.ReleaseGraph()
				ZeroGrad(m)
				x.ZeroGrad()
			}
			step()
			step()
			before := d.Allocator().Stats()
			for range 3 {
				step()
			}
			after := d.Allocator().Stats()
			require.Equal(t, before.Fresh, after.Fresh, "fresh device buffers in steady state")
			require.Equal(t, before.InUse, after.InUse, "bytes still in use after the steps")
		})
	}
}

// TestRNNBackwardTwicePanics: the saved activations are freed by the first
// backward pass, as in PyTorch without retain_graph.
func TestRNNBackwardTwicePanics(t *testing.T) {
	d := tensor.CPU()
	m := NewLSTM(d, tensor.NewRNG(1), RNNConfig{InputSize: 2, HiddenSize: 3})
	x := tensor.Ones(d, 2, 1, 2)
	y := m.Forward(x)
	loss := tensor.Sum(y, false)
	loss.Backward()
	require.PanicsWithValue(t, "nn.LSTM: backward through the same forward pass twice (its saved activations were freed)",
		func() { loss.Backward() })
}

func TestRNNBadInputsPanic(t *testing.T) {
	d := tensor.CPU()
	m := NewLSTM(d, tensor.NewRNG(1), RNNConfig{InputSize: 2, HiddenSize: 3, NumLayers: 2})
	require.PanicsWithValue(t, "nn.LSTM: input float32[4 1 3]@cpu, want float32 [T B 2] (or [B T 2] batch-first)",
		func() { m.Forward(tensor.Ones(d, 4, 1, 3)) })
	require.PanicsWithValue(t, "nn.LSTM: initial state float32[1 1 3]@cpu, want float32 [2 1 3] on cpu",
		func() { m.ForwardState(tensor.Ones(d, 4, 1, 2), LSTMState{H: tensor.Ones(d, 1, 1, 3)}) })
	require.Panics(t, func() { NewGRU(d, tensor.NewRNG(1), RNNConfig{InputSize: 0, HiddenSize: 3}) })
	require.PanicsWithValue(t, "nn.GRUCell: input float32[3]@cpu, want [B 2]",
		func() { NewGRUCell(d, tensor.NewRNG(1), 2, 3, true).Forward(tensor.Ones(d, 3), nil) })
}

// TestRNNInit checks PyTorch's parameter names, shapes and the
// U(−1/√H, 1/√H) initialisation, and that the same seed gives the same
// weights.
func TestRNNInit(t *testing.T) {
	d := tensor.CPU()
	m := NewLSTM(d, tensor.NewRNG(5), RNNConfig{InputSize: 7, HiddenSize: 16, NumLayers: 2})
	want := []struct {
		name  string
		shape []int
	}{
		{"weight_ih_l0", []int{64, 7}}, {"weight_hh_l0", []int{64, 16}}, {"bias_ih_l0", []int{64}}, {"bias_hh_l0", []int{64}},
		{"weight_ih_l1", []int{64, 16}}, {"weight_hh_l1", []int{64, 16}}, {"bias_ih_l1", []int{64}}, {"bias_hh_l1", []int{64}},
	}
	ps := m.Params()
	require.Len(t, ps, len(want))
	for i, p := range ps {
		require.Equal(t, want[i].name, p.Name)
		require.Equal(t, want[i].shape, p.T.Shape())
		require.True(t, p.Trainable)
		lo, hi := float32(1), float32(-1)
		for _, v := range p.T.Float32s() {
			require.True(t, v >= -0.25 && v < 0.25, "%s value %v outside U(-1/4, 1/4)", p.Name, v)
			lo, hi = min(lo, v), max(hi, v)
		}
		require.Less(t, lo, float32(-0.2), "%s does not cover the range", p.Name)
		require.Greater(t, hi, float32(0.2), "%s does not cover the range", p.Name)
	}
	m2 := NewLSTM(d, tensor.NewRNG(5), RNNConfig{InputSize: 7, HiddenSize: 16, NumLayers: 2})
	require.Equal(t, ps[3].T.Float32s(), m2.Params()[3].T.Float32s())
	g := NewGRU(d, tensor.NewRNG(5), RNNConfig{InputSize: 7, HiddenSize: 16, NoBias: true})
	require.Len(t, g.Params(), 2)
	require.Equal(t, []int{48, 7}, g.Params()[0].T.Shape())
	require.Equal(t, 48*7+48*16, NumParams(g))
}

// TestRNNDropout checks inter-layer dropout in training mode against the
// unrolled reference given the same masks (drawn from a copy of the layer's
// RNG state), forward and every gradient; and that eval mode ignores it.
func TestRNNDropout(t *testing.T) {
	d := tensor.CPU()
	const T, B, I, H, L = 4, 3, 2, 5, 3
	const p = 0.4
	for _, kind := range []rnnKind{rnnLSTM, rnnGRU} {
		t.Run(kind.String(), func(t *testing.T) {
			cfg := RNNConfig{InputSize: I, HiddenSize: H, NumLayers: L, Dropout: p}
			rng := tensor.NewRNG(21)
			var m rnnModule
			if kind == rnnLSTM {
				m = NewLSTM(d, rng, cfg)
			} else {
				m = NewGRU(d, rng, cfg)
			}
			r := rand.New(rand.NewPCG(4, 4))
			x := randT(r, d, 1, T, B, I).SetRequiresGrad(true)
			xr := tensor.FromFloat32(d, x.Float32s(), T, B, I).SetRequiresGrad(true)
			var refPs []*tensor.Tensor
			for _, p := range m.Params() {
				refPs = append(refPs, tensor.FromFloat32(d, p.T.Float32s(), p.T.Shape()...).SetRequiresGrad(true))
			}
			seed, stream, counter := rng.State()
			twin := tensor.NewRNG(0)
			twin.SetState(seed, stream, counter)
			var masks []*tensor.Tensor
			for range L - 1 {
				masks = append(masks, tensor.Scale(twin.Bernoulli(d, 1-p, T, B, H), 1/(1-p)))
			}
			zeros := 0
			for _, v := range masks[0].Float32s() {
				if v == 0 {
					zeros++
				}
			}
			require.Greater(t, zeros, 0, "the mask drops something")

			y, hn, cn := m.run(x, nil, nil)
			yr, hnr, cnr := unrolledMasked(kind, cfg, refPs, xr, nil, nil, masks)
			requireAllClose(t, yr.Float32s(), y.Float32s(), 2e-5, "y")
			requireAllClose(t, hnr.Float32s(), hn.Float32s(), 2e-5, "h_n")
			ws := []*tensor.Tensor{randT(r, d, 1, T, B, H), randT(r, d, 1, L, B, H), randT(r, d, 1, L, B, H)}
			weightedLoss(ws, y, hn, cn).Backward()
			weightedLoss(ws, yr, hnr, cnr).Backward()
			requireAllClose(t, xr.Grad().Float32s(), x.Grad().Float32s(), 2e-5, "dx")
			for i, p := range m.Params() {
				requireAllClose(t, refPs[i].Grad().Float32s(), p.T.Grad().Float32s(), 2e-5, "d"+p.Name)
			}

			// Eval mode: no masks.
			m.SetTraining(false)
			y, _, _ = m.run(x, nil, nil)
			y0, _, _ := unrolled(kind, cfg, refPs, xr, nil, nil)
			requireAllClose(t, y0.Float32s(), y.Float32s(), 2e-5, "eval y")
		})
	}
}
