package kernels

import "github.com/ingotml/ingot/internal/cpufeat"

// The batch-norm kernels in AVX2+FMA assembly (norm_amd64.s). The run
// kernels walk `runs` rows of l float32 values, row r starting `stride`
// elements after row r−1, so one call covers a whole channel of an
// [Outer, C, Inner] tensor: no per-run call or horizontal reduction. The
// column kernels (Inner == 1) walk the rows of a [rows, stride] matrix
// with per-column sums or constants. Sums are taken in float64 lanes
// (exact float32→float64 conversions, products exact before the FMA's
// single rounding).

//go:noescape
func bnDevSumsAVX2(x *float32, runs, l, stride int, m float64, out *[2]float64)

//go:noescape
func bnGradSumsAVX2(dy, x *float32, runs, l, stride int, m float64, out *[2]float64)

//go:noescape
func bnApplyAVX2(y, x *float32, runs, l, stride int, c *[3]float32)

//go:noescape
func bnDXAVX2(dx, dy, x *float32, runs, l, stride int, c *[4]float32)

// bnUseVector reports whether the run kernels may run: the CPU kernel path
// (INGOT_CPU or the best the CPU has) is AVX-512 or AVX2 (both have FMA).
var bnUseVector = func() bool {
	p, _ := cpufeat.Choose()
	return p == cpufeat.AVX512 || p == cpufeat.AVX2
}()

// bnRuns checks that runs rows of l values with the given stride lie in
// each of vs and returns their first elements.
func bnRuns(runs, l, stride int, vs ...[]float32) {
	for _, v := range vs {
		_ = v[:(runs-1)*stride+l]
	}
}

// bnDevSumsRuns returns Σ(x−m) and Σ(x−m)² over the runs.
func bnDevSumsRuns(x []float32, runs, l, stride int, m float64) (s, q float64) {
	bnRuns(runs, l, stride, x)
	var out [2]float64
	bnDevSumsAVX2(&x[0], runs, l, stride, m, &out)
	return out[0], out[1]
}

// bnGradSumsRuns returns Σg and Σg·(x−m) over the runs.
func bnGradSumsRuns(g, x []float32, runs, l, stride int, m float64) (sg, sgd float64) {
	bnRuns(runs, l, stride, g, x)
	var out [2]float64
	bnGradSumsAVX2(&g[0], &x[0], runs, l, stride, m, &out)
	return out[0], out[1]
}

// bnApplyRuns sets y = (x − m)·s + b over the runs.
func bnApplyRuns(y, x []float32, runs, l, stride int, m, s, b float32) {
	bnRuns(runs, l, stride, y, x)
	c := [3]float32{m, s, b}
	bnApplyAVX2(&y[0], &x[0], runs, l, stride, &c)
}

// bnDXRuns sets dx = a·g − (k1 + k·(x − m)) over the runs.
func bnDXRuns(dx, g, x []float32, runs, l, stride int, m, a, k1, k float32) {
	bnRuns(runs, l, stride, dx, g, x)
	c := [4]float32{m, a, k1, k}
	bnDXAVX2(&dx[0], &g[0], &x[0], runs, l, stride, &c)
}

//go:noescape
func bnColDevSumsAVX2(x *float32, rows, w, stride int, m, s, q *float64)

//go:noescape
func bnColGradSumsAVX2(dy, x *float32, rows, w, stride int, m, sg, sgd *float64)

//go:noescape
func bnColApplyAVX2(y, x *float32, rows, w, stride int, m, s, b *float32)

//go:noescape
func bnColDXAVX2(dx, dy, x *float32, rows, w, stride int, m, a, k1, k *float32)

// bnColVector is how many leading columns of a w-column panel the column
// kernels take (a multiple of 8); the caller does the rest.
func bnColVector(w int) int { return w &^ 7 }

// bnColDevSums sets s[j] = Σ(x−m[j]) and q[j] = Σ(x−m[j])² for the
// columns j < len(m) (a multiple of 8) of rows rows with the given stride.
func bnColDevSums(x []float32, rows, stride int, m, s, q []float64) {
	w := len(m)
	bnRuns(rows, w, stride, x)
	_, _ = s[:w], q[:w]
	bnColDevSumsAVX2(&x[0], rows, w, stride, &m[0], &s[0], &q[0])
}

// bnColGradSums sets sg[j] = Σ dy and sgd[j] = Σ dy·(x−m[j]).
func bnColGradSums(dy, x []float32, rows, stride int, m, sg, sgd []float64) {
	w := len(m)
	bnRuns(rows, w, stride, dy, x)
	_, _ = sg[:w], sgd[:w]
	bnColGradSumsAVX2(&dy[0], &x[0], rows, w, stride, &m[0], &sg[0], &sgd[0])
}

// bnColApply sets y = (x − m[j])·s[j] + b[j].
func bnColApply(y, x []float32, rows, stride int, m, s, b []float32) {
	w := len(m)
	bnRuns(rows, w, stride, y, x)
	_, _ = s[:w], b[:w]
	bnColApplyAVX2(&y[0], &x[0], rows, w, stride, &m[0], &s[0], &b[0])
}

// bnColDX sets dx = a[j]·dy − (k1[j] + k[j]·(x − m[j])).
func bnColDX(dx, dy, x []float32, rows, stride int, m, a, k1, k []float32) {
	w := len(m)
	bnRuns(rows, w, stride, dx, dy, x)
	_, _, _ = a[:w], k1[:w], k[:w]
	bnColDXAVX2(&dx[0], &dy[0], &x[0], rows, w, stride, &m[0], &a[0], &k1[0], &k[0])
}
