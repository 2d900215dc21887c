package index

import "testing"

var g50k *HNSW

// BenchmarkSearch50k: default ef, k=20, 50,000 clustered vectors.
func BenchmarkSearch50k(b *testing.B) {
	const dim = 64
	if g50k == nil {
		g50k = mustHNSW(b, dim, nil, clustered(50000, dim, 42, 1))
	}
	queries := clustered(1000, dim, 42, 2)
	dst := make([]Result, 0, 20)
	i := 0
	for b.Loop() {
		q := queries[(i%1000)*dim : (i%1000+1)*dim]
		dst, _ = g50k.SearchInto(dst, q, 20, nil, 0)
		i++
	}
}
