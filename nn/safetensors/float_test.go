package safetensors

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// f16Value is an independent float64 decoding of a binary16 bit pattern,
// straight from the IEEE 754 definition.
func f16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(m, -24)
	}
	return sign * math.Ldexp(1+m/1024, e-15)
}

func TestF16DecodeExhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		want := f16Value(uint16(h))
		got := f16ToF32(uint16(h))
		if math.IsNaN(want) {
			require.True(t, math.IsNaN(float64(got)), "h=%#04x", h)
			require.True(t, math.IsNaN(float64(bf16ToF32(f32ToBF16(got)))))
			continue
		}
		require.Equal(t, want, float64(got), "h=%#04x", h)
		require.Equal(t, math.Signbit(want), math.Signbit(float64(got)), "h=%#04x", h)
		// Every half is a float32, so encoding it back is exact.
		require.Equal(t, uint16(h), f32ToF16(got), "h=%#04x", h)
	}
}

// refF16 rounds x to binary16 by searching the sorted table of all finite
// non-negative halves, ties to the even bit pattern.
func refF16(table []float64, x float32) uint16 {
	ax := math.Abs(float64(x))
	var sign uint16
	if math.Signbit(float64(x)) {
		sign = 0x8000
	}
	if math.IsNaN(ax) {
		panic("NaN")
	}
	if ax >= 65520 { // halfway between 65504 and 2^16: rounds to the odd/even boundary → Inf
		return sign | 0x7c00
	}
	i := sort.SearchFloat64s(table, ax) // table[i] ≥ ax; table index == bit pattern
	if table[i] == ax || i == 0 {
		return sign | uint16(i)
	}
	lo, hi := ax-table[i-1], table[i]-ax
	switch {
	case lo < hi:
		return sign | uint16(i-1)
	case hi < lo:
		return sign | uint16(i)
	case i%2 == 0:
		return sign | uint16(i)
	}
	return sign | uint16(i-1)
}

func randFloat32s(r *rand.Rand, n int) []float32 {
	out := make([]float32, 0, n+16)
	for len(out) < n {
		var x float32
		switch r.IntN(3) {
		case 0: // any bit pattern: every exponent
			x = math.Float32frombits(r.Uint32())
		case 1: // the half range, log-uniform
			x = float32(math.Exp2(r.Float64()*44-28)) * float32(1-2*r.IntN(2))
		default: // exact midpoints between two adjacent halves (ties)
			h := uint16(r.IntN(0x7bff))
			x = float32((f16Value(h) + f16Value(h+1)) / 2)
		}
		if !math.IsNaN(float64(x)) {
			out = append(out, x)
		}
	}
	// Edge cases.
	return append(out, 0, float32(math.Copysign(0, -1)), 65504, 65519.99, 65520, -65520,
		float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32,
		float32(math.Ldexp(1, -25)), float32(math.Ldexp(1.0000001, -25)), float32(math.Ldexp(1, -14)))
}

func TestF16EncodeMatchesReference(t *testing.T) {
	table := make([]float64, 0x7c01)
	for h := range 0x7c00 {
		table[h] = f16Value(uint16(h))
	}
	table[0x7c00] = 65536 // where Inf's pattern would sit if the exponent went on
	r := rand.New(rand.NewPCG(1, 2))
	for _, x := range randFloat32s(r, 300000) {
		if math.IsInf(float64(x), 0) {
			assert.Equal(t, f32ToF16(x), uint16(0x7c00)|uint16(math.Float32bits(x)>>16)&0x8000)
			continue
		}
		if want, got := refF16(table, x), f32ToF16(x); want != got {
			require.Equal(t, want, got, "x=%g (%#08x)", x, math.Float32bits(x))
		}
	}
}

func TestBF16EncodeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, x := range randFloat32s(r, 300000) {
		b := math.Float32bits(x)
		lo := b & 0xffff0000
		want := uint16(lo >> 16)
		if lo != b {
			// Compare the distances to both neighbours in float64 (exact).
			hi := lo + 0x10000
			dl := math.Abs(float64(x) - float64(math.Float32frombits(lo)))
			var dh float64
			if hi&0x7fffffff == 0x7f800000 { // the upper neighbour is Inf: treat as 2^128
				dh = math.Abs(math.Copysign(math.Ldexp(1, 128), float64(x)) - float64(x))
			} else {
				dh = math.Abs(float64(math.Float32frombits(hi)) - float64(x))
			}
			if dh < dl || (dh == dl && want&1 == 1) {
				want = uint16(hi >> 16)
			}
		}
		if got := f32ToBF16(x); got != want {
			require.Equal(t, want, got, "x=%g (%#08x)", x, b)
		}
	}
}

// TestReducedPrecisionErrorBounds checks the bounds stated in the package doc.
func TestReducedPrecisionErrorBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	within := func(what string, x float32, got, bound float64, relative bool) {
		err := math.Abs(got - float64(x))
		if relative {
			err /= math.Abs(float64(x))
		}
		if !(err <= bound) { // also catches NaN
			t.Fatalf("%s x=%g: got %g, error %g over the bound %g", what, x, got, err, bound)
		}
	}
	for _, x := range randFloat32s(r, 200000) {
		ax := math.Abs(float64(x))
		if math.IsInf(ax, 0) || ax == 0 {
			continue
		}
		h := float64(f16ToF32(f32ToF16(x)))
		switch {
		case ax >= 65520:
			require.True(t, math.IsInf(h, 0), "x=%g", x)
		case ax >= math.Ldexp(1, -14):
			within("F16", x, h, math.Ldexp(1, -11), true)
		default:
			within("F16 subnormal", x, h, math.Ldexp(1, -25), false)
		}
		b := float64(bf16ToF32(f32ToBF16(x)))
		switch {
		case ax >= math.Ldexp(2-math.Ldexp(1, -8), 127):
			require.True(t, math.IsInf(b, 0), "x=%g", x)
		case ax >= math.Ldexp(1, -126):
			within("BF16", x, b, math.Ldexp(1, -8), true)
		default:
			within("BF16 subnormal", x, b, math.Ldexp(1, -134), false)
		}
	}
}

func TestNaNStaysNaN(t *testing.T) {
	for _, bits := range []uint32{0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0xff800001} {
		x := math.Float32frombits(bits)
		h, b := f16ToF32(f32ToF16(x)), bf16ToF32(f32ToBF16(x))
		assert.True(t, math.IsNaN(float64(h)), "F16 %#08x", bits)
		assert.True(t, math.IsNaN(float64(b)), "BF16 %#08x", bits)
		assert.Equal(t, math.Signbit(float64(x)), math.Signbit(float64(h)))
		assert.Equal(t, math.Signbit(float64(x)), math.Signbit(float64(b)))
	}
}
