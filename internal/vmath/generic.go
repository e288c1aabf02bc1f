package vmath

import (
	"math"

	"github.com/ingotml/ingot/internal/cpufeat"
)

// The generic path: portable Go that evaluates the same range reductions
// and polynomials as the SIMD kernels, but in float64, so its results are
// the float64 approximation rounded once to float32.

var genericKernels = kernels{
	path:          cpufeat.Generic,
	unary:         unaryGeneric,
	binary:        binaryGeneric,
	scale:         scaleGeneric,
	axpy:          axpyGeneric,
	addConst:      addConstGeneric,
	leakyRelu:     leakyReluGeneric,
	leakyReluGrad: leakyReluGradGeneric,
	expShiftSum:   expShiftSumGeneric,
	expSum:        expSumGeneric,
	sum:           sumGeneric,
	dot:           dotGeneric,
	max:           maxGeneric,
}

// Polynomial coefficients (float32, fitted minimax with Lawson's algorithm
// and rounded; the SIMD paths use the same values).
const (
	// e**r ≈ 1 + r + r²·(e0 + e1 r + e2 r² + e3 r³ + e4 r⁴) on |r| ≤ ln2/2;
	// relative error 3.7e-9 (0.06 ulp).
	exp0 = 0x1.fffffcp-2
	exp1 = 0x1.555492p-3
	exp2 = 0x1.5558f2p-5
	exp3 = 0x1.123ap-7
	exp4 = 0x1.6a2404p-10

	// ln(1+f) ≈ f + f²·(l0 + l1 f + … + l8 f⁸) on √½-1 ≤ f < √2-1;
	// relative error 5.3e-9 (0.09 ulp).
	log0 = -0x1.fffff8p-2
	log1 = 0x1.55555p-2
	log2 = -0x1.000426p-2
	log3 = 0x1.99a3f4p-3
	log4 = -0x1.54276ap-3
	log5 = 0x1.22718ap-3
	log6 = -0x1.0f3768p-3
	log7 = 0x1.0848d2p-3
	log8 = -0x1.383116p-4

	// tanh x ≈ x + x³·(t0 + t1 x² + … + t6 x¹²) on |x| ≤ tanhSmall;
	// relative error 5.7e-9 (0.1 ulp).
	tanh0     = -0x1.55554ep-2
	tanh1     = 0x1.110f5p-3
	tanh2     = -0x1.b9cd64p-5
	tanh3     = 0x1.6308b2p-6
	tanh4     = -0x1.0f2d6ap-7
	tanh5     = 0x1.53d878p-9
	tanh6     = -0x1.e160dcp-12
	tanhSmall = 0.9

	expHi = 89.0  // e**x overflows float32 above 88.72
	expLo = -104. // and underflows to 0 below -103.97
)

// exp64 is e**x for x clamped to [expLo, expHi] (NaN passes through).
func exp64(x float64) float64 {
	x = min(max(x, expLo), expHi)
	const magic = 0x1.8p52 // adding it rounds to an integer
	n := (x*math.Log2E + magic) - magic
	r := x - n*math.Ln2
	p := 1 + r + r*r*(exp0+r*(exp1+r*(exp2+r*(exp3+r*exp4))))
	return p * math.Float64frombits(uint64(int64(n)+1023)<<52)
}

// log64 is ln x for finite x > 0 in float64's normal range.
func log64(x float64) float64 {
	// Split x = 2**e·m with m in [√½, √2): f = m-1 is exact.
	const sqrtHalf = 0x3fe6a09e667f3bcd
	ix := math.Float64bits(x) - sqrtHalf
	e := float64(int64(ix) >> 52)
	f := math.Float64frombits(ix&(1<<52-1)+sqrtHalf) - 1
	q := log0 + f*(log1+f*(log2+f*(log3+f*(log4+f*(log5+f*(log6+f*(log7+f*log8)))))))
	return e*math.Ln2 + (f + f*f*q)
}

func expG(x float32) float32 { return float32(exp64(float64(x))) }

func logG(x float32) float32 {
	switch {
	case x > 0 && x <= math.MaxFloat32:
		return float32(log64(float64(x)))
	case x == 0:
		return float32(math.Inf(-1))
	case x < 0:
		return float32(math.NaN())
	}
	return x // +Inf, NaN
}

// log1p64 is ln(1+y) for y in (-1, MaxFloat32].
func log1p64(y float64) float64 {
	u := 1 + y
	if u == 1 {
		return y
	}
	// u is 1+y rounded; ln(1+y) = ln u + ln(1 + c/u) with c the rounding error.
	c := y - (u - 1)
	return log64(u) + c/u
}

func log1pG(x float32) float32 {
	switch {
	case x > -1 && x <= math.MaxFloat32:
		return float32(log1p64(float64(x)))
	case x == -1:
		return float32(math.Inf(-1))
	case x < -1:
		return float32(math.NaN())
	}
	return x
}

func tanhG(x float32) float32 {
	a := math.Abs(float64(x))
	var t float64
	switch {
	case a <= tanhSmall:
		z := a * a
		t = a + a*z*(tanh0+z*(tanh1+z*(tanh2+z*(tanh3+z*(tanh4+z*(tanh5+z*tanh6))))))
	case a < 10: // tanh rounds to 1 in float32 from 9.01
		t = 1 - 2/(exp64(2*a)+1)
	case a >= 10:
		t = 1
	default:
		return x // NaN
	}
	return float32(math.Copysign(t, float64(x)))
}

func sigmoidG(x float32) float32 {
	e := exp64(-math.Abs(float64(x)))
	if x < 0 {
		return float32(e / (1 + e))
	}
	return float32(1 / (1 + e))
}

// softplus64 is ln(1+e**x) = max(x,0) + log1p(e**-|x|).
func softplus64(x float64) float64 {
	return max(x, 0) + log1p64(exp64(-math.Abs(x)))
}

func softplusG(x float32) float32 {
	if x != x {
		return x
	}
	return float32(softplus64(float64(x)))
}

func bceG(x, t float32) float32 {
	if x != x {
		return x
	}
	xf := float64(x)
	// x*t is exact in float64; the log term goes last so it survives when
	// max(x,0) - x*t cancels.
	return float32((max(xf, 0) - xf*float64(t)) + log1p64(exp64(-math.Abs(xf))))
}

func unaryGeneric(op int, dst, x []float32) {
	dst = dst[:len(x)]
	switch op {
	case opExp:
		for i, v := range x {
			dst[i] = expG(v)
		}
	case opLog:
		for i, v := range x {
			dst[i] = logG(v)
		}
	case opLog1p:
		for i, v := range x {
			dst[i] = log1pG(v)
		}
	case opTanh:
		for i, v := range x {
			dst[i] = tanhG(v)
		}
	case opSigmoid:
		for i, v := range x {
			dst[i] = sigmoidG(v)
		}
	case opSoftplus:
		for i, v := range x {
			dst[i] = softplusG(v)
		}
	case opRelu:
		for i, v := range x {
			if v <= 0 { // false for NaN, which passes through
				v = 0
			}
			dst[i] = v
		}
	}
}

func binaryGeneric(op int, dst, a, b []float32) {
	dst, b = dst[:len(a)], b[:len(a)]
	switch op {
	case opAdd:
		for i := range a {
			dst[i] = a[i] + b[i]
		}
	case opSub:
		for i := range a {
			dst[i] = a[i] - b[i]
		}
	case opMul:
		for i := range a {
			dst[i] = a[i] * b[i]
		}
	case opDiv:
		for i := range a {
			dst[i] = a[i] / b[i]
		}
	case opBCE:
		for i := range a {
			dst[i] = bceG(a[i], b[i])
		}
	case opReluGrad:
		for i := range a {
			g := b[i]
			if !(a[i] > 0) {
				g = 0
			}
			dst[i] = g
		}
	// The explicit conversions forbid fusing a product into the following
	// subtraction (the compiler does that on arm64), which would change
	// the result's rounding from the SIMD paths'.
	case opTanhGrad:
		for i := range a {
			t := float32(a[i] * a[i])
			dst[i] = b[i] * (1 - t)
		}
	case opSigmoidGrad:
		for i := range a {
			t := float32(b[i] * a[i])
			dst[i] = t * (1 - a[i])
		}
	}
}

func scaleGeneric(dst, x []float32, s float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = s * v
	}
}

func axpyGeneric(dst, x []float32, s float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] += s * v
	}
}

func addConstGeneric(dst, x []float32, c float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = v + c
	}
}

func leakyReluGeneric(dst, x []float32, s float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if !(v > 0) {
			v *= s
		}
		dst[i] = v
	}
}

func leakyReluGradGeneric(dst, a, b []float32, s float32) {
	dst, b = dst[:len(a)], b[:len(a)]
	for i := range a {
		g := b[i]
		if !(a[i] > 0) {
			g *= s
		}
		dst[i] = g
	}
}

func expShiftSumGeneric(dst, x []float32, c float32) float64 {
	dst = dst[:len(x)]
	s := 0.0
	for i, v := range x {
		e := expG(v + c)
		dst[i] = e
		s += float64(e)
	}
	return s
}

func expSumGeneric(x []float32, c float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(expG(v + c))
	}
	return s
}

func sumGeneric(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func dotGeneric(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func maxGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		} else if v != v {
			return v
		}
	}
	return m
}
