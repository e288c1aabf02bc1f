package optim

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func param(name string, v []float32, shape ...int) *nn.Param {
	return &nn.Param{Name: name, T: tensor.FromFloat32(tensor.CPU(), v, shape...).SetRequiresGrad(true), Trainable: true}
}

// feed makes each parameter's gradient exactly gs[i] (through the loss
// Σ p·g, whose gradient is g·1).
func feed(ps []*nn.Param, gs ...[]float32) {
	var loss *tensor.Tensor
	for i, p := range ps {
		p.T.ZeroGrad()
		g := tensor.FromFloat32(p.T.Device(), gs[i], p.T.Shape()...)
		s := tensor.Sum(tensor.Mul(p.T, g), false)
		if loss == nil {
			loss = s
		} else {
			loss = tensor.Add(loss, s)
		}
	}
	loss.Backward()
	loss.ReleaseGraph()
}

// TestHandComputedSteps checks single updates worked out by hand.
func TestHandComputedSteps(t *testing.T) {
	newP := func() []*nn.Param { return []*nn.Param{param("w", []float32{1, -2}, 2)} }
	type tc struct {
		name  string
		make  func(ps []*nn.Param) (Optimizer, error)
		grads [][]float32
		want  []float64 // parameters after the steps
	}
	cases := []tc{
		// p − lr·g.
		{"sgd", func(ps []*nn.Param) (Optimizer, error) { return NewSGD(ps, SGDConfig{LR: 0.1}) },
			[][]float32{{0.5, -1}}, []float64{0.95, -1.9}},
		// buf1 = g1; buf2 = 0.9·g1 + g2; p = p − lr·(buf1 + buf2).
		{"sgd_momentum", func(ps []*nn.Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9})
		}, [][]float32{{1, 1}, {1, -1}}, []float64{1 - 0.1*(1+1.9), -2 - 0.1*(1-0.1)}},
		// Nesterov: d = g + μ·buf with buf = g on the first step: p − lr·1.9·g.
		{"sgd_nesterov", func(ps []*nn.Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true})
		}, [][]float32{{1, 2}}, []float64{1 - 0.19, -2 - 0.38}},
		// Weight decay: d = g + wd·p.
		{"sgd_wd", func(ps []*nn.Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.1, WeightDecay: 0.5})
		}, [][]float32{{0, 0}}, []float64{1 - 0.05, -2 + 0.1}},
		// Adam's first step moves each weight by lr·g/(|g|+eps) ≈ lr·sign(g).
		{"adam", func(ps []*nn.Param) (Optimizer, error) { return NewAdam(ps, DefaultAdam()) },
			[][]float32{{3, -0.25}}, []float64{1 - 1e-3*3/(3+1e-8), -2 + 1e-3*0.25/(0.25+1e-8)}},
		// AdamW decays first: p·(1 − lr·wd), then the Adam step.
		{"adamw", func(ps []*nn.Param) (Optimizer, error) {
			return NewAdamW(ps, AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5})
		}, [][]float32{{1, -1}}, []float64{1*0.95 - 0.1, -2*0.95 + 0.1}},
		// RMSProp first step: v = (1−α)g², p − lr·g/(√v + eps) = p − lr·sign(g)/√(1−α).
		{"rmsprop", func(ps []*nn.Param) (Optimizer, error) {
			return NewRMSProp(ps, RMSPropConfig{LR: 0.01, Alpha: 0.99})
		}, [][]float32{{2, -4}}, []float64{1 - 0.01/math.Sqrt(0.01), -2 + 0.01/math.Sqrt(0.01)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := newP()
			opt, err := c.make(ps)
			require.NoError(t, err)
			for _, g := range c.grads {
				feed(ps, g)
				opt.Step()
			}
			got := ps[0].T.Float32s()
			for i, w := range c.want {
				// float32 parameters: a few ulp of values ~1.
				assert.InDelta(t, w, float64(got[i]), 1e-6, "element %d", i)
			}
		})
	}
}

type goldenOptim struct {
	Weight []float32 `json:"weight"`
	Bias   []float32 `json:"bias"`
	Steps  int       `json:"steps"`
	Cases  map[string]struct {
		Grads  []map[string][]float32 `json:"grads"`
		Params []map[string][]float32 `json:"params"`
		State  map[string]any         `json:"state"`
	} `json:"cases"`
}

// TestGoldenPyTorch replays PyTorch's gradients through our optimizers and
// compares every step's parameters and the final state with PyTorch's
// (testdata/optim_golden.json, made by optim_golden.py). Both sides use
// the same float32 operation order, so differences are a few ulp; 2e-6
// relative allows for the rounding of PyTorch's own vectorised paths.
func TestGoldenPyTorch(t *testing.T) {
	raw, err := os.ReadFile("../testdata/optim_golden.json")
	require.NoError(t, err)
	var g goldenOptim
	require.NoError(t, json.Unmarshal(raw, &g))
	makers := map[string]func([]*nn.Param) (Optimizer, error){
		"sgd": func(ps []*nn.Param) (Optimizer, error) { return NewSGD(ps, SGDConfig{LR: 0.1}) },
		"sgd_momentum": func(ps []*nn.Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 0.01})
		},
		"sgd_nesterov": func(ps []*nn.Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.05, Momentum: 0.8, Nesterov: true})
		},
		"sgd_dampening": func(ps []*nn.Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.05, Momentum: 0.9, Dampening: 0.5})
		},
		"adam": func(ps []*nn.Param) (Optimizer, error) {
			return NewAdam(ps, AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
		},
		"adam_wd_amsgrad": func(ps []*nn.Param) (Optimizer, error) {
			return NewAdam(ps, AdamConfig{LR: 0.02, Beta1: 0.5, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1, AMSGrad: true})
		},
		"adamw": func(ps []*nn.Param) (Optimizer, error) {
			return NewAdamW(ps, AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1})
		},
		"rmsprop": func(ps []*nn.Param) (Optimizer, error) { return NewRMSProp(ps, DefaultRMSProp()) },
		"rmsprop_centered_momentum": func(ps []*nn.Param) (Optimizer, error) {
			return NewRMSProp(ps, RMSPropConfig{LR: 0.01, Alpha: 0.9, Eps: 1e-8, Momentum: 0.5, Centered: true, WeightDecay: 0.01})
		},
	}
	require.Len(t, g.Cases, len(makers))
	close := func(t *testing.T, want []float32, got []float32, what string) {
		t.Helper()
		require.Len(t, got, len(want), what)
		for i := range want {
			w := float64(want[i])
			require.InDeltaf(t, w, float64(got[i]), 2e-6*(1+math.Abs(w)), "%s element %d", what, i)
		}
	}
	for name, gc := range g.Cases {
		t.Run(name, func(t *testing.T) {
			mk := makers[name]
			require.NotNil(t, mk, "no optimizer for golden case %q", name)
			ps := []*nn.Param{param("weight", g.Weight, 2, 3), param("bias", g.Bias, 2)}
			opt, err := mk(ps)
			require.NoError(t, err)
			for step := range g.Steps {
				feed(ps, gc.Grads[step]["weight"], gc.Grads[step]["bias"])
				opt.Step()
				close(t, gc.Params[step]["weight"], ps[0].T.Float32s(), "weight")
				close(t, gc.Params[step]["bias"], ps[1].T.Float32s(), "bias")
			}
			st := opt.State()
			for k, v := range gc.State {
				got := st[StatePrefix+k]
				require.NotNil(t, got, "state %s", k)
				switch v := v.(type) {
				case float64: // the step
					require.Equal(t, []int32{int32(v)}, got.Int32s(), k)
				case []any:
					want := make([]float32, len(v))
					for i, x := range v {
						want[i] = float32(x.(float64))
					}
					close(t, want, got.Float32s(), k)
				}
			}
			// Our state has a step for every stepped parameter, which
			// PyTorch's SGD does not keep; every other entry matches.
			for k := range st {
				_, ok := gc.State[k[len(StatePrefix):]]
				require.True(t, ok || k[len(k)-5:] == ".step", "extra state %s", k)
			}
		})
	}
}

// TestStateRoundTrip checks that an optimizer rebuilt from State continues
// bit for bit like the original.
func TestStateRoundTrip(t *testing.T) {
	grads := [][]float32{{0.3, -1, 2, 0.1, 0, -0.7}, {1, 1, -1, 0.5, 0.2, 0}, {-0.3, 0.4, 0.9, -2, 1, 1}, {0.1, 0.1, 0.1, -0.1, 3, 0}}
	makers := map[string]func([]*nn.Param) (Optimizer, error){
		"sgd": func(ps []*nn.Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true})
		},
		"adam": func(ps []*nn.Param) (Optimizer, error) {
			return NewAdam(ps, AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, AMSGrad: true})
		},
		"rmsprop": func(ps []*nn.Param) (Optimizer, error) {
			return NewRMSProp(ps, RMSPropConfig{LR: 0.01, Alpha: 0.9, Eps: 1e-8, Momentum: 0.5, Centered: true})
		},
	}
	for name, mk := range makers {
		t.Run(name, func(t *testing.T) {
			start := []float32{1, 2, 3, 4, 5, 6}
			a := []*nn.Param{param("m.w", start, 2, 3)}
			oa, err := mk(a)
			require.NoError(t, err)
			for _, g := range grads[:2] {
				feed(a, g)
				oa.Step()
			}
			// Save: copy the state and the parameters, as a checkpoint would.
			saved := map[string]*tensor.Tensor{}
			for k, v := range oa.State() {
				if v.DType() == tensor.Int32 {
					saved[k] = tensor.FromInt32(tensor.CPU(), v.Int32s(), v.Shape()...)
				} else {
					saved[k] = tensor.FromFloat32(tensor.CPU(), v.Float32s(), v.Shape()...)
				}
			}
			b := []*nn.Param{param("m.w", a[0].T.Float32s(), 2, 3)}
			ob, err := mk(b)
			require.NoError(t, err)
			require.NoError(t, ob.LoadState(saved))
			for _, g := range grads[2:] {
				feed(a, g)
				oa.Step()
				feed(b, g)
				ob.Step()
			}
			require.Equal(t, a[0].T.Float32s(), b[0].T.Float32s())
		})
	}
}

func TestLoadStateErrors(t *testing.T) {
	ps := []*nn.Param{param("w", []float32{1, 2}, 2)}
	opt, err := NewAdam(ps, DefaultAdam())
	require.NoError(t, err)
	f := func(v ...float32) *tensor.Tensor { return tensor.FromFloat32(tensor.CPU(), v) }
	step := tensor.FromInt32(tensor.CPU(), []int32{3}, 1)
	good := func() map[string]*tensor.Tensor {
		return map[string]*tensor.Tensor{"optim.w.step": step, "optim.w.exp_avg": f(1, 2), "optim.w.exp_avg_sq": f(3, 4)}
	}
	require.NoError(t, opt.LoadState(good()))
	for name, c := range map[string]struct {
		edit func(m map[string]*tensor.Tensor)
		msg  string
	}{
		"unknown param":  {func(m map[string]*tensor.Tensor) { m["optim.v.step"] = step }, "unknown parameter \"v\""},
		"unknown buffer": {func(m map[string]*tensor.Tensor) { m["optim.w.momentum_buffer"] = f(1, 2) }, "keeps no buffer \"momentum_buffer\""},
		"wrong shape":    {func(m map[string]*tensor.Tensor) { m["optim.w.exp_avg"] = f(1, 2, 3) }, "want float32[2]"},
		"missing buffer": {func(m map[string]*tensor.Tensor) { delete(m, "optim.w.exp_avg_sq") }, "has no optim.w.exp_avg_sq"},
		"missing step":   {func(m map[string]*tensor.Tensor) { delete(m, "optim.w.step") }, "has no optim.w.step"},
		"float step":     {func(m map[string]*tensor.Tensor) { m["optim.w.step"] = f(3) }, "want int32[1]"},
		"zero step": {func(m map[string]*tensor.Tensor) {
			m["optim.w.step"] = tensor.FromInt32(tensor.CPU(), []int32{0}, 1)
		}, "want ≥ 1"},
		"no dot":       {func(m map[string]*tensor.Tensor) { m["optim.x"] = f(1) }, "want optim.<param>.<buffer>"},
		"model tensor": {func(m map[string]*tensor.Tensor) { m["lstm.weight_ih_l0"] = f(1) }, "unknown parameter \"lstm\""},
	} {
		t.Run(name, func(t *testing.T) {
			m := good()
			c.edit(m)
			err := opt.LoadState(m)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.msg)
		})
	}
	// A failed load changed nothing: the good state is still in place.
	st := opt.State()
	require.Equal(t, []float32{1, 2}, st["optim.w.exp_avg"].Float32s())
}

func TestConfigErrors(t *testing.T) {
	ps := []*nn.Param{param("w", []float32{1}, 1)}
	_, err := NewSGD(ps, SGDConfig{LR: 0.1, Nesterov: true})
	require.ErrorContains(t, err, "Nesterov")
	_, err = NewSGD(ps, SGDConfig{LR: -1})
	require.ErrorContains(t, err, "learning rate")
	_, err = NewAdam(ps, AdamConfig{LR: 1e-3, Beta1: 1, Beta2: 0.9})
	require.ErrorContains(t, err, "beta1")
	_, err = NewRMSProp(ps, RMSPropConfig{LR: 1e-3, Alpha: math.NaN()})
	require.ErrorContains(t, err, "alpha")
	_, err = NewSGD(append(ps, ps[0]), SGDConfig{LR: 0.1})
	require.ErrorContains(t, err, "listed twice")
}

func TestClipGradNorm(t *testing.T) {
	a, b := param("a", []float32{0, 0}, 2), param("b", []float32{0}, 1)
	none := param("c", []float32{0}, 1) // no gradient: ignored
	ps := []*nn.Param{a, b, none}
	feed(ps[:2], []float32{3, 0}, []float32{-4})
	// Below the limit: unchanged.
	require.InDelta(t, 5, ClipGradNorm(ps, 10), 1e-6)
	require.Equal(t, []float32{3, 0}, a.T.Grad().Float32s())
	// Above: scaled by 1/(5+1e-6).
	require.InDelta(t, 5, ClipGradNorm(ps, 1), 1e-6)
	s := 1 / (5 + 1e-6)
	require.InDeltaSlice(t, []float64{3 * s, 0}, f64(a.T.Grad().Float32s()), 1e-7)
	require.InDeltaSlice(t, []float64{-4 * s}, f64(b.T.Grad().Float32s()), 1e-7)
	// Non-finite: reported, gradients untouched.
	feed(ps[:2], []float32{float32(math.Inf(1)), 1}, []float32{1})
	require.True(t, math.IsInf(float64(ClipGradNorm(ps, 1)), 1))
	require.Equal(t, []float32{1}, b.T.Grad().Float32s())
	feed(ps[:2], []float32{float32(math.NaN()), 1}, []float32{1})
	require.True(t, math.IsNaN(float64(ClipGradNorm(ps, 1))))
	require.Equal(t, float32(0), ClipGradNorm([]*nn.Param{none}, 1))
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		name string
		s    Schedule
		want map[int]float64
	}{
		{"constant", Constant(), map[int]float64{0: 1, 1000: 1}},
		{"step", StepDecay(10, 0.5), map[int]float64{0: 1, 9: 1, 10: 0.5, 25: 0.25}},
		{"cosine", Cosine(100, 0.1), map[int]float64{0: 1, 50: 0.55, 100: 0.1, 200: 0.1}},
		{"linear", Linear(0.25, 1, 4), map[int]float64{0: 0.25, 2: 0.625, 4: 1, 9: 1}},
		{"warmup+cosine", WarmUp(4, Cosine(10, 0)), map[int]float64{0: 0.25, 3: 1, 4: 1, 9: 0.5, 14: 0}},
		{"product", Product(StepDecay(2, 0.1), Constant()), map[int]float64{1: 1, 2: 0.1}},
		{"then", Then(Constant(), 3, StepDecay(1, 0.5)), map[int]float64{2: 1, 3: 1, 4: 0.5}},
	}
	for _, c := range cases {
		for step, want := range c.want {
			assert.InDelta(t, want, c.s.Factor(step), 1e-12, "%s step %d", c.name, step)
		}
	}
	opt, err := NewSGD([]*nn.Param{param("w", []float32{1}, 1)}, SGDConfig{LR: 1})
	require.NoError(t, err)
	Apply(opt, 0.1, StepDecay(1, 0.5), 2)
	require.InDelta(t, 0.025, opt.LR(), 1e-15)
}

// TestLoadStateUnprefixed: names without the "optim." prefix (as
// nn.SplitPrefix returns them) load the same state.
func TestLoadStateUnprefixed(t *testing.T) {
	ps := []*nn.Param{param("w", []float32{1, 2}, 2)}
	opt, err := NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.5})
	require.NoError(t, err)
	require.NoError(t, opt.LoadState(map[string]*tensor.Tensor{
		"w.step":            tensor.FromInt32(tensor.CPU(), []int32{2}, 1),
		"w.momentum_buffer": tensor.FromFloat32(tensor.CPU(), []float32{1, -1}),
	}))
	feed(ps, []float32{0, 0})
	opt.Step() // buf = 0.5·buf + 0; p −= 0.1·buf
	require.InDeltaSlice(t, []float64{0.95, 2.05}, f64(ps[0].T.Float32s()), 1e-7)
}

func TestZeroGrad(t *testing.T) {
	ps := []*nn.Param{param("a", []float32{1, 2}, 2), param("b", []float32{3}, 1)}
	opt, err := NewAdam(ps, DefaultAdam())
	require.NoError(t, err)
	feed(ps, []float32{5, 6}, []float32{7})
	opt.ZeroGrad()
	require.Equal(t, []float32{0, 0}, ps[0].T.Grad().Float32s())
	require.Equal(t, []float32{0}, ps[1].T.Grad().Float32s())
}
