//go:build !amd64

package index

const hasKernels = false

// dot returns the dot product of two equal-length, non-empty vectors.
func dot(a, b []float32) float32 { return dotGo(a, b) }

// dotHalf returns the dot product of a float32 query and a stored half
// vector of at least its length.
func dotHalf(q []float32, v []uint16) float32 { return dotHalfGo(q, v) }

// dotHalfNorm returns q·v and v·v for a float32 query and a stored half
// vector of at least its length.
func dotHalfNorm(q []float32, v []uint16) (dot, vv float32) { return dotHalfNormGo(q, v) }

// dotHalves returns the dot product of two stored half vectors, b at least
// as long as a.
func dotHalves(a, b []uint16) float32 { return dotHalvesGo(a, b) }

// toHalves writes the halves nearest to src to dst (len(dst) ≥ len(src)).
func toHalves(dst []uint16, src []float32) { toHalvesGo(dst, src) }

func prefetch(p *uint32) {}

func prefetchLinks(p *uint32) {}
