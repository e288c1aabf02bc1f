// Package gemm owns ingot's CPU single-precision matrix multiply: a packed,
// cache-blocked SGEMM in the style of Goto and BLIS with register-blocked
// micro-kernels in Go assembly (amd64 AVX-512 and AVX2+FMA, arm64 NEON), a
// portable Go kernel, and on darwin Apple's Accelerate cblas_sgemm.
//
// Blocking. The micro-kernels vectorise along N (the contiguous dimension of
// row-major C) and broadcast elements of A, so the Goto/BLIS roles of A and B
// are swapped: per chunk of rows (at most 4096 rows and 32 MiB), op(A) is
// packed once into MR-row micro-panels, all K slices (KC each), shared by the
// workers; each worker then owns a range of C's columns and, per block of NC
// columns and K slice, packs a KC×NC block of op(B) (sized for L2) and runs
// the MR×NR kernel for every A micro-panel (kept in L1) over the block's B
// micro-panels (streamed from L2). Edge tiles run through the same kernels:
// packing pads with zeros, and AVX-512 stores with lane masks and a row count,
// the others through a small tile buffer. MR, NR, KC and NC per path, and how
// they follow the caches, are documented at archImpl.
//
// Matrices are row-major (like cblas with CblasRowMajor). The kernel path is
// chosen once from the CPU (internal/cpufeat; INGOT_CPU forces one) and can be
// changed with SetPath. Work above a size threshold is split over the output
// on the persistent worker pool of internal/parallel, whose thread count
// (parallel.SetThreads) bounds the parallelism.
//
// All functions are safe for concurrent use. Packing buffers live in pooled
// per-call state, so a call allocates nothing once warm.
package gemm

import (
	"fmt"
	"sync/atomic"

	"github.com/ingotml/ingot/internal/cpufeat"
)

// cur is the kernel set in use.
var cur atomic.Pointer[impl]

func init() {
	p, _ := cpufeat.Choose() // an invalid INGOT_CPU falls back to the best path
	if err := SetPath(p); err != nil {
		// e.g. Accelerate listed but not loadable: take the next one that works.
		for _, q := range cpufeat.Available() {
			if SetPath(q) == nil {
				break
			}
		}
	}
}

// Path reports the kernel path in use.
func Path() cpufeat.Path { return cur.Load().path }

// SetPath forces a kernel path (for tests and benchmarks). It returns an
// error, leaving the path unchanged, if this machine cannot run p.
func SetPath(p cpufeat.Path) error {
	if !cpufeat.Has(p) {
		return fmt.Errorf("gemm: path %q not available on this CPU (available: %v)", p, cpufeat.Available())
	}
	im, err := implFor(p)
	if err != nil {
		return err
	}
	cur.Store(im)
	return nil
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C, where op(X) is X or its
// transpose, op(A) is m×k, op(B) is k×n and C is m×n, all row-major with
// leading dimensions lda, ldb, ldc. With beta = 0, C is only written (NaN or
// Inf already in C do not propagate). It panics if a slice is too short for
// its shape and leading dimension.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check("Sgemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	cur.Load().sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmBatched performs batch independent Sgemm calls; matrix i of each
// operand starts at a[i*strideA:], b[i*strideB:] and c[i*strideC:]. A stride
// of 0 broadcasts that operand to every call (not allowed for C unless
// batch <= 1, since the results would overwrite each other).
func SgemmBatched(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int, batch int) {
	if batch < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		panic(fmt.Sprintf("gemm: SgemmBatched: negative batch %d or stride (A %d, B %d, C %d)", batch, strideA, strideB, strideC))
	}
	if batch == 0 {
		return
	}
	if batch > 1 && strideC == 0 && m > 0 && n > 0 {
		panic("gemm: SgemmBatched: strideC = 0 with batch > 1 would write every result to the same C")
	}
	last := batch - 1
	check("SgemmBatched", transA, transB, m, n, k, tail(a, last*strideA, "A"), lda, tail(b, last*strideB, "B"), ldb, tail(c, last*strideC, "C"), ldc)
	im := cur.Load()
	for i := range batch {
		im.sgemm(transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, c[i*strideC:], ldc)
	}
}

func tail(x []float32, off int, name string) []float32 {
	if off > len(x) {
		panic(fmt.Sprintf("gemm: SgemmBatched: %s has %d elements, last batch starts at %d", name, len(x), off))
	}
	return x[off:]
}

// check panics with the shapes if an operand does not fit its slice.
func check(fn string, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: %s: negative dimension m=%d n=%d k=%d", fn, m, n, k))
	}
	// stored shapes (rows × cols) of A and B
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	operand(fn, "A", transA, ar, ac, a, lda, m, n, k)
	operand(fn, "B", transB, br, bc, b, ldb, m, n, k)
	operand(fn, "C", false, m, n, c, ldc, m, n, k)
}

func operand(fn, name string, trans bool, rows, cols int, x []float32, ld int, m, n, k int) {
	t := ""
	if trans {
		t = " (transposed)"
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: %s m=%d n=%d k=%d: ld%s=%d < %d columns of stored %s %d×%d%s",
			fn, m, n, k, lowerName(name), ld, cols, name, rows, cols, t))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("gemm: %s m=%d n=%d k=%d: %s is %d×%d%s with ld%s=%d and needs %d elements, has %d",
			fn, m, n, k, name, rows, cols, t, lowerName(name), ld, need, len(x)))
	}
}

func lowerName(s string) string { return string(s[0] + 'a' - 'A') }
