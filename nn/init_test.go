package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shared test helpers: float64 references and finite differences.

var cpu = tensor.CPU()

// randF returns n float32-representable values uniform in [lo, hi) as both
// float32 and float64.
func randF(r *rand.Rand, n int, lo, hi float64) ([]float32, []float64) {
	a, b := make([]float32, n), make([]float64, n)
	for i := range a {
		a[i] = float32(lo + (hi-lo)*r.Float64())
		b[i] = float64(a[i])
	}
	return a, b
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// fdGrad is the central finite-difference gradient of L = Σ f(vals)·gy with
// respect to vals[which], in float64 (h = 1e-6 gives ~1e-9 truncation and
// ~1e-10 rounding error for the smooth O(1) functions used here).
func fdGrad(f func(vals [][]float64) []float64, vals [][]float64, gy []float64, which int) []float64 {
	const h = 1e-6
	loss := func() float64 {
		y := f(vals)
		s := 0.0
		for i := range y {
			s += y[i] * gy[i]
		}
		return s
	}
	v := vals[which]
	g := make([]float64, len(v))
	for i := range v {
		old := v[i]
		v[i] = old + h
		lp := loss()
		v[i] = old - h
		lm := loss()
		v[i] = old
		g[i] = (lp - lm) / (2 * h)
	}
	return g
}

// assertClose checks got against want elementwise with |got−want| ≤
// atol + rtol·|want|.
func assertClose(t *testing.T, want []float64, got []float32, atol, rtol float64, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= atol+rtol*math.Abs(want[i])) {
			require.Failf(t, "mismatch", "%s[%d]: got %v, want %v (diff %.3g)", what, i, got[i], want[i], d)
		}
	}
}

// backwardWith runs y.BackwardWith(gy) for a float64 upstream gradient.
func backwardWith(y *tensor.Tensor, gy []float64) {
	g := make([]float32, len(gy))
	for i, v := range gy {
		g[i] = float32(v)
	}
	y.BackwardWith(tensor.FromFloat32(y.Device(), g, y.Shape()...))
}

func TestKaimingBound(t *testing.T) {
	// a = √5 gives PyTorch's 1/√fan_in; a = 0 gives √(6/fan_in).
	assert.InDelta(t, 1/math.Sqrt(10), KaimingUniformBound(math.Sqrt(5), 10), 1e-7)
	assert.InDelta(t, math.Sqrt(6.0/7), KaimingUniformBound(0, 7), 1e-7)
	assert.Panics(t, func() { KaimingUniformBound(0, 0) })
}

// TestDefaultInit checks the PyTorch default distributions: the bounds
// exactly, and the sample standard deviation of a uniform U(−b, b)
// (b/√3) within 3% (n = 12000 samples: the standard error of a sample
// std is about 0.6%).
func TestDefaultInit(t *testing.T) {
	rng := tensor.NewRNG(7)
	cases := []struct {
		name  string
		w     *tensor.Tensor
		bound float64
	}{
		{"Linear", NewLinear(cpu, rng, 300, 40).Weight.T, 1 / math.Sqrt(300)},
		{"Conv2d", NewConv2d(cpu, rng, ConvConfig{In: 6, Out: 50, Kernel: Size2{5, 8}}).Weight.T, 1 / math.Sqrt(6*5*8)},
		// ConvTranspose2d's fan_in is out·kh·kw (weight dimension 1).
		{"ConvTranspose2d", NewConvTranspose2d(cpu, rng, ConvConfig{In: 50, Out: 15, Kernel: Sq(4)}).Weight.T, 1 / math.Sqrt(15*16)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.w.Float32s()
			require.GreaterOrEqual(t, len(v), 12000)
			var s2 float64
			for _, x := range v {
				require.LessOrEqual(t, math.Abs(float64(x)), c.bound)
				s2 += float64(x) * float64(x)
			}
			std := math.Sqrt(s2 / float64(len(v)))
			assert.InEpsilon(t, c.bound/math.Sqrt(3), std, 0.03)
		})
	}
	e := NewEmbedding(cpu, rng, 1000, 20).Weight.T.Float32s()
	var s, s2 float64
	for _, x := range e {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	n := float64(len(e))
	assert.InDelta(t, 0, s/n, 0.03) // standard error 1/√20000 ≈ 0.007
	assert.InEpsilon(t, 1, math.Sqrt(s2/n-(s/n)*(s/n)), 0.03)
}

func TestInitDeterministic(t *testing.T) {
	a := NewLinear(cpu, tensor.NewRNG(3), 4, 5).Weight.T.Float32s()
	b := NewLinear(cpu, tensor.NewRNG(3), 4, 5).Weight.T.Float32s()
	c := NewLinear(cpu, tensor.NewRNG(4), 4, 5).Weight.T.Float32s()
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
}
