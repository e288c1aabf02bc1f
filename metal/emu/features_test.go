package emu

import (
	"math"
	"math/bits"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/metal/driver"
)

func TestShimFeatures(t *testing.T) {
	d := openWith(t, "features.metal")
	const n = 64
	of, ou := newBuf(t, d, 4*16*n), newBuf(t, d, 4*8*n)
	require.NoError(t, dispatch(t, d, "features", sz(1, 1, 1), sz(n, 1, 1), []int{4 * n}, driver.Arg{Buffer: of}, driver.Arg{Buffer: ou}))
	out, uout := floats(of), uints(ou)
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i)*0.25 - 1
	}
	for i := 0; i < n; i++ {
		x := xs[i]
		o, u := out[i*16:i*16+16], uout[i*8:i*8+8]
		lane, sg := i%32, i/32
		// libm float exp/tanh are within 1-2 ulp; MSL's precise bounds are 4 ulp
		assert.InEpsilon(t, math.Exp(float64(x)), o[0], 4e-7, "exp %d", i)
		if x != 0 {
			assert.InEpsilon(t, math.Tanh(float64(x)), o[1], 4e-7, "tanh %d", i)
		}
		assert.Equal(t, min(max(x, -0.5), 0.5), o[2], "clamp %d", i)
		assert.Equal(t, map[bool]float32{true: 2, false: 1}[x > 0], o[3], "select %d", i)
		assert.Equal(t, []float32{0.5, 1.5, 2.5, 3.5}[i%4], o[4], "constant table %d", i)
		assert.Equal(t, 2*x, o[5], "if constexpr %d", i)
		assert.Equal(t, xs[(i+1)%n], o[6], "helper with barrier %d", i)
		if lane >= 2 {
			assert.Equal(t, xs[i-2], o[7], "shuffle_up %d", i)
		} else {
			assert.Equal(t, x, o[7], "shuffle_up below lane 0 keeps the value %d", i)
		}
		var pre, sumy float32
		for l := sg * 32; l <= i; l++ {
			pre += xs[l]
		}
		for l := sg * 32; l < sg*32+32; l++ {
			sumy += 2 * xs[l]
		}
		assert.Equal(t, pre, o[8], "prefix_inclusive_sum %d", i)
		assert.Equal(t, xs[sg*32]+1, o[9], "broadcast_first %d", i)
		assert.Equal(t, sumy, o[10], "simd_sum(float4).y %d", i)
		firstActive := float32(0)
		if lane == 3 {
			firstActive = 10 // lanes 0-2 are inactive: lane 3 is the first
		}
		assert.Equal(t, 1+firstActive, o[11], "infinity/NAN and simd_is_first %d", i)
		sign := float32(0)
		if x > 0 {
			sign = 1
		} else if x < 0 {
			sign = -1
		}
		assert.Equal(t, max(x, 0)+float32(math.Abs(float64(x)))+sign, o[12], "fmax/abs/sign %d", i)
		assert.InEpsilon(t, 1/math.Sqrt(4+float64(x)*float64(x)), o[13], 2e-7, "rsqrt %d", i)
		assert.Equal(t, float32(i+20)+float32(i+1+10)*0.5, o[14], "swizzle compound assignment %d", i)
		assert.Equal(t, -x, o[15], "as_type sign flip %d", i)
		mx := uint32(0)
		for l := sg * 32; l < sg*32+32; l++ {
			mx = max(mx, uint32(l*7%13))
		}
		want := []uint32{uint32(2*i) >> 3, mx, n * (n - 1) / 2, uint32(bits.OnesCount(uint(i)) + bits.LeadingZeros32(uint32(i+1))),
			math.Float32bits(1), uint32(uint64(i) * 4000000000 >> 32), 5, uint32(int32(i)-40) / 3}
		assert.Equal(t, want, u, "uint results %d", i)
	}
}

// TestHeaderSources: a non-.metal source is a header the .metal sources may
// #include; it is rewritten like them and errors in it name it.
func TestHeaderSources(t *testing.T) {
	d := openLocked(t)
	common := driver.Source{Name: "common.h", Text: "#pragma once\n#include <metal_stdlib>\nusing namespace metal;\ninline float half_of(float x) { return x * 0.5; }\n"}
	user := driver.Source{Name: "user.metal", Text: "#include \"common.h\"\nkernel void halve(device float* x [[buffer(0)]], uint i [[thread_position_in_grid]]) {\n  x[i] = half_of(x[i]);\n}\n"}
	require.NoError(t, d.Compile([]driver.Source{common, user}))
	b := newBuf(t, d, 4*32)
	for i := range floats(b) {
		floats(b)[i] = float32(i)
	}
	require.NoError(t, dispatch(t, d, "halve", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: b}))
	for i, v := range floats(b) {
		assert.Equal(t, float32(i)/2, v)
	}
	bad := driver.Source{Name: "common.h", Text: "inline float half_of(float x) {\n  return y;\n}\n"}
	err := d.Compile([]driver.Source{bad, user})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "common.h:2:")
	err = d.Compile([]driver.Source{common})
	assert.ErrorContains(t, err, "no .metal source")
}

func TestMacroInstantiations(t *testing.T) {
	d := openWith(t, "features.metal")
	f, u := newBuf(t, d, 4*32), newBuf(t, d, 4*32)
	require.NoError(t, dispatch(t, d, "fill_f32", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: f}))
	require.NoError(t, dispatch(t, d, "fill_u32", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: u}))
	for i := 0; i < 32; i++ {
		assert.Equal(t, float32(3*i), floats(f)[i])
		assert.Equal(t, uint32(3*i), uints(u)[i])
	}
}
