//go:build !amd64

package index

const hasAVX2 = false

// dot returns the dot product of two equal-length, non-empty vectors.
func dot(a, b []float32) float32 { return dotGo(a, b) }

func prefetch(p *uint32) {}

func prefetchLinks(p *uint32) {}
