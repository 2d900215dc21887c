package index

import "golang.org/x/sys/cpu"

// hasAVX2 says whether dot uses the assembly kernel.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dotAVX2(a, b *float32, n int) float32

// dot returns the dot product of two equal-length, non-empty vectors: the
// AVX2+FMA kernel in dot_amd64.s when the CPU has it, dotGo otherwise.
func dot(a, b []float32) float32 {
	if hasAVX2 {
		_ = b[len(a)-1]
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return dotGo(a, b)
}

// prefetch hints that the 256 bytes (a 64-d vector) at p will be read
// soon.
//
//go:noescape
func prefetch(p *uint32)

// prefetchLinks hints that the 128 bytes (32 links) at p will be read soon.
//
//go:noescape
func prefetchLinks(p *uint32)
