package index

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/viterin/vek/vek32"
)

// BenchmarkBuild1 links 10,000 clustered 64-d vectors on one worker.
func BenchmarkBuild1(b *testing.B) {
	data := clustered(10000, 64, 42, 1)
	ids := seqIDs(10000)
	b.ReportAllocs()
	for b.Loop() {
		g, _ := New(64, &Options{Workers: 1})
		if err := g.AddBatch(ids, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchInto is the hot path: one k=20 query at the default ef on
// 20,000 clustered vectors, into a reused buffer. It must report 0 allocs/op.
func BenchmarkSearchInto(b *testing.B) {
	const dim = 64
	data := clustered(20000, dim, 42, 1)
	queries := clustered(256, dim, 42, 2)
	g := mustHNSW(b, dim, nil, data)
	dst := make([]Result, 0, 20)
	var err error
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		q := queries[(i%256)*dim : (i%256+1)*dim]
		if dst, err = g.SearchInto(dst, q, 20, nil, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSearch50k is BenchmarkSearchInto on 50,000 vectors, a graph
// whose vectors (13 MB) no longer fit in the L2 caches, so the memory
// layout shows. The graph is built once per process.
func BenchmarkSearch50k(b *testing.B) {
	const dim = 64
	if g50k == nil {
		g50k = mustHNSW(b, dim, nil, clustered(50000, dim, 42, 1))
	}
	queries := clustered(1000, dim, 42, 2)
	dst := make([]Result, 0, 20)
	var err error
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		q := queries[(i%1000)*dim : (i%1000+1)*dim]
		if dst, err = g50k.SearchInto(dst, q, 20, nil, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

var g50k *HNSW

// BenchmarkSearchStored50k asks BenchmarkSearch50k's graph for stored
// vectors' neighbours, as a query by a stored track does: from the entry
// point (into) and from the vector's own node (from, SearchFrom).
func BenchmarkSearchStored50k(b *testing.B) {
	const dim = 64
	if g50k == nil {
		g50k = mustHNSW(b, dim, nil, clustered(50000, dim, 42, 1))
	}
	r := rand.New(rand.NewPCG(3, 4))
	ids := make([]uint32, 1000)
	queries := make([][]float32, len(ids))
	for i := range ids {
		ids[i] = uint32(r.IntN(50000))
		queries[i], _ = g50k.Vector(ids[i])
	}
	for _, from := range []bool{false, true} {
		name := map[bool]string{false: "into", true: "from"}[from]
		b.Run(name, func(b *testing.B) {
			dst := make([]Result, 0, 20)
			var err error
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				j := i % len(ids)
				if from {
					dst, err = g50k.SearchFrom(dst, queries[j], ids[j], 20, nil, 0)
				} else {
					dst, err = g50k.SearchInto(dst, queries[j], 20, nil, 0)
				}
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkFlatSearchInto is the exact scan of 20,000 vectors.
func BenchmarkFlatSearchInto(b *testing.B) {
	const dim = 64
	data := clustered(20000, dim, 42, 1)
	queries := clustered(256, dim, 42, 2)
	x := mustFlat(b, dim, data)
	dst := make([]Result, 0, 20)
	var err error
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		q := queries[(i%256)*dim : (i%256+1)*dim]
		if dst, err = x.SearchInto(dst, q, 20, nil, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// syntheticGraph returns an HNSW of n random unit vectors with random (but
// structurally valid) links and the levels a build would draw: the shape
// and size of a real graph without the cost of building one.
func syntheticGraph(tb testing.TB, n, dim int) *HNSW {
	tb.Helper()
	g, err := New(dim, nil)
	if err != nil {
		tb.Fatal(err)
	}
	data := clustered(n, dim, 1, 2)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reserve(n)
	hv := make([]uint16, dim)
	for i := range n {
		toHalves(hv, data[i*dim:(i+1)*dim])
		g.appendSlot(uint32(i), hv)
	}
	r := rand.New(rand.NewPCG(3, 4))
	// Nodes by level, so that upper-layer links point at nodes on the layer.
	byLevel := make([][]uint32, maxLevelCap+1)
	for s, lv := range g.levels {
		for l := 0; l <= int(lv); l++ {
			byLevel[l] = append(byLevel[l], uint32(s))
		}
		if int(lv) > g.maxLevel {
			g.maxLevel, g.entry = int(lv), uint32(s)
		}
	}
	for s := range n {
		for l := 0; l <= int(g.levels[s]); l++ {
			c := g.m
			if l == 0 {
				c = g.m0
			}
			c = min(c, len(byLevel[l]))
			xs := make([]uint32, c)
			for i := range xs {
				xs[i] = byLevel[l][r.IntN(len(byLevel[l]))]
			}
			g.setNbrs(uint32(s), l, xs)
		}
	}
	return g
}

// BenchmarkRead1M decodes a 1,000,000 × 64-d graph from memory; the target
// is at most 3 s. It is skipped under -short.
func BenchmarkRead1M(b *testing.B) {
	if testing.Short() {
		b.Skip("1M graph")
	}
	g := syntheticGraph(b, 1_000_000, 64)
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	g = nil
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		h, err := Read(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if h.Len() != 1_000_000 {
			b.Fatalf("Len() = %d", h.Len())
		}
	}
}

// BenchmarkWrite1M encodes the same graph.
func BenchmarkWrite1M(b *testing.B) {
	if testing.Short() {
		b.Skip("1M graph")
	}
	g := syntheticGraph(b, 1_000_000, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

var sinkF float32

// BenchmarkDot compares the kernels on 64 dimensions.
func BenchmarkDot(b *testing.B) {
	x, y := clustered(1, 64, 1, 1), clustered(1, 64, 1, 2)
	b.Run("dot", func(b *testing.B) {
		for b.Loop() {
			sinkF += dot(x, y)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			sinkF += dotGo(x, y)
		}
	})
	hy := make([]uint16, len(y))
	toHalves(hy, y)
	b.Run("half", func(b *testing.B) {
		for b.Loop() {
			sinkF += dotHalf(x, hy)
		}
	})
	b.Run("half-go", func(b *testing.B) {
		for b.Loop() {
			sinkF += dotHalfGo(x, hy)
		}
	})
	b.Run("vek", func(b *testing.B) {
		for b.Loop() {
			sinkF += vek32.Dot(x, y)
		}
	})
}
