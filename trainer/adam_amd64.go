package trainer

import "golang.org/x/sys/cpu"

// hasAVX says whether adamStep uses the AVX kernel of adam_amd64.s. The
// kernel rounds every product, sum, quotient and square root to float32
// as the Go loop does (no fused multiply-add; VSQRTPS is the correctly
// rounded float32 square root, which float32(math.Sqrt(float64(x))) also
// is), so both give the same bits (TestAdamKernelMatchesGo).
var hasAVX = cpu.X86.HasAVX

//go:noescape
func adamAVX(w, grad, m, v *float32, n int, k *adamConsts)

// adamStep applies the update to the first len(w) elements of w, g, m
// and v (each at least that long): eight at a time with AVX, the rest in
// Go.
func adamStep(w, g, m, v []float32, k *adamConsts) {
	n := len(w)
	if hasAVX && n >= 8 {
		_, _, _ = g[n-1], m[n-1], v[n-1]
		done := n &^ 7
		adamAVX(&w[0], &g[0], &m[0], &v[0], done, k)
		w, g, m, v = w[done:], g[done:n], m[done:n], v[done:n]
	}
	adamStepGo(w, g, m, v, k)
}
