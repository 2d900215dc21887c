package eval

import "golang.org/x/sys/cpu"

// hasAVX says whether topK4 scores eight catalogue vectors at a time with
// the AVX kernel of dot4_amd64.s. The kernel multiplies and adds in the
// Go loop's order, each operation rounded to float32 (no fused
// multiply-add), so the scores are the same bits (TestTopK4Kernel).
var hasAVX = cpu.X86.HasAVX

//go:noescape
func dot4x8AVX(block, q0, q1, q2, q3 *float32, dim int, out *[32]float32)

// dot4x8 sets out[8·i+l] to query i's dot product with vector l of the
// block of eight (topK4.block's layout: element j of the eight vectors
// at 8·j), for the dim elements of each query.
func dot4x8(block, q0, q1, q2, q3 []float32, out *[32]float32) {
	dim := len(q0)
	_, _, _, _ = block[8*dim-1], q1[dim-1], q2[dim-1], q3[dim-1]
	dot4x8AVX(&block[0], &q0[0], &q1[0], &q2[0], &q3[0], dim, out)
}
