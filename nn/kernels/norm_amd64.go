package kernels

import "github.com/ingotml/ingot/internal/cpufeat"

// The batch-norm run kernels in AVX2+FMA assembly (norm_amd64.s). Each
// walks `runs` rows of l float32 values, row r starting `stride` elements
// after row r−1, so one call covers a whole channel of an [Outer, C, Inner]
// tensor: no per-run call or horizontal reduction. The sums are taken in
// float64 lanes (exact float32→float64 conversions, products exact before
// the FMA's single rounding).

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
