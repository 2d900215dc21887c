package index

import (
	"testing"
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
