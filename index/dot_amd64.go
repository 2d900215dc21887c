package index

import "golang.org/x/sys/cpu"

// hasKernels says whether the kernels in dot_amd64.s are used: they need
// AVX2, FMA and F16C (CPUID leaf 1, ECX bit 29; every AVX2 CPU so far has
// it, but it is a separate flag). Without them every kernel falls back to
// its portable Go version.
var hasKernels = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpuidECX1()&(1<<29) != 0

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func dotHalfAVX2(q *float32, v *uint16, n int) float32

//go:noescape
func dotHalvesAVX2(a, b *uint16, n int) float32

//go:noescape
func dotHalfNormAVX2(q *float32, v *uint16, n int) (dot, vv float32)

//go:noescape
func toHalvesF16C(dst *uint16, src *float32, n int)

func cpuidECX1() uint32

// dot returns the dot product of two equal-length, non-empty vectors: the
// AVX2+FMA kernel in dot_amd64.s when hasKernels, dotGo otherwise.
func dot(a, b []float32) float32 {
	if hasKernels {
		_ = b[len(a)-1]
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return dotGo(a, b)
}

// dotHalf returns the dot product of a non-empty float32 query and a
// stored half vector of at least its length.
func dotHalf(q []float32, v []uint16) float32 {
	if hasKernels {
		_ = v[len(q)-1]
		return dotHalfAVX2(&q[0], &v[0], len(q))
	}
	return dotHalfGo(q, v)
}

// dotHalfNorm returns q·v and v·v for a non-empty float32 query and a
// stored half vector of at least its length, in one pass over v.
func dotHalfNorm(q []float32, v []uint16) (dot, vv float32) {
	if hasKernels {
		_ = v[len(q)-1]
		return dotHalfNormAVX2(&q[0], &v[0], len(q))
	}
	return dotHalfNormGo(q, v)
}

// dotHalves returns the dot product of two non-empty stored half vectors,
// b at least as long as a.
func dotHalves(a, b []uint16) float32 {
	if hasKernels {
		_ = b[len(a)-1]
		return dotHalvesAVX2(&a[0], &b[0], len(a))
	}
	return dotHalvesGo(a, b)
}

// toHalves writes the halves nearest to src to dst (len(dst) ≥ len(src)).
func toHalves(dst []uint16, src []float32) {
	if hasKernels && len(src) > 0 {
		_ = dst[len(src)-1]
		toHalvesF16C(&dst[0], &src[0], len(src))
		return
	}
	toHalvesGo(dst, src)
}

// prefetch hints that the 128 bytes (a 64-d half vector) at p will be
// read soon.
//
//go:noescape
func prefetch(p *uint32)

// prefetchLinks hints that the 128 bytes (32 links) at p will be read soon.
//
//go:noescape
func prefetchLinks(p *uint32)
