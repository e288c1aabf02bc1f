package gemm

import (
	"sync"

	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/internal/vmath"
)

// A matrix-vector product (n = 1 or m = 1) wastes the blocked algorithm:
// it would pack a whole operand to use one lane of a micro-tile. It runs
// here as dot products or row updates on vmath's vector kernels instead.

// skinny computes a matrix-vector product and reports whether the shape
// was one.
func (im *impl) skinny(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	switch {
	case n == 1:
		// x is column 0 of op(B): B[p·ldb] stored k×n, or B[p] stored n×k.
		inc := ldb
		if transB {
			inc = 1
		}
		gemv(transA, m, k, alpha, a, lda, b, inc, beta, c, ldc)
	case m == 1:
		// Cᵀ = op(B)ᵀ·op(A)ᵀ: C's row as an n×1 column, op(A)'s row as x.
		inc := 1
		if transA {
			inc = lda
		}
		gemv(!transB, n, k, alpha, b, ldb, a, inc, beta, c, 1)
	default:
		return false
	}
	return true
}

// store sets c[i] = v + beta·c[i], not reading c when beta is 0.
func store(c []float32, i int, v, beta float32) {
	if beta != 0 {
		v += beta * c[i]
	}
	c[i] = v
}

var vecs = sync.Pool{New: func() any { return new([]float32) }}

// gemv sets y[i·ldy] = alpha·(op(A)·x)[i] + beta·y[i·ldy] for an m×k op(A)
// and x[p·incx].
func gemv(transA bool, m, k int, alpha float32, a []float32, lda int, x []float32, incx int, beta float32, y []float32, ldy int) {
	buf := vecs.Get().(*[]float32)
	defer vecs.Put(buf)
	if incx != 1 {
		*buf = grow(*buf, k)
		for p := range k {
			(*buf)[p] = x[p*incx]
		}
		x = *buf
	}
	x = x[:k]
	if !transA {
		parallel.For(m, k, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				store(y, i*ldy, alpha*vmath.Dot(a[i*lda:i*lda+k], x), beta)
			}
		})
		return
	}
	// A is stored k×m: op(A)·x = Σ_p x[p]·A[p, :], accumulated a block of
	// columns at a time.
	parallel.For(m, k, 64, func(lo, hi int) {
		var acc [256]float32
		for s := lo; s < hi; s += len(acc) {
			e := min(s+len(acc), hi)
			sum := acc[:e-s]
			clear(sum)
			for p, xp := range x {
				vmath.Axpy(sum, a[p*lda+s:p*lda+e], xp)
			}
			for i, v := range sum {
				store(y, (s+i)*ldy, alpha*v, beta)
			}
		}
	})
}
