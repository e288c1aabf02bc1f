#include "textflag.h"

// Strided row copies for im2col (gather) and col2im (scatter): see
// rows_amd64.go. Each row is done in chunks of a fixed number of outputs
// (16 for step 1 on AVX-512, else as the plan says); the last chunk of a
// row uses masks made once per call, so that only the elements the Go loops
// touch are read or written (masked-off lanes never fault). Sums are
// src + dst, the operand order of the compiled Go loop, so even the NaN a
// sum of two NaNs returns is the same.
//
// Registers: DI dst, SI src, R8 rows left, R9 ow, R10 row stride in bytes,
// R11 full chunks per row, R12 outputs in the last chunk (0: none),
// BX the strided side's cursor within a row.

// tailMask sets AX = 1<<CX - 1 (CX < 32).
#define tailMask \
	MOVL $1, AX \
	SHLL CX, AX \
	DECL AX

#define prologue \
	MOVQ dst+0(FP), DI \
	MOVQ src+8(FP), SI \
	MOVQ oh+16(FP), R8 \
	MOVQ ow+24(FP), R9 \
	MOVQ rowStep+32(FP), R10 \
	SHLQ $2, R10 \
	MOVQ R9, R11 \
	SHRQ $4, R11 \
	MOVQ R9, R12 \
	ANDQ $15, R12 \
	MOVQ R12, CX \
	tailMask \
	KMOVW AX, K1

#define permPrologue \
	MOVQ  dst+0(FP), DI \
	MOVQ  src+8(FP), SI \
	MOVQ  oh+16(FP), R8 \
	MOVQ  rowStep+24(FP), R10 \
	SHLQ  $2, R10 \
	MOVQ  full+32(FP), R11 \
	MOVQ  tail+40(FP), R12 \
	MOVQ  p+48(FP), DX \
	MOVQ  192(DX), R13 \
	MOVQ  200(DX), R14 \
	MOVQ  fullMasks+56(FP), AX \
	KMOVW AX, K1 \
	SHRQ  $16, AX \
	KMOVW AX, K2 \
	SHRQ  $16, AX \
	KMOVW AX, K3 \
	MOVQ  tailMasks+64(FP), AX \
	KMOVW AX, K4 \
	SHRQ  $16, AX \
	KMOVW AX, K5 \
	SHRQ  $16, AX \
	KMOVW AX, K6

// avx2Prologue loads the common registers of the AVX2 kernels and the
// masks: Y13, Y12 a full chunk's lo/hi strided masks, Y8 its outputs;
// Y11, Y10, Y9 the same for the last chunk (gather: G = 0, scatter: G = 64).
#define avx2Prologue(G) \
	MOVQ    dst+0(FP), DI \
	MOVQ    src+8(FP), SI \
	MOVQ    oh+16(FP), R8 \
	MOVQ    rowStep+24(FP), R10 \
	SHLQ    $2, R10 \
	MOVQ    full+32(FP), R11 \
	MOVQ    tail+40(FP), R12 \
	MOVQ    p+48(FP), DX \
	MOVQ    128(DX), R13 \
	MOVQ    136(DX), R14 \
	MOVQ    fm+56(FP), AX \
	VMOVUPS G(AX), Y13 \
	VMOVUPS G+32(AX), Y12 \
	VMOVUPS 128(AX), Y8 \
	MOVQ    tm+64(FP), AX \
	VMOVUPS G(AX), Y11 \
	VMOVUPS G+32(AX), Y10 \
	VMOVUPS 128(AX), Y9

// func gatherRows1AVX512(dst, src *float32, oh, ow, rowStep int)
// K1: last chunk's outputs.
TEXT ·gatherRows1AVX512(SB), NOSPLIT, $0-40
	prologue

row:
	MOVQ  SI, BX
	MOVQ  R11, CX
	TESTQ CX, CX
	JZ    tail

full:
	VMOVUPS (BX), Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, BX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     full

tail:
	TESTQ     R12, R12
	JZ        next
	VMOVUPS.Z (BX), K1, Z0
	VMOVUPS   Z0, K1, (DI)
	LEAQ      (DI)(R12*4), DI

next:
	ADDQ R10, SI
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET

// func scatterRows1AVX512(dst, src *float32, oh, ow, rowStep int)
// K1: last chunk's outputs.
TEXT ·scatterRows1AVX512(SB), NOSPLIT, $0-40
	prologue

row:
	MOVQ  DI, BX
	MOVQ  R11, CX
	TESTQ CX, CX
	JZ    tail

full:
	VMOVUPS (SI), Z0
	VADDPS  (BX), Z0, Z0
	VMOVUPS Z0, (BX)
	ADDQ    $64, SI
	ADDQ    $64, BX
	DECQ    CX
	JNZ     full

tail:
	TESTQ     R12, R12
	JZ        next
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (BX), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (BX)
	LEAQ      (SI)(R12*4), SI

next:
	ADDQ R10, DI
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET

// The strided kernels for steps s ≥ 2 work in chunks of c outputs, c the
// most (≤ 16) whose span (c−1)·s+1 fits in 32 elements: the span is read
// as two masked halves (Z0, Z1) and
//   gather: VPERMT2PS picks lanes j·s (the plan's idx) into the outputs;
//   scatter: VPERMPS spreads the sources to lanes j·s of each half (dupLo,
//            dupHi), which are added and stored back to those lanes only.
// The masks come from the caller packed as out | lo<<16 | hi<<32, for a
// full chunk (K1, K2, K3) and the row's last partial one (K4, K5, K6):
// out the chunk's contiguous elements, lo/hi the strided ones to load (all
// of the span for gather, the lanes j·s for scatter).
//
// Registers beyond the common ones: R11 full chunks per row, R12 outputs in
// the last chunk, R13 a chunk's strided stride in bytes, R14 its contiguous
// stride in bytes.

// func gatherRowsPermAVX512(dst, src *float32, oh, rowStep, full, tail int, p *rowsPlan, fullMasks, tailMasks uint64)
TEXT ·gatherRowsPermAVX512(SB), NOSPLIT, $0-72
	permPrologue
	VMOVUPS 0(DX), Z31 // idx

row:
	MOVQ  SI, BX
	MOVQ  R11, CX
	TESTQ CX, CX
	JZ    tail

full:
	VMOVUPS.Z (BX), K2, Z0
	VMOVUPS.Z 64(BX), K3, Z1
	VPERMT2PS Z1, Z31, Z0
	VMOVUPS   Z0, K1, (DI)
	ADDQ      R13, BX
	ADDQ      R14, DI
	DECQ      CX
	JNZ       full

tail:
	TESTQ     R12, R12
	JZ        next
	VMOVUPS.Z (BX), K5, Z0
	VMOVUPS.Z 64(BX), K6, Z1
	VPERMT2PS Z1, Z31, Z0
	VMOVUPS   Z0, K4, (DI)
	LEAQ      (DI)(R12*4), DI

next:
	ADDQ R10, SI
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET

// func scatterRowsPermAVX512(dst, src *float32, oh, rowStep, full, tail int, p *rowsPlan, fullMasks, tailMasks uint64)
TEXT ·scatterRowsPermAVX512(SB), NOSPLIT, $0-72
	permPrologue
	VMOVUPS 64(DX), Z30  // dupLo
	VMOVUPS 128(DX), Z31 // dupHi

row:
	MOVQ  DI, BX
	MOVQ  R11, CX
	TESTQ CX, CX
	JZ    tail

full:
	VMOVUPS.Z (SI), K1, Z0
	VPERMPS   Z0, Z30, Z1
	VPERMPS   Z0, Z31, Z2
	VMOVUPS.Z (BX), K2, Z3
	VMOVUPS.Z 64(BX), K3, Z4
	VADDPS    Z3, Z1, Z3
	VADDPS    Z4, Z2, Z4
	VMOVUPS   Z3, K2, (BX)
	VMOVUPS   Z4, K3, 64(BX)
	ADDQ      R14, SI
	ADDQ      R13, BX
	DECQ      CX
	JNZ       full

tail:
	TESTQ     R12, R12
	JZ        next
	VMOVUPS.Z (SI), K4, Z0
	VPERMPS   Z0, Z30, Z1
	VPERMPS   Z0, Z31, Z2
	VMOVUPS.Z (BX), K5, Z3
	VMOVUPS.Z 64(BX), K6, Z4
	VADDPS    Z3, Z1, Z3
	VADDPS    Z4, Z2, Z4
	VMOVUPS   Z3, K5, (BX)
	VMOVUPS   Z4, K6, 64(BX)
	LEAQ      (SI)(R12*4), SI

next:
	ADDQ R10, DI
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET

// The AVX2 kernels work like the permuting AVX-512 ones, on chunks of c ≤ 8
// outputs spanning ≤ 16 elements (two halves of 8), for every step s ≥ 1,
// with VMASKMOVPS for the masked loads and stores and a blend for the
// two-table permute. The plan (rowsPlan2) and masks (rowsMasks2) come from
// the caller; see rows_amd64.go.

// func gatherRowsPermAVX2(dst, src *float32, oh, rowStep, full, tail int, p *rowsPlan2, fm, tm *rowsMasks2)
TEXT ·gatherRowsPermAVX2(SB), NOSPLIT, $0-72
	avx2Prologue(0)
	VMOVUPS 0(DX), Y15  // idx: j·s
	VMOVUPS 32(DX), Y14 // sel: j·s ≥ 8, from the upper half

row:
	MOVQ  SI, BX
	MOVQ  R11, CX
	TESTQ CX, CX
	JZ    tail

full:
	VMASKMOVPS (BX), Y13, Y0
	VMASKMOVPS 32(BX), Y12, Y1
	VPERMPS    Y0, Y15, Y0
	VPERMPS    Y1, Y15, Y1
	VBLENDVPS  Y14, Y1, Y0, Y0
	VMASKMOVPS Y0, Y8, (DI)
	ADDQ       R13, BX
	ADDQ       R14, DI
	DECQ       CX
	JNZ        full

tail:
	TESTQ      R12, R12
	JZ         next
	VMASKMOVPS (BX), Y11, Y0
	VMASKMOVPS 32(BX), Y10, Y1
	VPERMPS    Y0, Y15, Y0
	VPERMPS    Y1, Y15, Y1
	VBLENDVPS  Y14, Y1, Y0, Y0
	VMASKMOVPS Y0, Y9, (DI)
	LEAQ       (DI)(R12*4), DI

next:
	ADDQ R10, SI
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET

// func scatterRowsPermAVX2(dst, src *float32, oh, rowStep, full, tail int, p *rowsPlan2, fm, tm *rowsMasks2)
TEXT ·scatterRowsPermAVX2(SB), NOSPLIT, $0-72
	avx2Prologue(64)
	VMOVUPS 64(DX), Y15 // dupLo: l/s
	VMOVUPS 96(DX), Y14 // dupHi: (8+l)/s

row:
	MOVQ  DI, BX
	MOVQ  R11, CX
	TESTQ CX, CX
	JZ    tail

full:
	VMASKMOVPS (SI), Y8, Y0
	VPERMPS    Y0, Y15, Y1
	VPERMPS    Y0, Y14, Y2
	VMASKMOVPS (BX), Y13, Y3
	VMASKMOVPS 32(BX), Y12, Y4
	VADDPS     Y3, Y1, Y3
	VADDPS     Y4, Y2, Y4
	VMASKMOVPS Y3, Y13, (BX)
	VMASKMOVPS Y4, Y12, 32(BX)
	ADDQ       R14, SI
	ADDQ       R13, BX
	DECQ       CX
	JNZ        full

tail:
	TESTQ      R12, R12
	JZ         next
	VMASKMOVPS (SI), Y9, Y0
	VPERMPS    Y0, Y15, Y1
	VPERMPS    Y0, Y14, Y2
	VMASKMOVPS (BX), Y11, Y3
	VMASKMOVPS 32(BX), Y10, Y4
	VADDPS     Y3, Y1, Y3
	VADDPS     Y4, Y2, Y4
	VMASKMOVPS Y3, Y11, (BX)
	VMASKMOVPS Y4, Y10, 32(BX)
	LEAQ       (SI)(R12*4), SI

next:
	ADDQ R10, DI
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET
