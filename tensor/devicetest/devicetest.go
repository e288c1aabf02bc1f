// Package devicetest is the conformance suite every tensor.Device runs: each
// kernel and op forward against an independent float64 reference, each
// gradient against central finite differences of that reference (in
// float64), at odd sizes, broadcasting corners, size-1 and empty
// dimensions, and non-contiguous inputs; and the random streams bit for bit.
//
// A device's test calls Run(t, dev). The completeness rule — every declared
// kernel is implemented by the device and exercised by some case — is
// checked by CheckComplete, which Run calls first.
package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/require"
)

// Case is one conformance case.
type Case struct {
	Name    string
	Kernels []string // the kernels it exercises
	Run     func(t *testing.T, d tensor.Device)
}

// Run runs every case on d.
func Run(t *testing.T, d tensor.Device) {
	t.Run("complete", func(t *testing.T) { CheckComplete(t, d) })
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, d) })
	}
}

// CheckComplete fails unless d implements every declared kernel and every
// kernel is exercised by a case.
func CheckComplete(t *testing.T, d tensor.Device) {
	covered := map[string]bool{}
	for _, c := range Cases() {
		for _, k := range c.Kernels {
			covered[k] = true
		}
	}
	for _, k := range tensor.KernelNames() {
		require.Truef(t, d.Kernels().Has(k), "device %s does not implement kernel %q", d.Name(), k)
		require.Truef(t, covered[k], "kernel %q has no conformance case in devicetest", k)
	}
}

var extraCases []Case

// Register adds cases for kernels declared outside package tensor (fused
// cells, optimizer updates); packages that declare kernels call it from an
// init function so that the completeness rule covers them.
func Register(cs ...Case) { extraCases = append(extraCases, cs...) }

// Cases lists the suite.
func Cases() []Case {
	var cs []Case
	for _, oc := range opCases() {
		cs = append(cs, Case{Name: "op/" + oc.name, Kernels: oc.kernels, Run: oc.run})
	}
	cs = append(cs, kernelCases()...)
	return append(cs, extraCases...)
}

// input describes one operand of an op case.
type input struct {
	shape   []int
	lo, hi  float64
	avoid   []float64 // keep values at least 0.05 away (kinks)
	strided bool      // pass as a transposed (non-contiguous) view
	noGrad  bool
}

type opCase struct {
	name    string
	kernels []string
	inputs  []input
	dev     func(x []*tensor.Tensor) *tensor.Tensor
	ref     func(x []*arr) *arr
	// tol is the forward tolerance relative to 1+|want|; 0 means 2e-6
	// (about 17 float32 ulp near 1, for exact and correctly rounded ops).
	// Transcendental ops use 4e-6 (~34 ulp): MSL's precise math bounds exp,
	// log, pow and tanh to a few ulp (Metal Shading Language specification,
	// "Accuracy of Floating-Point Operations") and ingot's vectorised CPU
	// kernels to 2 ulp, so the bound holds on any conforming device, not
	// only against the emulator's host libm. Reductions and GEMMs use 1e-5:
	// float32 sums of up to ~130 terms in a device-chosen order.
	tol    float64
	noGrad bool
}

// values makes deterministic inputs for a case.
func (in input) values(r *rand.Rand) *arr {
	a := newArr(in.shape...)
	lo, hi := in.lo, in.hi
	if lo == hi {
		lo, hi = -2, 2
	}
	for i := range a.data {
	again:
		v := float64(float32(lo + (hi-lo)*r.Float64()))
		for _, k := range in.avoid {
			if math.Abs(v-k) < 0.05 {
				goto again
			}
		}
		a.data[i] = v
	}
	return a
}

// upload copies a to d (rank 0 included).
func upload(d tensor.Device, a *arr) *tensor.Tensor {
	if len(a.shape) == 0 {
		return tensor.Scalar(d, float32(a.data[0]))
	}
	return tensor.FromFloat32(d, toF32(a), a.shape...)
}

func toF32(a *arr) []float32 {
	v := make([]float32, len(a.data))
	for i, x := range a.data {
		v[i] = float32(x)
	}
	return v
}

// leaf uploads a as a leaf tensor, possibly stored transposed; it returns
// the leaf (which receives gradients) and the operand view of a's shape.
func leaf(d tensor.Device, a *arr, in input, grad bool) (base, x *tensor.Tensor) {
	r := len(a.shape)
	if in.strided && r >= 2 {
		perm := make([]int, r)
		for i := range perm {
			perm[i] = i
		}
		perm[r-1], perm[r-2] = r-2, r-1
		at := refPermute(a, perm)
		base = tensor.FromFloat32(d, toF32(at), at.shape...).SetRequiresGrad(grad)
		return base, base.T()
	}
	base = tensor.FromFloat32(d, toF32(a), a.shape...).SetRequiresGrad(grad)
	return base, base
}

func (oc opCase) run(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(1, uint64(len(oc.name))))
	xs := make([]*arr, len(oc.inputs))
	bases := make([]*tensor.Tensor, len(oc.inputs))
	ts := make([]*tensor.Tensor, len(oc.inputs))
	for i, in := range oc.inputs {
		xs[i] = in.values(r)
		bases[i], ts[i] = leaf(d, xs[i], in, !oc.noGrad && !in.noGrad)
	}
	y := oc.dev(ts)
	want := oc.ref(xs)
	require.Truef(t, slices.Equal(want.shape, y.Shape()), "shape %v, want %v", y.Shape(), want.shape)
	got := y.Float32s()
	tol := oc.tol
	if tol == 0 {
		tol = 2e-6
	}
	for i := range got {
		w := want.data[i]
		require.InDeltaf(t, w, float64(got[i]), tol*(1+math.Abs(w)), "element %d of %v", i, want.shape)
	}
	if oc.noGrad {
		return
	}
	// Gradients of L = Σ w·y against central differences of the float64
	// reference.
	wv := newArr(want.shape...)
	for i := range wv.data {
		wv.data[i] = float64(float32(r.Float64()*2 - 1))
	}
	y.BackwardWith(upload(d, wv))
	loss := func() float64 {
		out := oc.ref(xs)
		var s float64
		for i, v := range out.data {
			s += v * wv.data[i]
		}
		return s
	}
	for i, in := range oc.inputs {
		if in.noGrad {
			continue
		}
		g := bases[i].Grad()
		require.NotNilf(t, g, "input %d has no gradient", i)
		if bases[i] != ts[i] {
			g = g.T()
		}
		gv := g.Float32s()
		for j := range xs[i].data {
			old := xs[i].data[j]
			h := 1e-6 * math.Max(1, math.Abs(old))
			xs[i].data[j] = old + h
			fp := loss()
			xs[i].data[j] = old - h
			fm := loss()
			xs[i].data[j] = old
			num := (fp - fm) / (2 * h)
			// float32 forward and backward: a relative error of 1e-3 on
			// gradients of magnitude ~1 leaves room for accumulated rounding
			// over sums of up to a few hundred terms.
			require.InDeltaf(t, num, float64(gv[j]), 1e-3*(1+math.Abs(num)), "d/d input %d element %d", i, j)
		}
	}
	y.ReleaseGraph()
}

func un(name string, kernels []string, lo, hi float64, avoid []float64, dev func(*tensor.Tensor) *tensor.Tensor, f func(float64) float64) []opCase {
	var cs []opCase
	for _, shape := range [][]int{{1}, {7}, {129}, {3, 5}, {2, 0, 3}} {
		for _, strided := range []bool{false, true} {
			if strided && len(shape) < 2 {
				continue
			}
			cs = append(cs, opCase{
				name: fmt.Sprintf("%s/%v/strided=%v", name, shape, strided), kernels: kernels,
				inputs: []input{{shape: shape, lo: lo, hi: hi, avoid: avoid, strided: strided}},
				dev:    func(x []*tensor.Tensor) *tensor.Tensor { return dev(x[0]) },
				ref:    func(x []*arr) *arr { return refMap(x[0], f) },
				tol:    4e-6,
			})
		}
	}
	return cs
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

var (
	kUnary  = []string{"unary", "binary", "fill", "copy"}
	kBinary = []string{"binary", "reduce", "unary", "copy"}
)

func opCases() []opCase {
	var cs []opCase
	add := func(c ...opCase) { cs = append(cs, c...) }
	add(un("Neg", kUnary, -2, 2, nil, tensor.Neg, func(x float64) float64 { return -x })...)
	add(un("Exp", kUnary, -3, 3, nil, tensor.Exp, math.Exp)...)
	add(un("Log", kUnary, 0.2, 3, nil, tensor.Log, math.Log)...)
	add(un("Log1p", kUnary, -0.5, 3, nil, tensor.Log1p, math.Log1p)...)
	add(un("Sqrt", kUnary, 0.2, 3, nil, tensor.Sqrt, math.Sqrt)...)
	add(un("Abs", kUnary, -2, 2, []float64{0}, tensor.Abs, math.Abs)...)
	add(un("Tanh", kUnary, -3, 3, nil, tensor.Tanh, math.Tanh)...)
	add(un("Sigmoid", kUnary, -6, 6, nil, tensor.Sigmoid, sigmoid)...)
	add(un("Relu", kUnary, -2, 2, []float64{0}, tensor.Relu, func(x float64) float64 { return math.Max(x, 0) })...)
	add(un("LeakyRelu", kUnary, -2, 2, []float64{0}, func(x *tensor.Tensor) *tensor.Tensor { return tensor.LeakyRelu(x, 0.2) },
		func(x float64) float64 {
			if x > 0 {
				return x
			}
			return float64(float32(0.2)) * x
		})...)
	add(un("Softplus", kUnary, -8, 8, nil, tensor.Softplus, func(x float64) float64 { return math.Log1p(math.Exp(x)) })...)
	add(un("PowScalar", kUnary, 0.2, 2, nil, func(x *tensor.Tensor) *tensor.Tensor { return tensor.PowScalar(x, 2.5) },
		func(x float64) float64 { return math.Pow(x, 2.5) })...)
	add(un("Clamp", kUnary, -1, 1, []float64{-0.5, 0.5}, func(x *tensor.Tensor) *tensor.Tensor { return tensor.Clamp(x, -0.5, 0.5) },
		func(x float64) float64 { return math.Min(math.Max(x, -0.5), 0.5) })...)
	add(un("Affine", kUnary, -2, 2, nil, func(x *tensor.Tensor) *tensor.Tensor { return tensor.Affine(x, 1.5, -0.25) },
		func(x float64) float64 { return 1.5*x - 0.25 })...)
	add(opCase{name: "Sign", kernels: kUnary, noGrad: true, inputs: []input{{shape: []int{67}, avoid: []float64{0}}},
		dev: func(x []*tensor.Tensor) *tensor.Tensor { return tensor.Sign(x[0]) },
		ref: func(x []*arr) *arr {
			return refMap(x[0], func(v float64) float64 { return math.Copysign(1, v) })
		}})

	type bin struct {
		name   string
		dev    func(a, b *tensor.Tensor) *tensor.Tensor
		f      func(a, b float64) float64
		lo, hi float64
		noGrad bool
	}
	bins := []bin{
		{"Add", tensor.Add, func(a, b float64) float64 { return a + b }, -2, 2, false},
		{"Sub", tensor.Sub, func(a, b float64) float64 { return a - b }, -2, 2, false},
		{"Mul", tensor.Mul, func(a, b float64) float64 { return a * b }, -2, 2, false},
		{"Div", tensor.Div, func(a, b float64) float64 { return a / b }, 0.5, 2, false},
		{"Pow", tensor.Pow, math.Pow, 0.5, 2, false},
		{"Maximum", tensor.Maximum, math.Max, -2, 2, false},
		{"Minimum", tensor.Minimum, math.Min, -2, 2, false},
		{"Greater", tensor.Greater, func(a, b float64) float64 { return b2f(a > b) }, -2, 2, true},
		{"Equal", tensor.Equal, func(a, b float64) float64 { return b2f(a == b) }, -2, 2, true},
	}
	pairs := [][2][]int{{{7}, {7}}, {{3, 4}, {4}}, {{2, 3, 17}, {3, 1}}, {{3, 1}, {2, 3, 17}}, {{3, 20}, {20}}, {{3, 1}, {1, 5}}, {{2, 3, 4}, {3, 1}}, {{1}, {67}}, {{129}, {1}}, {{0, 3}, {3}}, {{4, 3}, {4, 3}}}
	for _, b := range bins {
		for _, p := range pairs {
			for _, strided := range []bool{false, true} {
				if strided && len(p[0]) < 2 {
					continue
				}
				add(opCase{
					name: fmt.Sprintf("%s/%v%v/strided=%v", b.name, p[0], p[1], strided), kernels: kBinary, noGrad: b.noGrad,
					inputs: []input{{shape: p[0], lo: b.lo, hi: b.hi, strided: strided}, {shape: p[1], lo: b.lo, hi: b.hi}},
					dev:    func(x []*tensor.Tensor) *tensor.Tensor { return b.dev(x[0], x[1]) },
					ref:    func(x []*arr) *arr { return refBinary(x[0], x[1], b.f) },
					tol:    4e-6,
				})
			}
		}
	}
	add(opCase{name: "AddScaled", kernels: kBinary, noGrad: true,
		inputs: []input{{shape: []int{3, 4}}, {shape: []int{4}}},
		dev: func(x []*tensor.Tensor) *tensor.Tensor {
			y := x[0].Detach().Contiguous()
			y = tensor.FromFloat32(y.Device(), y.Float32s(), y.Shape()...)
			y.AddScaled(-0.75, x[1])
			return y
		},
		ref: func(x []*arr) *arr { return refBinary(x[0], x[1], func(a, b float64) float64 { return a - 0.75*b }) }})
	add(opCase{name: "Equal/ties", kernels: kBinary, noGrad: true,
		inputs: []input{{shape: []int{5}, lo: 1, hi: 1.0000001}},
		dev:    func(x []*tensor.Tensor) *tensor.Tensor { return tensor.Equal(x[0], x[0]) },
		ref:    func(x []*arr) *arr { return refBinary(x[0], x[0], func(a, b float64) float64 { return b2f(a == b) }) }})
	add(opCase{name: "Where", kernels: []string{"where"},
		inputs: []input{{shape: []int{3, 1}, noGrad: true}, {shape: []int{3, 4}}, {shape: []int{4}}},
		dev: func(x []*tensor.Tensor) *tensor.Tensor {
			c := tensor.Greater(x[0], tensor.Zeros(x[0].Device()))
			return tensor.Where(c, x[1], x[2])
		},
		ref: func(x []*arr) *arr {
			return refZip(x, func(v []float64) float64 {
				if v[0] > 0 {
					return v[1]
				}
				return v[2]
			})
		}})

	for _, mm := range []struct {
		a, b   []int
		sa, sb bool
	}{
		{[]int{3, 4}, []int{4, 5}, false, false}, {[]int{3, 4}, []int{4, 5}, true, false},
		{[]int{3, 4}, []int{4, 5}, false, true}, {[]int{3, 4}, []int{4, 5}, true, true},
		{[]int{1, 7}, []int{7, 1}, false, false}, {[]int{67, 5}, []int{5, 3}, false, false},
		{[]int{2, 3, 4}, []int{4, 5}, false, false}, {[]int{2, 3, 4}, []int{2, 4, 2}, false, true},
		{[]int{2, 1, 3, 4}, []int{3, 4, 2}, false, false}, {[]int{0, 3}, []int{3, 2}, false, false},
		{[]int{3, 0}, []int{0, 2}, false, false},
	} {
		add(opCase{name: fmt.Sprintf("MatMul/%v%v/strided=%v,%v", mm.a, mm.b, mm.sa, mm.sb), kernels: []string{"gemm", "reduce", "copy"},
			inputs: []input{{shape: mm.a, strided: mm.sa}, {shape: mm.b, strided: mm.sb}},
			dev:    func(x []*tensor.Tensor) *tensor.Tensor { return tensor.MatMul(x[0], x[1]) },
			ref:    func(x []*arr) *arr { return refMatMul(x[0], x[1]) }, tol: 1e-5})
	}

	type red struct {
		name string
		dev  func(*tensor.Tensor, bool, ...int) *tensor.Tensor
		init float64
		f    func(acc, v float64) float64
		post func(a *arr, n int) *arr
	}
	reds := []red{
		{"Sum", tensor.Sum, 0, func(a, v float64) float64 { return a + v }, nil},
		{"Mean", tensor.Mean, 0, func(a, v float64) float64 { return a + v }, func(a *arr, n int) *arr {
			return refMap(a, func(v float64) float64 { return v / float64(n) })
		}},
		{"Max", tensor.Max, math.Inf(-1), math.Max, nil},
		{"Min", tensor.Min, math.Inf(1), math.Min, nil},
	}
	for _, rd := range reds {
		for _, rc := range []struct {
			shape []int
			axes  []int
		}{{[]int{3, 4, 5}, []int{1}}, {[]int{3, 4, 5}, []int{0, 2}}, {[]int{3, 4, 5}, nil}, {[]int{129}, nil}, {[]int{7, 1}, []int{1}}, {[]int{2, 67}, []int{-1}},
			{[]int{2, 3, 150}, []int{1}}, {[]int{3, 130}, []int{0}}} { // inner runs longer than a 64-wide block
			for _, keep := range []bool{false, true} {
				add(opCase{name: fmt.Sprintf("%s/%v/axes=%v/keep=%v", rd.name, rc.shape, rc.axes, keep), kernels: []string{"reduce", "binary", "copy"},
					inputs: []input{{shape: rc.shape}},
					dev:    func(x []*tensor.Tensor) *tensor.Tensor { return rd.dev(x[0], keep, rc.axes...) },
					ref: func(x []*arr) *arr {
						axes := normAxes(rc.axes, len(rc.shape))
						o := refReduce(x[0], axes, keep, rd.init, rd.f)
						if rd.post != nil {
							n := 1
							for _, a := range axes {
								n *= rc.shape[a]
							}
							o = rd.post(o, n)
						}
						return o
					}, tol: 1e-5})
			}
		}
	}
	add(opCase{name: "Sum/empty-axis", kernels: []string{"reduce"}, noGrad: true, inputs: []input{{shape: []int{3, 0}}},
		dev: func(x []*tensor.Tensor) *tensor.Tensor { return tensor.Sum(x[0], false, 1) },
		ref: func(x []*arr) *arr { return newArr(3) }})

	for _, sm := range []struct {
		shape []int
		axis  int
	}{{[]int{3, 5}, -1}, {[]int{3, 5}, 0}, {[]int{2, 3, 4}, 1}, {[]int{1, 129}, 1}, {[]int{4, 1}, 1}} {
		for _, log := range []bool{false, true} {
			name, dev := "Softmax", tensor.Softmax
			if log {
				name, dev = "LogSoftmax", tensor.LogSoftmax
			}
			add(opCase{name: fmt.Sprintf("%s/%v/axis=%d", name, sm.shape, sm.axis), kernels: []string{"softmax", "reduce", "binary", "unary"},
				inputs: []input{{shape: sm.shape, lo: -5, hi: 5}},
				dev:    func(x []*tensor.Tensor) *tensor.Tensor { return dev(x[0], sm.axis) },
				ref: func(x []*arr) *arr {
					a := sm.axis
					if a < 0 {
						a += len(sm.shape)
					}
					return refSoftmax(x[0], a, log)
				}, tol: 1e-5})
		}
	}
	idx := []int32{3, 0, 6, 3, 1, 3, 2, 6}
	add(opCase{name: "Gather", kernels: []string{"gather", "scatter_add", "fill"},
		inputs: []input{{shape: []int{7, 3}}},
		dev: func(x []*tensor.Tensor) *tensor.Tensor {
			return tensor.Gather(x[0], tensor.FromInt32(x[0].Device(), idx, 2, 4))
		},
		ref: func(x []*arr) *arr {
			o := newArr(2, 4, 3)
			for i, r := range idx {
				copy(o.data[i*3:i*3+3], x[0].data[int(r)*3:int(r)*3+3])
			}
			return o
		}})
	add(shapeCases()...)
	return cs
}

func normAxes(axes []int, rank int) []int {
	if len(axes) == 0 {
		for i := range rank {
			axes = append(axes, i)
		}
		return axes
	}
	out := slices.Clone(axes)
	for i, a := range out {
		if a < 0 {
			out[i] = a + rank
		}
	}
	slices.Sort(out)
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func shapeCases() []opCase {
	k := []string{"copy", "binary", "reduce", "fill"}
	return []opCase{
		{name: "Reshape", kernels: k, inputs: []input{{shape: []int{3, 4}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return x[0].Reshape(2, -1, 3) },
			ref: func(x []*arr) *arr { o := x[0].clone(); o.shape = []int{2, 2, 3}; return o }},
		{name: "Reshape/strided", kernels: k, inputs: []input{{shape: []int{3, 4}, strided: true}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return x[0].Reshape(12) },
			ref: func(x []*arr) *arr { o := x[0].clone(); o.shape = []int{12}; return o }},
		{name: "Permute", kernels: k, inputs: []input{{shape: []int{2, 3, 4}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return x[0].Permute(2, 0, 1).Contiguous() },
			ref: func(x []*arr) *arr { return refPermute(x[0], []int{2, 0, 1}) }},
		{name: "Transpose", kernels: k, inputs: []input{{shape: []int{3, 5}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return x[0].T() },
			ref: func(x []*arr) *arr { return refPermute(x[0], []int{1, 0}) }},
		{name: "Slice", kernels: k, inputs: []input{{shape: []int{4, 7}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return x[0].Slice(1, 2, 6) },
			ref: func(x []*arr) *arr { return refSlice(x[0], 1, 2, 6) }},
		{name: "Slice/strided", kernels: k, inputs: []input{{shape: []int{4, 7}, strided: true}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return x[0].Slice(0, 1, 3) },
			ref: func(x []*arr) *arr { return refSlice(x[0], 0, 1, 3) }},
		{name: "Concat", kernels: k, inputs: []input{{shape: []int{2, 3}}, {shape: []int{2, 1}}, {shape: []int{2, 4}, strided: true}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return tensor.Concat(1, x...) },
			ref: func(x []*arr) *arr { return refConcat(1, x...) }},
		{name: "Concat/axis0", kernels: k, inputs: []input{{shape: []int{2, 3}}, {shape: []int{1, 3}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return tensor.Concat(0, x...) },
			ref: func(x []*arr) *arr { return refConcat(0, x...) }},
		{name: "Stack", kernels: k, inputs: []input{{shape: []int{2, 3}}, {shape: []int{2, 3}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return tensor.Stack(1, x...) },
			ref: func(x []*arr) *arr {
				a, b := x[0].clone(), x[1].clone()
				a.shape, b.shape = []int{2, 1, 3}, []int{2, 1, 3}
				return refConcat(1, a, b)
			}},
		{name: "Split", kernels: k, inputs: []input{{shape: []int{5, 3}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor {
				p := x[0].Split(0, 2, 3)
				return tensor.Mul(p[1].Slice(0, 0, 2), p[0])
			},
			ref: func(x []*arr) *arr {
				return refBinary(refSlice(x[0], 0, 2, 4), refSlice(x[0], 0, 0, 2), func(a, b float64) float64 { return a * b })
			}},
		{name: "BroadcastTo", kernels: k, inputs: []input{{shape: []int{3, 1}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return x[0].BroadcastTo(2, 3, 4).Contiguous() },
			ref: func(x []*arr) *arr {
				return refBinary(x[0], newArr(2, 3, 4), func(a, _ float64) float64 { return a })
			}},
		{name: "Unsqueeze/Squeeze", kernels: k, inputs: []input{{shape: []int{3, 4}}},
			dev: func(x []*tensor.Tensor) *tensor.Tensor { return x[0].Unsqueeze(1).Squeeze(1).Unsqueeze(-1) },
			ref: func(x []*arr) *arr { o := x[0].clone(); o.shape = []int{3, 4, 1}; return o }},
	}
}
