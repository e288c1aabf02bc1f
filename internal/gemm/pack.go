package gemm

// packA packs rows [row, row+rows) × columns [p0, p0+kc) of op(A) into dst as
// one micro-panel: dst[p·mr+i] = op(A)(row+i, p0+p), zero for i >= rows.
func packA(dst, a []float32, lda int, trans bool, row, rows, mr, p0, kc int) {
	dst = dst[:kc*mr]
	if trans {
		// op(A)(i,p) = a[p·lda+i]: each k step is a contiguous run of rows.
		for p := range kc {
			src := a[(p0+p)*lda+row : (p0+p)*lda+row+rows]
			d := dst[p*mr : p*mr+mr]
			copy(d, src)
			clear(d[rows:])
		}
		return
	}
	// op(A)(i,p) = a[i·lda+p]: interleave rows.
	if rows == mr && mr == 6 {
		r0 := a[row*lda+p0 : row*lda+p0+kc]
		r1 := a[(row+1)*lda+p0 : (row+1)*lda+p0+kc]
		r2 := a[(row+2)*lda+p0 : (row+2)*lda+p0+kc]
		r3 := a[(row+3)*lda+p0 : (row+3)*lda+p0+kc]
		r4 := a[(row+4)*lda+p0 : (row+4)*lda+p0+kc]
		r5 := a[(row+5)*lda+p0 : (row+5)*lda+p0+kc]
		r1, r2, r3, r4, r5 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)], r4[:len(r0)], r5[:len(r0)]
		for p, v := range r0 {
			d := (*[6]float32)(dst[p*6:])
			d[0], d[1], d[2], d[3], d[4], d[5] = v, r1[p], r2[p], r3[p], r4[p], r5[p]
		}
		return
	}
	if rows < mr {
		clear(dst)
	}
	for i := range rows {
		src := a[(row+i)*lda+p0 : (row+i)*lda+p0+kc]
		for p, v := range src {
			dst[p*mr+i] = v
		}
	}
}

// packB packs rows [p0, p0+kc) × columns [col, col+cols) of op(B) into dst as
// one micro-panel: dst[p·nr+j] = op(B)(p0+p, col+j), zero for j >= cols.
func packB(dst, b []float32, ldb int, trans bool, col, cols, nr, p0, kc int) {
	dst = dst[:kc*nr]
	if !trans {
		for p := range kc {
			src := b[(p0+p)*ldb+col : (p0+p)*ldb+col+cols]
			d := dst[p*nr : p*nr+nr]
			copy(d, src)
			clear(d[cols:])
		}
		return
	}
	// op(B)(p,j) = b[j·ldb+p]: transpose, four columns at a time.
	if cols < nr {
		clear(dst)
	}
	j := 0
	for ; j+4 <= cols; j += 4 {
		s0 := b[(col+j)*ldb+p0 : (col+j)*ldb+p0+kc]
		s1 := b[(col+j+1)*ldb+p0 : (col+j+1)*ldb+p0+kc]
		s2 := b[(col+j+2)*ldb+p0 : (col+j+2)*ldb+p0+kc]
		s3 := b[(col+j+3)*ldb+p0 : (col+j+3)*ldb+p0+kc]
		for p := range kc {
			d := dst[p*nr+j : p*nr+j+4 : p*nr+j+4]
			d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
	for ; j < cols; j++ {
		src := b[(col+j)*ldb+p0 : (col+j)*ldb+p0+kc]
		for p, v := range src {
			dst[p*nr+j] = v
		}
	}
}
