//go:build darwin

package gemm

import (
	"fmt"
	"math"
	"sync"

	"github.com/ebitengine/purego"

	"github.com/ingotml/ingot/internal/cpufeat"
)

// Accelerate's cblas_sgemm, loaded with purego (no cgo). On Apple silicon it
// runs on the AMX units, far beyond what NEON reaches; it manages its own
// threads, so parallel.Threads does not bound it.
const acceleratePath = "/System/Library/Frameworks/Accelerate.framework/Accelerate"

// CBLAS enum values (cblas.h).
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

var accel struct {
	once sync.Once
	err  error
	// void cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
	// with 32-bit ints (the LP64 interface); purego packs the stack arguments
	// the Darwin arm64 way.
	sgemm func(order, transA, transB, m, n, k int32, alpha float32, a *float32, lda int32, b *float32, ldb int32, beta float32, c *float32, ldc int32)
}

func loadAccelerate() (err error) {
	accel.once.Do(func() {
		defer func() {
			if r := recover(); r != nil { // purego reports unsupported signatures by panicking
				accel.err = fmt.Errorf("gemm: binding cblas_sgemm from Accelerate: %v", r)
			}
		}()
		h, err := purego.Dlopen(acceleratePath, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			accel.err = fmt.Errorf("gemm: loading Accelerate (%s): %w", acceleratePath, err)
			return
		}
		sym, err := purego.Dlsym(h, "cblas_sgemm")
		if err != nil {
			accel.err = fmt.Errorf("gemm: Accelerate has no cblas_sgemm: %w", err)
			return
		}
		purego.RegisterFunc(&accel.sgemm, sym)
	})
	return accel.err
}

func accelerateImpl() (*impl, error) {
	if err := loadAccelerate(); err != nil {
		return nil, err
	}
	// Shapes beyond 32-bit ints (not realistic, but not an excuse to be
	// wrong) go to the best blocked path instead.
	var fallback *impl
	for _, p := range cpufeat.Available() {
		if p != cpufeat.Accelerate {
			if im := archImpl(p); im != nil {
				fallback = im
				break
			}
		}
	}
	if fallback == nil {
		fallback, _ = implFor(cpufeat.Generic)
	}
	im := *fallback
	im.path = cpufeat.Accelerate
	im.direct = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if max(m, n, k, lda, ldb, ldc) > math.MaxInt32 {
			fallback.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		}
		ta, tb := int32(cblasNoTrans), int32(cblasNoTrans)
		if transA {
			ta = cblasTrans
		}
		if transB {
			tb = cblasTrans
		}
		// BLAS reads C when beta != 0 only, which matches our beta = 0 rule;
		// m, n, k > 0 here, so the slices are non-empty.
		accel.sgemm(cblasRowMajor, ta, tb, int32(m), int32(n), int32(k), alpha,
			&a[0], int32(lda), &b[0], int32(ldb), beta, &c[0], int32(ldc))
	}
	return &im, nil
}
