package vmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// builtPaths lists the kernel paths this CPU can run (Accelerate is NEON here).
func builtPaths() []cpufeat.Path {
	var ps []cpufeat.Path
	for _, p := range cpufeat.Available() {
		if p != cpufeat.Accelerate && pathKernels(p) != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// forEachPath runs f with every path forced in turn and restores the default.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	orig := Path()
	defer func() { require.NoError(t, SetPath(orig)) }()
	for _, p := range builtPaths() {
		if only := os.Getenv("INGOT_VMATH_PATHS"); only != "" && !strings.Contains(only, string(p)) {
			continue
		}
		require.NoError(t, SetPath(p))
		t.Run(string(p), f)
	}
}

// ulpOf is the spacing of float32 values at the magnitude of y.
func ulpOf(y float64) float64 {
	y = math.Abs(y)
	if y < 0x1p-126 {
		return 0x1p-149
	}
	if y >= math.MaxFloat32 {
		y = math.MaxFloat32
	}
	_, e := math.Frexp(y) // y = f·2**e, f in [0.5,1)
	return math.Ldexp(1, e-24)
}

// ulpErr is |got-want| in float32 ulps of want; matching infinities and
// NaNs count as 0, mismatching ones as +Inf.
func ulpErr(got float32, want float64) float64 {
	g := float64(got)
	switch {
	case math.IsNaN(want) || math.IsNaN(g):
		if math.IsNaN(want) && math.IsNaN(g) {
			return 0
		}
		return math.Inf(1)
	case math.IsInf(want, 0) || math.IsInf(g, 0) || math.Abs(want) > math.MaxFloat32:
		// A reference beyond MaxFloat32 must round to Inf.
		if math.IsInf(g, 0) && float64(float32(want)) == g {
			return 0
		}
		if math.IsInf(g, 0) || math.IsInf(want, 0) {
			return math.Inf(1)
		}
	}
	return math.Abs(g-want) / ulpOf(want)
}

type unaryCase struct {
	name string
	f    func(dst, x []float32)
	ref  func(x float64) float64
	lo   float64 // the range that matters: below lo / above hi the result
	hi   float64 // is a constant or the computation is trivially exact
	// bound is the documented max ulp error (all SIMD paths; generic is
	// at least as good). See doc.go for how the bounds were measured.
	bound float64
	// dense is the magnitude range INGOT_VMATH_SWEEP=full checks value by
	// value: where results are not trivially x, ±1, 0 or a constant.
	dense [2]float64
}

func refSigmoid(x float64) float64 {
	if x < 0 {
		e := math.Exp(x)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(-x))
}

func refSoftplus(x float64) float64 { return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// refBCE keeps log1p(e**-|x|) as the last term so it is not lost when
// max(x,0) - x*t cancels to 0.
func refBCE(x, t float64) float64 {
	return (max(x, 0) - x*t) + math.Log1p(math.Exp(-math.Abs(x)))
}

var unaryCases = []unaryCase{
	{"Exp", Exp, math.Exp, -104, 89, boundExp, [2]float64{0x1p-12, 104}},
	{"Log", Log, math.Log, 0, math.MaxFloat32, boundLog, [2]float64{0x1p-10, 0x1p10}},
	{"Log1p", Log1p, math.Log1p, -1, math.MaxFloat32, boundLog1p, [2]float64{0x1p-12, 0x1p10}},
	{"Tanh", Tanh, math.Tanh, -10, 10, boundTanh, [2]float64{0x1p-12, 10}},
	{"Sigmoid", Sigmoid, refSigmoid, -105, 20, boundSigmoid, [2]float64{0x1p-12, 105}},
	{"Softplus", Softplus, refSoftplus, -105, 100, boundSoftplus, [2]float64{0x1p-12, 105}},
}

// sweep calls f with chunks of float32 values in [lo, hi]: every value
// when step is 1, else every step-th bit pattern (both signs), which
// samples every binade evenly.
func sweep(lo, hi float64, step uint32, f func(xs []float32)) {
	xs := make([]float32, 0, 1<<20)
	flush := func() {
		if len(xs) > 0 {
			f(xs)
			xs = xs[:0]
		}
	}
	add := func(from, to float32, neg bool) { // 0 <= from <= to
		a, b := math.Float32bits(from), math.Float32bits(to)
		for u := a; u <= b && u >= a; u += step {
			v := math.Float32frombits(u)
			if neg {
				v = -v
			}
			if xs = append(xs, v); len(xs) == cap(xs) {
				flush()
			}
		}
		flush()
	}
	if hi > 0 {
		add(float32(max(lo, 0)), float32(hi), false)
	}
	if lo < 0 {
		add(float32(max(-hi, 0)), float32(-lo), true)
	}
}

// maxULP runs f over the sweep of [lo, hi] and returns the largest error,
// where it happened and how many points were checked.
func maxULP(f func(dst, x []float32), ref func(float64) float64, lo, hi float64, step uint32) (worst float64, at float32, count int) {
	out := make([]float32, 1<<20)
	sweep(lo, hi, step, func(xs []float32) {
		f(out[:len(xs)], xs)
		for i, x := range xs {
			if e := ulpErr(out[i], ref(float64(x))); e > worst || math.IsNaN(e) {
				worst, at = e, x
			}
		}
		count += len(xs)
	})
	return worst, at, count
}

func full() bool { return os.Getenv("INGOT_VMATH_SWEEP") == "full" }

// sweepStep: the whole range of each function is checked at every 307th
// float32 (every 4099th with -short); INGOT_VMATH_SWEEP=full adds every
// float32 of the dense range (minutes per path; INGOT_VMATH_PATHS=avx512
// limits the paths).
func sweepStep() uint32 {
	if testing.Short() {
		return 4099
	}
	return 307
}

func TestULPBounds(t *testing.T) {
	step := sweepStep()
	forEachPath(t, func(t *testing.T) {
		for _, c := range unaryCases {
			if only := os.Getenv("INGOT_VMATH_FUNCS"); only != "" && !strings.Contains(only, c.name) {
				continue
			}
			worst, at, count := maxULP(c.f, c.ref, c.lo, c.hi, step)
			t.Logf("%-8s %-8s max %.3f ulp at %g (%d points)", Path(), c.name, worst, at, count)
			assert.LessOrEqual(t, worst, c.bound, "%s at x=%g", c.name, at)
			if !full() {
				continue
			}
			// Every float32 in the dense magnitude range, both signs.
			for _, r := range [][2]float64{{c.dense[0], c.dense[1]}, {-c.dense[1], -c.dense[0]}} {
				lo, hi := max(r[0], c.lo), min(r[1], c.hi)
				if lo >= hi {
					continue
				}
				worst, at, count := maxULP(c.f, c.ref, lo, hi, 1)
				t.Logf("%-8s %-8s max %.3f ulp at %g (every float32 in [%g, %g]: %d points)", Path(), c.name, worst, at, lo, hi, count)
				assert.LessOrEqual(t, worst, c.bound, "%s at x=%g", c.name, at)
			}
		}
		// BCE with hard targets (0 or 1): x*t is exact, so the result is
		// softplus(±x) and must meet the softplus bound.
		for _, tv := range []float32{0, 1} {
			worst := 0.0
			sweep(-105, 100, step*4, func(xs []float32) {
				ts := make([]float32, len(xs))
				for i := range ts {
					ts[i] = tv
				}
				out := make([]float32, len(xs))
				BCEWithLogits(out, xs, ts)
				for i, x := range xs {
					worst = max(worst, ulpErr(out[i], refBCE(float64(x), float64(tv))))
				}
			})
			t.Logf("%-8s BCE t=%g max %.3f ulp", Path(), tv, worst)
			assert.LessOrEqual(t, worst, boundSoftplus, "BCE t=%g", tv)
		}
	})
}

// TestBCESoftTargets: with soft targets x - x*t cancels, so the bound is
// stated in ulps of max(|result|, |x|): the rounding of x*t alone can cost
// half an ulp of |x|.
func TestBCESoftTargets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 10007
	x, tg, out := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 20)
		tg[i] = r.Float32()
	}
	forEachPath(t, func(t *testing.T) {
		BCEWithLogits(out, x, tg)
		for i := range x {
			xf, tf := float64(x[i]), float64(tg[i])
			want := refBCE(xf, tf)
			scale := max(ulpOf(want), ulpOf(xf))
			if math.Abs(float64(out[i])-want)/scale > 4 {
				require.LessOrEqual(t, math.Abs(float64(out[i])-want)/scale, 4.0, "x=%g t=%g", x[i], tg[i])
			}
		}
	})
}

func f32(v float64) float32 { return float32(v) }

var (
	inf  = math.Inf(1)
	nan  = math.NaN()
	negz = math.Copysign(0, -1)
)

// TestSpecialValues checks the IEEE corner cases against package math
// exactly (bit for bit on zeros' signs, NaN for NaN).
func TestSpecialValues(t *testing.T) {
	const R = 12345.0 // want: the float64 reference at the float32 input
	cases := []struct {
		name string
		f    func(dst, x []float32)
		ref  func(float64) float64
		in   []float64
		want []float64
	}{
		{"Exp", Exp, math.Exp,
			[]float64{0, negz, inf, -inf, nan, 88.72283, 88.7229, 1000, -87.33654, -100, -103.2, -103.9, -104, -1e30, 0x1p-149, -0x1p-149},
			[]float64{1, 1, inf, 0, nan, R, inf, inf, R, R, R, R, 0, 0, 1, 1}},
		{"Log", Log, math.Log,
			[]float64{0, negz, -1, -0x1p-149, -inf, inf, nan, 1, 0x1p-149, 0x1p-130, math.MaxFloat32, 0x1p-126},
			[]float64{-inf, -inf, nan, nan, nan, inf, nan, 0, R, R, R, R}},
		{"Log1p", Log1p, math.Log1p,
			[]float64{0, negz, -1, -1.5, -inf, inf, nan, 0x1p-149, -0x1p-149, 1e-30, -1e-30, 0x1p-24, math.MaxFloat32, -0.99999994},
			[]float64{0, negz, -inf, nan, nan, inf, nan, 0x1p-149, -0x1p-149, R, R, R, R, R}},
		{"Tanh", Tanh, math.Tanh,
			[]float64{0, negz, inf, -inf, nan, 0x1p-149, -0x1p-149, 1e-20, 20, -20, 1e30, -1e30},
			[]float64{0, negz, 1, -1, nan, 0x1p-149, -0x1p-149, R, 1, -1, 1, -1}},
		{"Sigmoid", Sigmoid, refSigmoid,
			[]float64{0, negz, inf, -inf, nan, 100, -100, -1000, 1e30, -1e30, 0x1p-149},
			[]float64{0.5, 0.5, 1, 0, nan, 1, R, 0, 1, 0, 0.5}},
		{"Softplus", Softplus, refSoftplus,
			[]float64{0, negz, inf, -inf, nan, 100, -100, -1000, 1e30, -1e30},
			[]float64{R, R, inf, 0, nan, 100, R, 0, 1e30, 0}},
	}
	for _, c := range cases {
		for i, w := range c.want {
			if w == R {
				c.want[i] = c.ref(float64(f32(c.in[i])))
			}
		}
	}
	forEachPath(t, func(t *testing.T) {
		for _, c := range cases {
			// Embed the values in a longer slice so they hit the vector
			// body as well as the tail.
			for _, off := range []int{0, 5, 17} {
				in := make([]float32, off+len(c.in))
				for i := range in {
					in[i] = 0.25
				}
				for i, v := range c.in {
					in[off+i] = f32(v)
				}
				out := make([]float32, len(in))
				c.f(out, in)
				for i, v := range c.in {
					got, want := out[off+i], f32(c.want[i])
					msg := fmt.Sprintf("%s(%g) = %g, want %g", c.name, f32(v), got, want)
					if want != want {
						assert.True(t, got != got, msg)
						continue
					}
					if want == 0 || math.IsInf(float64(want), 0) {
						assert.Equal(t, math.Float32bits(want), math.Float32bits(got), msg)
						continue
					}
					// Finite nonzero answers: within the function's bound.
					assert.LessOrEqual(t, ulpErr(got, c.want[i]), 2.0, msg)
				}
			}
		}
	})
}

var oddLengths = []int{0, 1, 3, 15, 16, 17, 33, 1000, 100003}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

// TestLengthsAndAliasing runs every kernel on odd lengths (vector body,
// tail, and the parallel split at 100003) into a fresh dst and in place,
// against float64 references, and checks elements past len are untouched.
func TestLengthsAndAliasing(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	forEachPath(t, func(t *testing.T) {
		for _, n := range oddLengths {
			x := randSlice(r, n, 8)
			pos := make([]float32, n)
			for i, v := range x {
				pos[i] = float32(math.Abs(float64(v))) * 10
			}
			for _, c := range unaryCases {
				in := x
				if c.name == "Log" {
					in = pos
				}
				// dst has a guard element past its end.
				buf := make([]float32, n+1)
				buf[n] = 42
				c.f(buf[:n], in)
				inPlace := append(make([]float32, 0, n), in...)
				c.f(inPlace, inPlace)
				for i, v := range in {
					want := c.ref(float64(v))
					if ulpErr(buf[i], want) > c.bound || math.Float32bits(buf[i]) != math.Float32bits(inPlace[i]) {
						require.LessOrEqual(t, ulpErr(buf[i], want), c.bound, "%s n=%d x=%g got %g", c.name, n, v, buf[i])
						require.Equal(t, math.Float32bits(buf[i]), math.Float32bits(inPlace[i]), "%s in place, n=%d i=%d", c.name, n, i)
					}
				}
				require.Equal(t, float32(42), buf[n], "%s wrote past len", c.name)
			}
			testBinary(t, r, n)
		}
	})
}

func testBinary(t *testing.T, r *rand.Rand, n int) {
	a, b := randSlice(r, n, 3), randSlice(r, n, 3)
	bins := []struct {
		name string
		f    func(dst, a, b []float32)
		ref  func(a, b float32) float32
	}{
		{"Add", Add, func(a, b float32) float32 { return a + b }},
		{"Sub", Sub, func(a, b float32) float32 { return a - b }},
		{"Mul", Mul, func(a, b float32) float32 { return a * b }},
		{"Div", Div, func(a, b float32) float32 { return a / b }},
	}
	for _, c := range bins {
		// Correctly rounded operations: results must be exact.
		out := make([]float32, n)
		c.f(out, a, b)
		for i := range a {
			if c.ref(a[i], b[i]) != out[i] {
				require.Equal(t, c.ref(a[i], b[i]), out[i], "%s n=%d i=%d", c.name, n, i)
			}
		}
		al := append(make([]float32, 0, n), a...)
		c.f(al, al, b)
		require.Equal(t, out, al, "%s dst aliasing a", c.name)
		bl := append(make([]float32, 0, n), b...)
		c.f(bl, a, bl)
		require.Equal(t, out, bl, "%s dst aliasing b", c.name)
	}
	out := make([]float32, n)
	Scale(out, a, 1.5)
	for i := range a {
		if 1.5*a[i] != out[i] {
			require.Equal(t, 1.5*a[i], out[i], "Scale i=%d", i)
		}
	}
	AddConst(out, a, -0.75)
	for i := range a {
		if a[i]-0.75 != out[i] {
			require.Equal(t, a[i]-0.75, out[i], "AddConst i=%d", i)
		}
	}
	// Axpy: fused (one rounding) or not (two); either is within one ulp of
	// the exact float64 value's float32 rounding.
	copy(out, b)
	Axpy(out, a, 0.3)
	for i := range a {
		p := float64(float32(0.3)) * float64(a[i])
		want := float64(b[i]) + p
		// one rounding of the sum, plus at most half an ulp of the product
		// when the path does not fuse
		tol := ulpOf(want) + ulpOf(p)/2
		if math.Abs(float64(out[i])-want) > tol {
			require.LessOrEqual(t, math.Abs(float64(out[i])-want), tol, "Axpy i=%d", i)
		}
	}
	// BCE in place over the logits.
	tg := make([]float32, n)
	for i := range tg {
		tg[i] = float32(i % 2)
	}
	bce := make([]float32, n)
	BCEWithLogits(bce, a, tg)
	al := append(make([]float32, 0, n), a...)
	BCEWithLogits(al, al, tg)
	require.Equal(t, bce, al, "BCE in place")
	for i := range a {
		want := refBCE(float64(a[i]), float64(tg[i]))
		if ulpErr(bce[i], want) > boundSoftplus {
			require.LessOrEqual(t, ulpErr(bce[i], want), boundSoftplus, "BCE x=%g t=%g", a[i], tg[i])
		}
	}
	// Reductions: float64 accumulation, so within one float32 rounding of
	// the float64 reference (which is far more exact than float32 needs).
	var s, d float64
	m := float32(math.Inf(-1))
	for i := range a {
		s += float64(a[i])
		d += float64(a[i]) * float64(b[i])
		m = max(m, a[i])
	}
	require.LessOrEqual(t, ulpErr(Sum(a), s), 0.5001, "Sum n=%d", n)
	require.LessOrEqual(t, ulpErr(Dot(a, b), d), 0.5001, "Dot n=%d", n)
	require.Equal(t, m, Max(a), "Max n=%d", n)
	if n > 0 {
		c := append(make([]float32, 0, n), a...)
		c[n/2] = float32(math.NaN())
		require.True(t, math.IsNaN(float64(Max(c))), "Max with NaN n=%d", n)
		c[n/2] = float32(math.Inf(1))
		require.Equal(t, float32(math.Inf(1)), Max(c), "Max with +Inf n=%d", n)
	}
}

func refSoftmax(x []float32, logOut bool) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		if logOut {
			out[i] = float64(v) - m - math.Log(s)
		} else {
			out[i] = math.Exp(float64(v)-m) / s
		}
	}
	return out
}

// TestSoftmaxRows: softmax within 4 ulps (exp's error plus the rounded
// reciprocal and product) plus the relative error of rounding x-max to
// float32 (|w|·ulp(x-max)/2, allowed twice); log-softmax within 4 ulps of
// the result or of x-max, whichever is larger (x-max-ln Σ cancels when an
// entry is near the max).
func TestSoftmaxRows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	shapes := [][2]int{{0, 0}, {1, 1}, {3, 17}, {7, 33}, {64, 1000}, {1, 100003}, {2, 0}}
	forEachPath(t, func(t *testing.T) {
		for _, sh := range shapes {
			rows, cols := sh[0], sh[1]
			x := randSlice(r, rows*cols, 10)
			if len(x) > 3 {
				x[1] = 80 // large logits must not overflow
				x[2] = -1e30
			}
			for _, logOut := range []bool{false, true} {
				f := SoftmaxRows
				if logOut {
					f = LogSoftmaxRows
				}
				out := make([]float32, len(x))
				f(out, x, rows, cols)
				inPlace := append(make([]float32, 0, len(x)), x...)
				f(inPlace, inPlace, rows, cols)
				require.Equal(t, out, inPlace, "in place rows=%d cols=%d log=%v", rows, cols, logOut)
				for i := 0; i < rows; i++ {
					row := x[i*cols : (i+1)*cols]
					want := refSoftmax(row, logOut)
					m := math.Inf(-1)
					for _, v := range row {
						m = max(m, float64(v))
					}
					for j, w := range want {
						got := out[i*cols+j]
						tol := 4*ulpOf(w) + math.Abs(w)*ulpOf(float64(row[j])-m)
						if logOut {
							tol = 4 * max(ulpOf(w), ulpOf(float64(row[j])-w))
						}
						if math.Abs(float64(got)-w) > tol {
							require.LessOrEqual(t, math.Abs(float64(got)-w), tol, "rows=%d cols=%d log=%v [%d,%d] x=%g m=%g got %g want %g", rows, cols, logOut, i, j, row[j], m, got, w)
						}
					}
				}
			}
		}
		// A row of -Inf, or with +Inf, is NaN; one -Inf entry is 0.
		out := make([]float32, 6)
		SoftmaxRows(out, []float32{f32(-inf), f32(-inf), 1, f32(inf), f32(-inf), 0}, 3, 2)
		for _, v := range out[:4] {
			assert.True(t, v != v, "want NaN, got %v", out)
		}
		assert.Equal(t, []float32{0, 1}, out[4:])
	})
}

func TestLengthMismatchPanics(t *testing.T) {
	a, b := make([]float32, 3), make([]float32, 4)
	assert.PanicsWithValue(t, "vmath.Exp: len(dst)=3 != len(x)=4", func() { Exp(a, b) })
	assert.PanicsWithValue(t, "vmath.Add: lengths differ: len(dst)=3, len(a)=3, len(b)=4", func() { Add(a, a, b) })
	assert.PanicsWithValue(t, "vmath.Dot: len(a)=3 != len(b)=4", func() { Dot(a, b) })
	assert.PanicsWithValue(t, "vmath.SoftmaxRows: rows=2 cols=2 need len 4, have len(dst)=3 len(x)=4",
		func() { SoftmaxRows(a, b, 2, 2) })
}

func TestSetPath(t *testing.T) {
	orig := Path()
	defer func() { require.NoError(t, SetPath(orig)) }()
	for _, p := range cpufeat.Available() {
		if pathKernels(p) != nil {
			require.NoError(t, SetPath(p), "every available path is built")
		}
	}
	err := SetPath("sse9")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sse9")
}

// TestNoAllocs: no call allocates, inline or split across the pool.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	for _, n := range []int{100, 1 << 17} {
		x := randSlice(rand.New(rand.NewPCG(7, 8)), n, 2)
		y := make([]float32, n)
		forEachPath(t, func(t *testing.T) {
			ops := map[string]func(){
				"Exp":           func() { Exp(y, x) },
				"Tanh":          func() { Tanh(y, x) },
				"BCE":           func() { BCEWithLogits(y, x, x) },
				"Add":           func() { Add(y, x, x) },
				"Axpy":          func() { Axpy(y, x, 0.5) },
				"Relu":          func() { Relu(y, x) },
				"LeakyRelu":     func() { LeakyRelu(y, x, 0.2) },
				"LeakyReluGrad": func() { LeakyReluGrad(y, x, x, 0.2) },
				"TanhGrad":      func() { TanhGrad(y, x, x) },
				"Sum":           func() { Sum(x) },
				"Dot":           func() { Dot(x, x) },
				"Max":           func() { Max(x) },
				"Softmax":       func() { SoftmaxRows(y, x, 4, n/4) },
				"LogSoftmax":    func() { LogSoftmaxRows(y[:n/100*100], x[:n/100*100], n/100, 100) },
			}
			for name, f := range ops {
				f()
				assert.Zero(t, testing.AllocsPerRun(5, f), "%s n=%d", name, n)
			}
		})
	}
}

// TestSIMDPathsAgree: the SIMD paths run the same generated algorithm with
// one rounding per operation, so they must agree bit for bit; this is why
// the exhaustive accuracy sweep need only run on one of them.
func TestSIMDPathsAgree(t *testing.T) {
	var simd []cpufeat.Path
	for _, p := range builtPaths() {
		if p != cpufeat.Generic {
			simd = append(simd, p)
		}
	}
	if len(simd) < 2 {
		t.Skip("fewer than two SIMD paths on this CPU")
	}
	orig := Path()
	defer func() { require.NoError(t, SetPath(orig)) }()
	for _, c := range unaryCases {
		sweep(c.lo, c.hi, 100003, func(xs []float32) {
			var first []float32
			for _, p := range simd {
				require.NoError(t, SetPath(p))
				out := make([]float32, len(xs))
				c.f(out, xs)
				if first == nil {
					first = out
					continue
				}
				for i := range out {
					if math.Float32bits(out[i]) != math.Float32bits(first[i]) {
						require.Failf(t, "paths disagree", "%s(%g): %s %g, %s %g", c.name, xs[i], simd[0], first[i], p, out[i])
					}
				}
			}
		})
	}
}
