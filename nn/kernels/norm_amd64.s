#include "textflag.h"

// Batch-norm run kernels (see norm_amd64.go). Rows of l values, row r at
// base + r·stride elements; 8 values per vector step, then a scalar tail.
// Vector sums live in Y8-Y11 (float64 lanes), tail sums in X12/X13 (scalar
// ops zero the upper lanes of their destination, so they keep their own
// registers).

// func bnDevSumsAVX2(x *float32, runs, l, stride int, m float64, out *[2]float64)
TEXT ·bnDevSumsAVX2(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), SI
	MOVQ         runs+8(FP), R8
	MOVQ         l+16(FP), R9
	MOVQ         stride+24(FP), R10
	SHLQ         $2, R10
	VBROADCASTSD m+32(FP), Y15
	MOVQ         out+40(FP), DI
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9
	VXORPD       Y10, Y10, Y10
	VXORPD       Y11, Y11, Y11
	VXORPD       X12, X12, X12
	VXORPD       X13, X13, X13
	MOVQ         R9, R11
	ANDQ         $-8, R11

ds_row:
	TESTQ R8, R8
	JZ    ds_done
	XORQ  BX, BX

ds_vec:
	CMPQ        BX, R11
	JGE         ds_tail
	VCVTPS2PD   (SI)(BX*4), Y0
	VCVTPS2PD   16(SI)(BX*4), Y1
	VSUBPD      Y15, Y0, Y0
	VSUBPD      Y15, Y1, Y1
	VADDPD      Y0, Y8, Y8
	VADDPD      Y1, Y9, Y9
	VFMADD231PD Y0, Y0, Y10
	VFMADD231PD Y1, Y1, Y11
	ADDQ        $8, BX
	JMP         ds_vec

ds_tail:
	CMPQ        BX, R9
	JGE         ds_next
	VMOVSS      (SI)(BX*4), X0
	VCVTSS2SD   X0, X0, X0
	VSUBSD      X15, X0, X0
	VADDSD      X0, X12, X12
	VFMADD231SD X0, X0, X13
	INCQ        BX
	JMP         ds_tail

ds_next:
	ADDQ R10, SI
	DECQ R8
	JMP  ds_row

ds_done:
	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X0
	VADDPD       X0, X8, X8
	VHADDPD      X8, X8, X8
	VADDSD       X12, X8, X8
	VMOVSD       X8, 0(DI)
	VADDPD       Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X1
	VADDPD       X1, X10, X10
	VHADDPD      X10, X10, X10
	VADDSD       X13, X10, X10
	VMOVSD       X10, 8(DI)
	VZEROUPPER
	RET

// func bnGradSumsAVX2(dy, x *float32, runs, l, stride int, m float64, out *[2]float64)
TEXT ·bnGradSumsAVX2(SB), NOSPLIT, $0-56
	MOVQ         dy+0(FP), DX
	MOVQ         x+8(FP), SI
	MOVQ         runs+16(FP), R8
	MOVQ         l+24(FP), R9
	MOVQ         stride+32(FP), R10
	SHLQ         $2, R10
	VBROADCASTSD m+40(FP), Y15
	MOVQ         out+48(FP), DI
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9
	VXORPD       Y10, Y10, Y10
	VXORPD       Y11, Y11, Y11
	VXORPD       X12, X12, X12
	VXORPD       X13, X13, X13
	MOVQ         R9, R11
	ANDQ         $-8, R11

gs_row:
	TESTQ R8, R8
	JZ    gs_done
	XORQ  BX, BX

gs_vec:
	CMPQ        BX, R11
	JGE         gs_tail
	VCVTPS2PD   (DX)(BX*4), Y0
	VCVTPS2PD   16(DX)(BX*4), Y1
	VCVTPS2PD   (SI)(BX*4), Y2
	VCVTPS2PD   16(SI)(BX*4), Y3
	VSUBPD      Y15, Y2, Y2
	VSUBPD      Y15, Y3, Y3
	VADDPD      Y0, Y8, Y8
	VADDPD      Y1, Y9, Y9
	VFMADD231PD Y0, Y2, Y10
	VFMADD231PD Y1, Y3, Y11
	ADDQ        $8, BX
	JMP         gs_vec

gs_tail:
	CMPQ        BX, R9
	JGE         gs_next
	VMOVSS      (DX)(BX*4), X0
	VCVTSS2SD   X0, X0, X0
	VMOVSS      (SI)(BX*4), X2
	VCVTSS2SD   X2, X2, X2
	VSUBSD      X15, X2, X2
	VADDSD      X0, X12, X12
	VFMADD231SD X0, X2, X13
	INCQ        BX
	JMP         gs_tail

gs_next:
	ADDQ R10, DX
	ADDQ R10, SI
	DECQ R8
	JMP  gs_row

gs_done:
	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X0
	VADDPD       X0, X8, X8
	VHADDPD      X8, X8, X8
	VADDSD       X12, X8, X8
	VMOVSD       X8, 0(DI)
	VADDPD       Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X1
	VADDPD       X1, X10, X10
	VHADDPD      X10, X10, X10
	VADDSD       X13, X10, X10
	VMOVSD       X10, 8(DI)
	VZEROUPPER
	RET

// func bnApplyAVX2(y, x *float32, runs, l, stride int, c *[3]float32)
// y = (x − m)·s + b with c = {m, s, b}.
TEXT ·bnApplyAVX2(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         runs+16(FP), R8
	MOVQ         l+24(FP), R9
	MOVQ         stride+32(FP), R10
	SHLQ         $2, R10
	MOVQ         c+40(FP), AX
	VBROADCASTSS 0(AX), Y13
	VBROADCASTSS 4(AX), Y14
	VBROADCASTSS 8(AX), Y15
	MOVQ         R9, R11
	ANDQ         $-8, R11

ap_row:
	TESTQ R8, R8
	JZ    ap_done
	XORQ  BX, BX

ap_vec:
	CMPQ        BX, R11
	JGE         ap_tail
	VMOVUPS     (SI)(BX*4), Y0
	VSUBPS      Y13, Y0, Y0
	VFMADD213PS Y15, Y14, Y0
	VMOVUPS     Y0, (DI)(BX*4)
	ADDQ        $8, BX
	JMP         ap_vec

ap_tail:
	CMPQ        BX, R9
	JGE         ap_next
	VMOVSS      (SI)(BX*4), X0
	VSUBSS      X13, X0, X0
	VFMADD213SS X15, X14, X0
	VMOVSS      X0, (DI)(BX*4)
	INCQ        BX
	JMP         ap_tail

ap_next:
	ADDQ R10, SI
	ADDQ R10, DI
	DECQ R8
	JMP  ap_row

ap_done:
	VZEROUPPER
	RET

// func bnDXAVX2(dx, dy, x *float32, runs, l, stride int, c *[4]float32)
// dx = a·g − (k1 + k·(x − m)) with c = {m, a, k1, k}; g is read before dx
// is written, so they may alias.
TEXT ·bnDXAVX2(SB), NOSPLIT, $0-56
	MOVQ         dx+0(FP), DI
	MOVQ         dy+8(FP), DX
	MOVQ         x+16(FP), SI
	MOVQ         runs+24(FP), R8
	MOVQ         l+32(FP), R9
	MOVQ         stride+40(FP), R10
	SHLQ         $2, R10
	MOVQ         c+48(FP), AX
	VBROADCASTSS 0(AX), Y12
	VBROADCASTSS 4(AX), Y13
	VBROADCASTSS 8(AX), Y14
	VBROADCASTSS 12(AX), Y15
	MOVQ         R9, R11
	ANDQ         $-8, R11

dx_row:
	TESTQ R8, R8
	JZ    dx_done
	XORQ  BX, BX

dx_vec:
	CMPQ        BX, R11
	JGE         dx_tail
	VMOVUPS     (SI)(BX*4), Y0
	VSUBPS      Y12, Y0, Y0
	VFMADD213PS Y14, Y15, Y0
	VMOVUPS     (DX)(BX*4), Y1
	VFMSUB213PS Y0, Y13, Y1
	VMOVUPS     Y1, (DI)(BX*4)
	ADDQ        $8, BX
	JMP         dx_vec

dx_tail:
	CMPQ        BX, R9
	JGE         dx_next
	VMOVSS      (SI)(BX*4), X0
	VSUBSS      X12, X0, X0
	VFMADD213SS X14, X15, X0
	VMOVSS      (DX)(BX*4), X1
	VFMSUB213SS X0, X13, X1
	VMOVSS      X1, (DI)(BX*4)
	INCQ        BX
	JMP         dx_tail

dx_next:
	ADDQ R10, SI
	ADDQ R10, DX
	ADDQ R10, DI
	DECQ R8
	JMP  dx_row

dx_done:
	VZEROUPPER
	RET

// Column kernels for Inner == 1: rows of a [rows, stride] matrix, columns
// [0, w) with w a multiple of 8. The sums walk 8 columns down all rows at a
// time; the element-wise kernels walk each row with per-column constants.

// func bnColDevSumsAVX2(x *float32, rows, w, stride int, m, s, q *float64)
// s[j] = Σ_r (x[r·stride+j] − m[j]), q[j] = Σ_r (x[r·stride+j] − m[j])².
TEXT ·bnColDevSumsAVX2(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ w+16(FP), R9
	MOVQ stride+24(FP), R10
	SHLQ $2, R10
	MOVQ m+32(FP), DX
	MOVQ s+40(FP), DI
	MOVQ q+48(FP), R11
	XORQ BX, BX

cds_col:
	CMPQ    BX, R9
	JGE     cds_done
	VMOVUPD (DX)(BX*8), Y12
	VMOVUPD 32(DX)(BX*8), Y13
	VXORPD  Y8, Y8, Y8
	VXORPD  Y9, Y9, Y9
	VXORPD  Y10, Y10, Y10
	VXORPD  Y11, Y11, Y11
	LEAQ    (SI)(BX*4), AX
	MOVQ    R8, CX

cds_row:
	TESTQ       CX, CX
	JZ          cds_store
	VCVTPS2PD   (AX), Y0
	VCVTPS2PD   16(AX), Y1
	VSUBPD      Y12, Y0, Y0
	VSUBPD      Y13, Y1, Y1
	VADDPD      Y0, Y8, Y8
	VADDPD      Y1, Y9, Y9
	VFMADD231PD Y0, Y0, Y10
	VFMADD231PD Y1, Y1, Y11
	ADDQ        R10, AX
	DECQ        CX
	JMP         cds_row

cds_store:
	VMOVUPD Y8, (DI)(BX*8)
	VMOVUPD Y9, 32(DI)(BX*8)
	VMOVUPD Y10, (R11)(BX*8)
	VMOVUPD Y11, 32(R11)(BX*8)
	ADDQ    $8, BX
	JMP     cds_col

cds_done:
	VZEROUPPER
	RET

// func bnColGradSumsAVX2(dy, x *float32, rows, w, stride int, m, sg, sgd *float64)
// sg[j] = Σ_r dy[r·stride+j], sgd[j] = Σ_r dy[r·stride+j]·(x[r·stride+j] − m[j]).
TEXT ·bnColGradSumsAVX2(SB), NOSPLIT, $0-64
	MOVQ dy+0(FP), DX
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ stride+32(FP), R10
	SHLQ $2, R10
	MOVQ m+40(FP), R12
	MOVQ sg+48(FP), DI
	MOVQ sgd+56(FP), R11
	XORQ BX, BX

cgs_col:
	CMPQ    BX, R9
	JGE     cgs_done
	VMOVUPD (R12)(BX*8), Y12
	VMOVUPD 32(R12)(BX*8), Y13
	VXORPD  Y8, Y8, Y8
	VXORPD  Y9, Y9, Y9
	VXORPD  Y10, Y10, Y10
	VXORPD  Y11, Y11, Y11
	LEAQ    (DX)(BX*4), AX
	LEAQ    (SI)(BX*4), R13
	MOVQ    R8, CX

cgs_row:
	TESTQ       CX, CX
	JZ          cgs_store
	VCVTPS2PD   (AX), Y0
	VCVTPS2PD   16(AX), Y1
	VCVTPS2PD   (R13), Y2
	VCVTPS2PD   16(R13), Y3
	VSUBPD      Y12, Y2, Y2
	VSUBPD      Y13, Y3, Y3
	VADDPD      Y0, Y8, Y8
	VADDPD      Y1, Y9, Y9
	VFMADD231PD Y0, Y2, Y10
	VFMADD231PD Y1, Y3, Y11
	ADDQ        R10, AX
	ADDQ        R10, R13
	DECQ        CX
	JMP         cgs_row

cgs_store:
	VMOVUPD Y8, (DI)(BX*8)
	VMOVUPD Y9, 32(DI)(BX*8)
	VMOVUPD Y10, (R11)(BX*8)
	VMOVUPD Y11, 32(R11)(BX*8)
	ADDQ    $8, BX
	JMP     cgs_col

cgs_done:
	VZEROUPPER
	RET

// func bnColApplyAVX2(y, x *float32, rows, w, stride int, m, s, b *float32)
// y[r·stride+j] = (x[r·stride+j] − m[j])·s[j] + b[j].
TEXT ·bnColApplyAVX2(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ stride+32(FP), R10
	SHLQ $2, R10
	MOVQ m+40(FP), R11
	MOVQ s+48(FP), R12
	MOVQ b+56(FP), R13

cap_row:
	TESTQ R8, R8
	JZ    cap_done
	XORQ  BX, BX

cap_col:
	CMPQ        BX, R9
	JGE         cap_next
	VMOVUPS     (SI)(BX*4), Y0
	VSUBPS      (R11)(BX*4), Y0, Y0
	VMOVUPS     (R12)(BX*4), Y1
	VFMADD213PS (R13)(BX*4), Y1, Y0
	VMOVUPS     Y0, (DI)(BX*4)
	ADDQ        $8, BX
	JMP         cap_col

cap_next:
	ADDQ R10, SI
	ADDQ R10, DI
	DECQ R8
	JMP  cap_row

cap_done:
	VZEROUPPER
	RET

// func bnColDXAVX2(dx, dy, x *float32, rows, w, stride int, m, a, k1, k *float32)
// dx = a[j]·dy − (k1[j] + k[j]·(x − m[j])); dy is read before dx is written.
TEXT ·bnColDXAVX2(SB), NOSPLIT, $0-80
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ rows+24(FP), R8
	MOVQ w+32(FP), R9
	MOVQ stride+40(FP), R10
	SHLQ $2, R10
	MOVQ m+48(FP), R11
	MOVQ a+56(FP), R12
	MOVQ k1+64(FP), R13
	MOVQ k+72(FP), AX

cdx_row:
	TESTQ R8, R8
	JZ    cdx_done
	XORQ  BX, BX

cdx_col:
	CMPQ        BX, R9
	JGE         cdx_next
	VMOVUPS     (SI)(BX*4), Y0
	VSUBPS      (R11)(BX*4), Y0, Y0
	VMOVUPS     (AX)(BX*4), Y1
	VFMADD213PS (R13)(BX*4), Y1, Y0
	VMOVUPS     (DX)(BX*4), Y2
	VMOVUPS     (R12)(BX*4), Y3
	VFMSUB213PS Y0, Y3, Y2
	VMOVUPS     Y2, (DI)(BX*4)
	ADDQ        $8, BX
	JMP         cdx_col

cdx_next:
	ADDQ R10, SI
	ADDQ R10, DX
	ADDQ R10, DI
	DECQ R8
	JMP  cdx_row

cdx_done:
	VZEROUPPER
	RET
