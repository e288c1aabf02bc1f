//go:build darwin || linux

package gemm

import (
	"fmt"
	"math"

	"github.com/ebitengine/purego"

	"github.com/ingotml/ingot/internal/cpufeat"
)

// CBLAS enum values (cblas.h).
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// cblasSgemm is cblas_sgemm with 32-bit ints (the LP64 interface):
// void cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc).
// purego places the stack arguments the way each platform's C ABI does
// (packed on darwin/arm64).
type cblasSgemm func(order, transA, transB, m, n, k int32, alpha float32, a *float32, lda int32, b *float32, ldb int32, beta float32, c *float32, ldc int32)

// bindCBLAS loads cblas_sgemm from the shared library at path and returns a
// kernel set named path p that calls it (shapes beyond 32-bit ints fall back
// to the best blocked path). Accelerate uses it on darwin; on linux the tests
// bind a system BLAS to check the binding itself.
func bindCBLAS(p cpufeat.Path, path string) (im *impl, err error) {
	defer func() {
		if r := recover(); r != nil { // purego reports unsupported signatures by panicking
			im, err = nil, fmt.Errorf("gemm: binding cblas_sgemm from %s: %v", path, r)
		}
	}()
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("gemm: loading %s: %w", path, err)
	}
	sym, err := purego.Dlsym(h, "cblas_sgemm")
	if err != nil {
		return nil, fmt.Errorf("gemm: %s has no cblas_sgemm: %w", path, err)
	}
	var sgemm cblasSgemm
	purego.RegisterFunc(&sgemm, sym)

	var fallback *impl
	for _, q := range cpufeat.Available() {
		if fallback = archImpl(q); fallback != nil {
			break
		}
	}
	if fallback == nil {
		fallback, _ = implFor(cpufeat.Generic)
	}
	c := *fallback
	c.path = p
	c.direct = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
		if max(m, n, k, lda, ldb, ldc) > math.MaxInt32 {
			fallback.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
			return
		}
		ta, tb := int32(cblasNoTrans), int32(cblasNoTrans)
		if transA {
			ta = cblasTrans
		}
		if transB {
			tb = cblasTrans
		}
		// m, n, k > 0 and alpha != 0 here, so the slices are non-empty. BLAS
		// does not read C when beta = 0, which is our rule too.
		sgemm(cblasRowMajor, ta, tb, int32(m), int32(n), int32(k), alpha,
			&a[0], int32(lda), &b[0], int32(ldb), beta, &cc[0], int32(ldc))
	}
	return &c, nil
}
