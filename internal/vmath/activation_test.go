package vmath

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The scalar definitions the activation kernels must reproduce bit for
// bit: the CPU device's loops and the Metal shaders. Every product is
// converted to float32 before it is used, so the compiler cannot fuse it
// into the next subtraction (it does on arm64), which would round once
// instead of twice.

func reluRef(x float32) float32 {
	if !(x > 0) && x == x {
		return 0
	}
	return x
}

func leakyReluRef(x, alpha float32) float32 {
	if !(x > 0) {
		return float32(x * alpha)
	}
	return x
}

func reluGradRef(a, g float32) float32 {
	if a > 0 {
		return g
	}
	return 0
}

func leakyReluGradRef(a, g, alpha float32) float32 {
	if a > 0 {
		return g
	}
	return float32(alpha * g)
}

func tanhGradRef(y, g float32) float32 {
	t := float32(y * y)
	t = 1 - t
	return float32(g * t)
}

func sigmoidGradRef(y, g float32) float32 {
	t := float32(g * y)
	return float32(t * (1 - y))
}

// actSpecials are mixed into the random inputs: zeros of both signs,
// infinities, quiet and signalling NaNs of both signs, subnormals, the
// normal range's ends, and values of y where 1-y² and 1-y cancel.
var actSpecials = []uint32{
	0x00000000, 0x80000000, 0x7f800000, 0xff800000,
	0x7fc00000, 0xffc00000, 0x7f800001, 0xff812345, 0x7fffffff,
	0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000,
	0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000, 0x3f7fffff, 0xbf7fffff,
	0x3f800001, 0x33800000, 0xb3800000, 0x3e4ccccd,
}

// actInput returns n values: a third random-signed normals at scale 1,
// a third arbitrary bit patterns, a third special values.
func actInput(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		switch r.IntN(3) {
		case 0:
			s[i] = float32(r.NormFloat64())
		case 1:
			s[i] = math.Float32frombits(r.Uint32())
		default:
			s[i] = math.Float32frombits(actSpecials[r.IntN(len(actSpecials))])
		}
	}
	return s
}

// sameResult: identical bits, or both NaN (payloads are not specified,
// except for Relu, which checks bits).
func sameResult(got, want float32) bool {
	return math.Float32bits(got) == math.Float32bits(want) || got != got && want != want
}

// actCase is one activation kernel in a common two-input form (x and g;
// forward kernels ignore g) with its scalar definition.
type actCase struct {
	name   string
	binary bool // reads g
	f      func(dst, x, g []float32, alpha float32)
	ref    func(x, g, alpha float32) float32
	exact  bool // NaN bits must match too
}

var actCases = []actCase{
	{"Relu", false, func(d, x, _ []float32, _ float32) { Relu(d, x) },
		func(x, _, _ float32) float32 { return reluRef(x) }, true},
	{"LeakyRelu", false, func(d, x, _ []float32, al float32) { LeakyRelu(d, x, al) },
		func(x, _, al float32) float32 { return leakyReluRef(x, al) }, false},
	{"ReluGrad", true, func(d, a, g []float32, _ float32) { ReluGrad(d, a, g) },
		func(a, g, _ float32) float32 { return reluGradRef(a, g) }, false},
	{"LeakyReluGrad", true, LeakyReluGrad, leakyReluGradRef, false},
	{"TanhGrad", true, func(d, y, g []float32, _ float32) { TanhGrad(d, y, g) },
		func(y, g, _ float32) float32 { return tanhGradRef(y, g) }, false},
	{"SigmoidGrad", true, func(d, y, g []float32, _ float32) { SigmoidGrad(d, y, g) },
		func(y, g, _ float32) float32 { return sigmoidGradRef(y, g) }, false},
}

// The slopes tried: typical ones, 0 (gives -0 for negative inputs), a
// negative one, one that overflows, and infinity (0·Inf is NaN).
var actAlphas = []float32{0.2, 0.01, 0, -0.5, 1e30, float32(math.Inf(1))}

// checkAct runs c over x, g into a fresh dst with a guard element and in
// place over each input, and compares every element with the definition.
func checkAct(t *testing.T, c actCase, x, g []float32, alpha float32) {
	t.Helper()
	n := len(x)
	want := make([]float32, n)
	for i := range x {
		want[i] = c.ref(x[i], g[i], alpha)
	}
	check := func(what string, got []float32) {
		t.Helper()
		for i := range want {
			ok := sameResult(got[i], want[i])
			if c.exact {
				ok = math.Float32bits(got[i]) == math.Float32bits(want[i])
			}
			if !ok {
				require.Failf(t, "mismatch", "%s %s n=%d alpha=%g i=%d x=%#08x g=%#08x: got %#08x (%g), want %#08x (%g)",
					c.name, what, n, alpha, i, math.Float32bits(x[i]), math.Float32bits(g[i]),
					math.Float32bits(got[i]), got[i], math.Float32bits(want[i]), want[i])
			}
		}
	}
	buf := make([]float32, n+1)
	buf[n] = 42
	c.f(buf[:n], x, g, alpha)
	check("fresh dst", buf[:n])
	require.Equal(t, float32(42), buf[n], "%s n=%d wrote past len", c.name, n)

	xl := append(make([]float32, 0, n), x...)
	c.f(xl, xl, g, alpha)
	check("dst aliasing x", xl)
	if c.binary {
		gl := append(make([]float32, 0, n), g...)
		c.f(gl, x, gl, alpha)
		check("dst aliasing g", gl)
	}
}

// TestActivationsExact: every activation kernel on every path equals its
// scalar definition bit for bit (NaN for NaN) on every length 0..70 (all
// tails of every vector width, with the special values at every lane),
// on lengths that use the vector loop and the parallel split, in place
// and not.
func TestActivationsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var lengths []int
	for n := 0; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1000, 4099)
	if !testing.Short() {
		lengths = append(lengths, 3*grainSimple+5) // split across the pool
	}
	forEachPath(t, func(t *testing.T) {
		for _, n := range lengths {
			x, g := actInput(r, n), actInput(r, n)
			for _, c := range actCases {
				alphas := actAlphas[:1]
				if c.name == "LeakyRelu" || c.name == "LeakyReluGrad" {
					alphas = actAlphas
				}
				for _, al := range alphas {
					checkAct(t, c, x, g, al)
				}
			}
		}
	})
}

// TestActivationSpecialPairs crosses every special value for x (or y, or
// the forward input a) with every special value for g, at every lane
// position of a 67-element slice so the vector body and the tail both
// see each pair.
func TestActivationSpecialPairs(t *testing.T) {
	var x, g []float32
	for _, u := range actSpecials {
		for _, v := range actSpecials {
			x = append(x, math.Float32frombits(u))
			g = append(g, math.Float32frombits(v))
		}
	}
	forEachPath(t, func(t *testing.T) {
		for _, c := range actCases {
			for _, al := range actAlphas {
				for off := 0; off+67 <= len(x); off += 67 {
					checkAct(t, c, x[off:off+67], g[off:off+67], al)
				}
				checkAct(t, c, x, g, al)
			}
		}
	})
}

// TestActivationKnownValues pins the definitions themselves (a wrong
// reference would otherwise pass unnoticed) on the default path.
func TestActivationKnownValues(t *testing.T) {
	nan := float32(math.NaN())
	pinf := float32(math.Inf(1))
	nz := float32(math.Copysign(0, -1))
	x := []float32{2, -3, 0, nz, pinf, -pinf, nan}
	g := []float32{5, pinf, nan, 7, 1, -pinf, 4}
	out := make([]float32, len(x))
	bits := func(s []float32) []uint32 {
		u := make([]uint32, len(s))
		for i, v := range s {
			u[i] = math.Float32bits(v)
			if v != v {
				u[i] = 0x7fc00000
			}
		}
		return u
	}

	Relu(out, x)
	assert.Equal(t, bits([]float32{2, 0, 0, 0, pinf, 0, nan}), bits(out), "Relu: -0 gives +0")
	LeakyRelu(out, x, 0.5)
	assert.Equal(t, bits([]float32{2, -1.5, 0, nz, pinf, -pinf, nan}), bits(out), "LeakyRelu")
	ReluGrad(out, x, g)
	assert.Equal(t, bits([]float32{5, 0, 0, 0, 1, 0, 0}), bits(out), "ReluGrad: Inf and NaN g where a<=0 give 0")
	LeakyReluGrad(out, x, g, 0.5)
	assert.Equal(t, bits([]float32{5, pinf, nan, 3.5, 1, -pinf, 2}), bits(out), "LeakyReluGrad")

	y := []float32{0.5, -0.5, 1, 0x1.fffffep-1, 0}
	gy := []float32{2, 2, 3, 1, -1}
	out = out[:len(y)]
	TanhGrad(out, y, gy)
	// 1 - (1-2⁻²⁴)² = 2⁻²³ - 2⁻⁴⁸, and y² rounds to 1 - 2⁻²³ first.
	assert.Equal(t, bits([]float32{1.5, 1.5, 0, 0x1p-23, -1}), bits(out), "TanhGrad")
	SigmoidGrad(out, y, gy)
	assert.Equal(t, bits([]float32{0.5, -1.5, 0, 0x1.fffffep-25, nz}), bits(out), "SigmoidGrad: (-1·0)·1 is -0")
}

func TestActivationLengthMismatchPanics(t *testing.T) {
	a, b := make([]float32, 3), make([]float32, 4)
	assert.PanicsWithValue(t, "vmath.Relu: len(dst)=3 != len(x)=4", func() { Relu(a, b) })
	assert.PanicsWithValue(t, "vmath.LeakyRelu: len(dst)=3 != len(x)=4", func() { LeakyRelu(a, b, 0.2) })
	assert.PanicsWithValue(t, "vmath.ReluGrad: lengths differ: len(dst)=3, len(a)=3, len(b)=4", func() { ReluGrad(a, a, b) })
	assert.PanicsWithValue(t, "vmath.LeakyReluGrad: lengths differ: len(dst)=3, len(a)=4, len(b)=3", func() { LeakyReluGrad(a, b, a, 0.2) })
	assert.PanicsWithValue(t, "vmath.TanhGrad: lengths differ: len(dst)=4, len(a)=3, len(b)=3", func() { TanhGrad(b, a, a) })
	assert.PanicsWithValue(t, "vmath.SigmoidGrad: lengths differ: len(dst)=3, len(a)=3, len(b)=4", func() { SigmoidGrad(a, a, b) })
}
