package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func reduceRef(l []float64, r Reduction, per int) []float64 {
	switch r {
	case Sum:
		s := 0.0
		for _, v := range l {
			s += v
		}
		return []float64{s}
	case Mean:
		s := 0.0
		for _, v := range l {
			s += v
		}
		return []float64{s / float64(per)}
	}
	return l
}

// TestLosses checks each loss and reduction against a float64 reference
// and the input gradient against finite differences. Tolerances 1e-5
// (forward) and 1e-4 (gradients), scaled by magnitude.
func TestLosses(t *testing.T) {
	const n, c = 4, 5
	r := rand.New(rand.NewPCG(9, 9))
	x32, x64 := randF(r, n*c, -3, 3)
	t32, t64 := randF(r, n*c, 0, 1)
	p32, p64 := randF(r, n*c, 0.05, 0.95)
	lv32, lv64 := randF(r, n*c, -2, 1)
	cls := []int32{4, 0, 2, 2}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	elementwise := func(f func(a, b float64) float64) func(v [][]float64) []float64 {
		return func(v [][]float64) []float64 {
			out := make([]float64, len(v[0]))
			for i := range out {
				out[i] = f(v[0][i], v[1][i])
			}
			return out
		}
	}
	logSoftmaxRef := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i := range n {
			row := v[i*c : i*c+c]
			m := math.Inf(-1)
			for _, a := range row {
				m = math.Max(m, a)
			}
			s := 0.0
			for _, a := range row {
				s += math.Exp(a - m)
			}
			for j, a := range row {
				out[i*c+j] = a - m - math.Log(s)
			}
		}
		return out
	}
	pick := func(lp []float64) []float64 {
		out := make([]float64, n)
		for i, k := range cls {
			out[i] = -lp[i*c+int(k)]
		}
		return out
	}
	type lossCase struct {
		name   string
		in     []float32
		in64   []float64
		second []float64 // target values (or logvar), gradient not checked
		sec32  []float32
		per    int // elements averaged by Mean
		ref    func(v [][]float64) []float64
		dev    func(x, y *tensor.Tensor, r Reduction) *tensor.Tensor
		shape  []int
	}
	ints := tensor.FromInt32(cpu, cls, n)
	cases := []lossCase{
		{"MSE", x32, x64, t64, t32, n * c, elementwise(func(a, b float64) float64 { return (a - b) * (a - b) }), MSELoss, []int{n, c}},
		{"L1", x32, x64, t64, t32, n * c, elementwise(func(a, b float64) float64 { return math.Abs(a - b) }), L1Loss, []int{n, c}},
		{"BCE", p32, p64, t64, t32, n * c, elementwise(func(p, t float64) float64 { return -(t*math.Log(p) + (1-t)*math.Log(1-p)) }), BCELoss, []int{n, c}},
		{"BCEWithLogits", x32, x64, t64, t32, n * c, elementwise(func(x, t float64) float64 { return -(t*math.Log(sig(x)) + (1-t)*math.Log(1-sig(x))) }), BCEWithLogitsLoss, []int{n, c}},
		{"CrossEntropy", x32, x64, nil, nil, n, func(v [][]float64) []float64 { return pick(logSoftmaxRef(v[0])) },
			func(x, _ *tensor.Tensor, r Reduction) *tensor.Tensor { return CrossEntropyLoss(x, ints, r) }, []int{n, c}},
		{"NLL", x32, x64, nil, nil, n, func(v [][]float64) []float64 { return pick(v[0]) },
			func(x, _ *tensor.Tensor, r Reduction) *tensor.Tensor { return NLLLoss(x, ints, r) }, []int{n, c}},
		{"GaussianKL", x32, x64, lv64, lv32, n, func(v [][]float64) []float64 {
			out := make([]float64, n)
			for i := range n * c {
				mu, lv := v[0][i], v[1][i]
				out[i/c] += -0.5 * (1 + lv - mu*mu - math.Exp(lv))
			}
			return out
		}, GaussianKL, []int{n, c}},
	}
	for _, tc := range cases {
		for _, red := range []Reduction{Mean, Sum, None} {
			t.Run(tc.name+"/"+[]string{"mean", "sum", "none"}[red], func(t *testing.T) {
				x := tensor.FromFloat32(cpu, tc.in, tc.shape...).SetRequiresGrad(true)
				var y2 *tensor.Tensor
				if tc.sec32 != nil {
					y2 = tensor.FromFloat32(cpu, tc.sec32, tc.shape...)
				}
				vals := [][]float64{append([]float64(nil), tc.in64...), tc.second}
				ref := func(v [][]float64) []float64 { return reduceRef(tc.ref(v), red, tc.per) }
				want := ref(vals)
				l := tc.dev(x, y2, red)
				assertClose(t, want, l.Float32s(), 1e-5, 1e-5, "loss")
				_, gy := randF(r, len(want), -1, 1)
				backwardWith(l, gy)
				assertClose(t, fdGrad(ref, vals, gy, 0), x.Grad().Float32s(), 1e-4, 1e-4, "dx")
			})
		}
	}
	assert.Panics(t, func() { MSELoss(tensor.Zeros(cpu, 2), tensor.Zeros(cpu, 3), Mean) })
	assert.Panics(t, func() { CrossEntropyLoss(tensor.Zeros(cpu, 2, 3), tensor.FromInt32(cpu, []int32{0, 3}), Mean) })
	assert.Panics(t, func() { CrossEntropyLoss(tensor.Zeros(cpu, 2, 3), tensor.Zeros(cpu, 2), Mean) })
}

// TestLossStability: extreme logits give finite losses and gradients, and
// BCE clamps its logs at −100 like PyTorch.
func TestLossStability(t *testing.T) {
	x := tensor.FromFloat32(cpu, []float32{-200, 200, 1e4, -1e4}, 4).SetRequiresGrad(true)
	tg := tensor.FromFloat32(cpu, []float32{1, 0, 1, 0}, 4)
	l := BCEWithLogitsLoss(x, tg, None)
	assertClose(t, []float64{200, 200, 0, 0}, l.Float32s(), 1e-4, 1e-6, "bce-logits")
	l.BackwardWith(tensor.Ones(cpu, 4))
	assertClose(t, []float64{-1, 1, 0, 0}, x.Grad().Float32s(), 1e-6, 0, "bce-logits grad")

	ce := CrossEntropyLoss(tensor.FromFloat32(cpu, []float32{1000, -1000, 0}, 1, 3), tensor.FromInt32(cpu, []int32{1}), Sum)
	assert.InDelta(t, 2000, ce.Item(), 1e-2)

	b := BCELoss(tensor.FromFloat32(cpu, []float32{1, 0, 0}, 3), tensor.FromFloat32(cpu, []float32{0, 1, 0}, 3), None)
	require.Equal(t, []float32{100, 100, 0}, b.Float32s())
}

// TestPenalties: L1 and L2 penalties sum over every trainable parameter and
// their gradients are sign(w) and 2w.
func TestPenalties(t *testing.T) {
	m := NewSequential(NewLinear(cpu, tensor.NewRNG(1), 3, 2), NewBatchNorm1d(cpu, 2))
	var l1, l2 float64
	for _, p := range Trainable(m) {
		for _, v := range p.T.Float32s() {
			l1 += math.Abs(float64(v))
			l2 += float64(v) * float64(v)
		}
	}
	assert.InDelta(t, l1, L1Penalty(m).Item(), 1e-5)
	p2 := L2Penalty(m)
	assert.InDelta(t, l2, p2.Item(), 1e-5)
	p2.Backward()
	w := m.Layers[0].(*Linear).Weight.T
	want := w.Float32s()
	for i := range want {
		want[i] *= 2
	}
	assert.Equal(t, want, w.Grad().Float32s())
	assert.Panics(t, func() { L2Penalty(&ReLU{}) })
}

// TestBCEGradientAtBounds: PyTorch's gradient (p − t)/max(p(1−p), 1e-12)
// stays finite where p is exactly 0 or 1.
func TestBCEGradientAtBounds(t *testing.T) {
	p := tensor.FromFloat32(cpu, []float32{0, 1, 0.5, 0}, 4).SetRequiresGrad(true)
	tg := tensor.FromFloat32(cpu, []float32{1, 0, 0.25, 0}, 4)
	BCELoss(p, tg, Sum).Backward()
	eps := float64(float32(1e-12))
	assertClose(t, []float64{-1 / eps, 1 / eps, 1, 0}, p.Grad().Float32s(), 0, 1e-6, "dp")
}

// TestTrainingSteadyStateMLP: a classifier step with Dropout,
// cross-entropy, BCE and an L2 penalty returns every buffer to the
// allocator once the graph is released.
func TestTrainingSteadyStateMLP(t *testing.T) {
	rng := tensor.NewRNG(2)
	m := NewSequential(NewLinear(cpu, rng, 5, 8), &ReLU{}, NewDropout(0.3, rng), NewLinear(cpu, rng, 8, 3))
	x := rng.Normal(cpu, 0, 1, 6, 5)
	y := tensor.FromInt32(cpu, []int32{0, 2, 1, 1, 0, 2})
	tg := rng.Uniform(cpu, 0, 1, 6, 3)
	alloc := cpu.Allocator()
	var inUse int64
	for i := range 5 {
		fresh := alloc.Stats().Fresh
		out := m.Forward(x)
		l := tensor.Add(tensor.Add(CrossEntropyLoss(out, y, Mean), BCELoss(tensor.Sigmoid(out), tg, Mean)), tensor.Scale(L2Penalty(m), 1e-3))
		l.Backward()
		ZeroGrad(m)
		l.ReleaseGraph()
		st := alloc.Stats()
		if i >= 2 {
			assert.Equal(t, fresh, st.Fresh, "step %d took fresh buffers", i)
			assert.Equal(t, inUse, st.InUse, "step %d changed the bytes in use", i)
		}
		inUse = st.InUse
	}
}
