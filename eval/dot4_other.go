//go:build !amd64

package eval

// hasAVX is false: topK4 scores one vector at a time in Go.
const hasAVX = false

func dot4x8(block, q0, q1, q2, q3 []float32, out *[32]float32) {
	panic("eval: dot4x8 without AVX")
}
