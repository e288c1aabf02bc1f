#include "textflag.h"

// func adamAVX512(param, grad, m, v *float32, n int, c *adamConsts)
// The plain Adam update (no weight decay, no AMSGrad) on n elements, n a
// multiple of 16, with every product, quotient, sum and square root rounded
// to float32 on its own — the same operations, in the same order, as the
// scalar loop in optim_cpu.go, so results are bit-identical.
TEXT ·adamAVX512(SB), NOSPLIT, $0-48
	MOVQ param+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Z20  // beta1
	VBROADCASTSS 4(AX), Z21  // 1 - beta1
	VBROADCASTSS 8(AX), Z22  // beta2
	VBROADCASTSS 12(AX), Z23 // 1 - beta2
	VBROADCASTSS 16(AX), Z24 // bias correction 2, square-rooted
	VBROADCASTSS 20(AX), Z25 // eps
	VBROADCASTSS 24(AX), Z26 // -step size
	XORQ BX, BX

loop:
	CMPQ BX, CX
	JGE  done
	VMOVUPS (SI)(BX*4), Z0   // g
	VMOVUPS (R8)(BX*4), Z1
	VMULPS  Z20, Z1, Z1      // m·β1
	VMULPS  Z21, Z0, Z2      // g·(1−β1)
	VADDPS  Z2, Z1, Z1       // m
	VMOVUPS Z1, (R8)(BX*4)
	VMOVUPS (R9)(BX*4), Z3
	VMULPS  Z22, Z3, Z3      // v·β2
	VMULPS  Z23, Z0, Z4      // (1−β2)·g
	VMULPS  Z0, Z4, Z4       // ·g
	VADDPS  Z4, Z3, Z3       // v
	VMOVUPS Z3, (R9)(BX*4)
	VSQRTPS Z3, Z5
	VDIVPS  Z24, Z5, Z5      // √v / bc2
	VADDPS  Z25, Z5, Z5      // + eps
	VMULPS  Z26, Z1, Z6      // −step·m
	VDIVPS  Z5, Z6, Z6       // / denom
	VMOVUPS (DI)(BX*4), Z7
	VADDPS  Z6, Z7, Z7
	VMOVUPS Z7, (DI)(BX*4)
	ADDQ    $16, BX
	JMP     loop

done:
	VZEROUPPER
	RET
