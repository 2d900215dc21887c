#include "textflag.h"

// func adamAVX(w, grad, m, v *float32, n int, k *adamConsts)
// Requires AVX; n is a multiple of 8. For each element, as adamStepGo:
//   m1 = m·β1 + g·(1−β1)          v1 = v·β2 + (g·g)·(1−β2)
//   w += (m1·c1·(−η)) / (sqrt(v1·c2) + ε)    g = 0
// each product, sum, quotient and root rounded to float32, no fused
// multiply-adds.
TEXT ·adamAVX(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // β1
	VBROADCASTSS 4(AX), Y9   // 1−β1
	VBROADCASTSS 8(AX), Y10  // β2
	VBROADCASTSS 12(AX), Y11 // 1−β2
	VBROADCASTSS 16(AX), Y12 // c1
	VBROADCASTSS 20(AX), Y13 // c2
	VBROADCASTSS 24(AX), Y14 // ε
	VBROADCASTSS 28(AX), Y15 // −η
	VXORPS Y7, Y7, Y7        // zeros, for g

loop:
	CMPQ CX, $0
	JE   done
	VMOVUPS (SI), Y0         // g
	VMOVUPS (R8), Y1         // m
	VMOVUPS (R9), Y2         // v
	VMULPS  Y8, Y1, Y1       // m·β1
	VMULPS  Y9, Y0, Y3       // g·(1−β1)
	VADDPS  Y3, Y1, Y1       // m1
	VMULPS  Y10, Y2, Y2      // v·β2
	VMULPS  Y0, Y0, Y4       // g·g
	VMULPS  Y11, Y4, Y4      // (g·g)·(1−β2)
	VADDPS  Y4, Y2, Y2       // v1
	VMOVUPS Y1, (R8)
	VMOVUPS Y2, (R9)
	VMOVUPS Y7, (SI)
	VMULPS  Y12, Y1, Y1      // m1·c1
	VMULPS  Y13, Y2, Y2      // v1·c2
	VSQRTPS Y2, Y2
	VADDPS  Y14, Y2, Y2      // sqrt + ε
	VMULPS  Y15, Y1, Y1      // ·(−η)
	VDIVPS  Y2, Y1, Y1
	VMOVUPS (DI), Y5
	VADDPS  Y1, Y5, Y5
	VMOVUPS Y5, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JMP  loop

done:
	VZEROUPPER
	RET
