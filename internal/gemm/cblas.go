package gemm

import (
	"math"

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

// cblasImpl returns a kernel set named p that calls sgemm (a cblas_sgemm
// bound with purego); shapes beyond 32-bit ints fall back to the best
// blocked path. Accelerate uses it on darwin; on linux the tests bind the
// system BLAS to check the binding itself. This file does not import purego,
// so Linux binaries stay free of its dynamic-loading support.
func cblasImpl(p cpufeat.Path, sgemm cblasSgemm) *impl {
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
	return &c
}
