#include "textflag.h"

// HSUM4 adds the four 8-lane accumulators ya..yd, (ya+yb)+(yc+yd), and
// then the eight lanes of that sum into the low lane of xa (the low half
// of ya); xt is scratch.
#define HSUM4(ya, yb, yc, yd, xa, xt) \
	VADDPS yb, ya, ya; \
	VADDPS yd, yc, yc; \
	VADDPS yc, ya, ya; \
	VEXTRACTF128 $1, ya, xt; \
	VADDPS xt, xa, xa; \
	VMOVHLPS xa, xt, xt; \
	VADDPS xt, xa, xa; \
	VMOVSHDUP xa, xt; \
	VADDSS xt, xa, xa

// func dotAVX2(a, b *float32, n int) float32
// Requires AVX2 and FMA. Four 8-lane accumulators over 32 floats a step,
// then 8 at a time, then scalar.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JL   reduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

reduce:
	HSUM4(Y0, Y1, Y2, Y3, X0, X1)

scalar:
	TESTQ CX, CX
	JE    done
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  scalar

done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func prefetchLinks(p *uint32)
// Brings the first 128 bytes (32 uint32) at p towards L1.
TEXT ·prefetchLinks(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	RET

// func prefetch(p *uint32)
// Brings the first 128 bytes (64 halves) at p towards L1.
TEXT ·prefetch(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	RET

// func dotHalfAVX2(q *float32, v *uint16, n int) float32
// Requires AVX2, FMA and F16C. dotAVX2 with v's halves widened by
// VCVTPH2PS as they are loaded.
TEXT ·dotHalfAVX2(SB), NOSPLIT, $0-28
	MOVQ q+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

hloop32:
	CMPQ CX, $32
	JL   hloop8
	VCVTPH2PS (DI), Y4
	VCVTPH2PS 16(DI), Y5
	VCVTPH2PS 32(DI), Y6
	VCVTPH2PS 48(DI), Y7
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	VFMADD231PS 64(SI), Y6, Y2
	VFMADD231PS 96(SI), Y7, Y3
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JMP  hloop32

hloop8:
	CMPQ CX, $8
	JL   hreduce
	VCVTPH2PS (DI), Y4
	VFMADD231PS (SI), Y4, Y0
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP  hloop8

hreduce:
	HSUM4(Y0, Y1, Y2, Y3, X0, X1)

hscalar:
	TESTQ CX, CX
	JE    hdone
	MOVWLZX (DI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VFMADD231SS (SI), X1, X0
	ADDQ $4, SI
	ADDQ $2, DI
	DECQ CX
	JMP  hscalar

hdone:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotHalvesAVX2(a, b *uint16, n int) float32
// Requires AVX2, FMA and F16C. Both operands widened as they are loaded.
TEXT ·dotHalvesAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

gloop32:
	CMPQ CX, $32
	JL   gloop8
	VCVTPH2PS (SI), Y4
	VCVTPH2PS 16(SI), Y5
	VCVTPH2PS 32(SI), Y6
	VCVTPH2PS 48(SI), Y7
	VCVTPH2PS (DI), Y8
	VCVTPH2PS 16(DI), Y9
	VCVTPH2PS 32(DI), Y10
	VCVTPH2PS 48(DI), Y11
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y9, Y5, Y1
	VFMADD231PS Y10, Y6, Y2
	VFMADD231PS Y11, Y7, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JMP  gloop32

gloop8:
	CMPQ CX, $8
	JL   greduce
	VCVTPH2PS (SI), Y4
	VCVTPH2PS (DI), Y8
	VFMADD231PS Y8, Y4, Y0
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP  gloop8

greduce:
	HSUM4(Y0, Y1, Y2, Y3, X0, X1)

gscalar:
	TESTQ CX, CX
	JE    gdone
	MOVWLZX (SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	MOVWLZX (DI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VFMADD231SS X2, X1, X0
	ADDQ $2, SI
	ADDQ $2, DI
	DECQ CX
	JMP  gscalar

gdone:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func toHalvesF16C(dst *uint16, src *float32, n int)
// Requires AVX and F16C. Rounds to nearest, ties to even (imm8 0).
TEXT ·toHalvesF16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

cloop8:
	CMPQ CX, $8
	JL   cscalar
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP  cloop8

cscalar:
	TESTQ CX, CX
	JE    cdone
	VMOVSS (SI), X0
	VCVTPS2PH $0, X0, X1
	VMOVD X1, AX
	MOVW AX, (DI)
	ADDQ $4, SI
	ADDQ $2, DI
	DECQ CX
	JMP  cscalar

cdone:
	VZEROUPPER
	RET

// func cpuidECX1() uint32
// The ECX of CPUID leaf 1 (bit 29: F16C).
TEXT ·cpuidECX1(SB), NOSPLIT, $0-4
	MOVL $1, AX
	XORL CX, CX
	CPUID
	MOVL CX, ret+0(FP)
	RET

// func dotHalfNormAVX2(q *float32, v *uint16, n int) (dot, vv float32)
// Requires AVX2, FMA and F16C. q·v and v·v in one pass over v: four
// accumulators each over 32 components a step, then 8, then scalar.
TEXT ·dotHalfNormAVX2(SB), NOSPLIT, $0-32
	MOVQ q+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

nloop32:
	CMPQ CX, $32
	JL   nloop8
	VCVTPH2PS (DI), Y4
	VCVTPH2PS 16(DI), Y5
	VCVTPH2PS 32(DI), Y6
	VCVTPH2PS 48(DI), Y7
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	VFMADD231PS 64(SI), Y6, Y2
	VFMADD231PS 96(SI), Y7, Y3
	VFMADD231PS Y4, Y4, Y8
	VFMADD231PS Y5, Y5, Y9
	VFMADD231PS Y6, Y6, Y10
	VFMADD231PS Y7, Y7, Y11
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JMP  nloop32

nloop8:
	CMPQ CX, $8
	JL   nreduce
	VCVTPH2PS (DI), Y4
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS Y4, Y4, Y8
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP  nloop8

nreduce:
	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	HSUM4(Y8, Y9, Y10, Y11, X8, X1)

nscalar:
	TESTQ CX, CX
	JE    ndone
	MOVWLZX (DI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VFMADD231SS (SI), X1, X0
	VFMADD231SS X1, X1, X8
	ADDQ $4, SI
	ADDQ $2, DI
	DECQ CX
	JMP  nscalar

ndone:
	VZEROUPPER
	MOVSS X0, dot+24(FP)
	MOVSS X8, vv+28(FP)
	RET
