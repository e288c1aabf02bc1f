package gemm

import "unsafe"

// Portable micro-kernel: a 4×4 register tile in plain Go.
const (
	genericMR = 4
	genericNR = 4
)

func kernGeneric(kc int, a, b, c *float32, ldc int, alpha, beta float32, load, mr, nr int) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	pa, pb := unsafe.Pointer(a), unsafe.Pointer(b)
	// The caller guarantees kc·4 floats behind a and b; array pointers
	// avoid a bounds check per element.
	for p := range kc {
		ap := (*[4]float32)(unsafe.Add(pa, p*16))
		bp := (*[4]float32)(unsafe.Add(pb, p*16))
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	t := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
	cs := unsafe.Slice(c, (mr-1)*ldc+nr)
	mergeTile(t[:], 4, cs, ldc, mr, nr, alpha, beta, load)
}
