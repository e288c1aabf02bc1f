package tensor

// sgemmBatched is the CPU GEMM. TODO(lead): switch to internal/gemm once it lands.
func sgemmBatched(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int, batch int) {
	for bi := range batch {
		A, B, C := a[bi*strideA:], b[bi*strideB:], c[bi*strideC:]
		forRange(m, n*k+1, func(lo, hi int) {
			row := make([]float32, n)
			for i := lo; i < hi; i++ {
				clear(row)
				for p := range k {
					var av float32
					if transA {
						av = A[p*lda+i]
					} else {
						av = A[i*lda+p]
					}
					if av == 0 {
						continue
					}
					if transB {
						for j := range n {
							row[j] += av * B[j*ldb+p]
						}
					} else {
						bp := B[p*ldb : p*ldb+n]
						for j, bv := range bp {
							row[j] += av * bv
						}
					}
				}
				cr := C[i*ldc : i*ldc+n]
				for j := range cr {
					if beta == 0 {
						cr[j] = alpha * row[j]
					} else {
						cr[j] = alpha*row[j] + beta*cr[j]
					}
				}
			}
		})
	}
}
