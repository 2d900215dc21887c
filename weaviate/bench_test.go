package weaviate_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/weaviate"
)

// BenchmarkNearest is one Source.Nearest (k 20, no filter) through the
// test cluster, under a server's default deadline. It searches the
// database SOUNDALIKE_BENCH_DB names, published under the default alias,
// or else the sample catalogue (3,041 tracks) published under an alias of
// its own just before. Run alternately against a build without a change
// to the read path, it gives that change's cost to a healthy cluster's
// searches:
//
//	soundalike publish --db dev.db --weaviate DIR/urls
//	SOUNDALIKE_BENCH_DB=dev.db SOUNDALIKE_TEST_WEAVIATE=DIR/urls \
//	  go test ./weaviate -run '^$' -bench 'Nearest$' -benchtime 3000x
func BenchmarkNearest(b *testing.B) {
	c, _ := dial(b)
	path, alias := os.Getenv("SOUNDALIKE_BENCH_DB"), weaviate.DefaultAlias
	if path == "" {
		path, alias = catalogue(b), newAlias(b, c)
		publish(b, local(b, path), c, &weaviate.PublishOptions{Alias: alias})
	}
	eng := local(b, path)
	defer eng.Close()
	info, err := eng.Model(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	src, err := weaviate.NewSource(c, alias)
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Ready(context.Background(), info.Version); err != nil {
		b.Fatal(err)
	}
	all := embeddings(b, eng)
	runtime.GC()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), server.DefaultRequestTimeout)
		ns, err := src.Nearest(ctx, info.Version, all[(i*7919)%len(all)].v, 20, nil)
		cancel()
		if err != nil || len(ns) != 20 {
			b.Fatalf("Nearest: %d neighbours, %v", len(ns), err)
		}
		i++
	}
}

// BenchmarkPublished measures a catalogue already published to the test
// cluster under the default alias: recall@20 of SimilarTo answered
// through Weaviate against exact search over the same embeddings (200
// queries, before the timed loop), then the latency of one query through
// Weaviate and through the local index, alternated query by query.
// SOUNDALIKE_BENCH_DB names the database that was published (read-only);
// without it the benchmark skips.
//
//	soundalike publish --db 1m.db --weaviate DIR/urls
//	SOUNDALIKE_BENCH_DB=1m.db SOUNDALIKE_TEST_WEAVIATE=DIR/urls \
//	  go test ./weaviate -run '^$' -bench Published -benchtime 1000x
func BenchmarkPublished(b *testing.B) {
	path := os.Getenv("SOUNDALIKE_BENCH_DB")
	if path == "" {
		b.Skip("SOUNDALIKE_BENCH_DB is not set: name a database published to SOUNDALIKE_TEST_WEAVIATE")
	}
	c, _ := dial(b)
	near := served(b, path, c, "")
	defer near.Close()
	here := local(b, path)
	defer here.Close()
	ctx := context.Background()

	// Every embedding in one flat array: exact search is a pass over it,
	// and the collector has no pointers to follow in it.
	var ids []soundalike.TrackID
	var vecs []float32
	err := here.ForEachEmbedding(ctx, func(t *soundalike.Track, v soundalike.Embedding) error {
		ids = append(ids, t.ID)
		vecs = append(vecs, v...)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	dim := len(vecs) / len(ids)
	query := func(i int) []float32 { j := (i * 7919) % len(ids); return vecs[j*dim : (j+1)*dim] }
	opts := &soundalike.SearchOptions{NoDedupe: true}
	const k, recallQueries = 20, 200

	hits := 0
	for i := range recallQueries {
		q := query(i)
		got, err := near.SimilarTo(ctx, soundalike.Query{Vector: q}, k, opts)
		if err != nil {
			b.Fatal(err)
		}
		want := exactFlat(vecs, dim, q, k)
		for _, n := range got.Neighbors {
			if slices.ContainsFunc(want, func(j int) bool { return ids[j] == n.ID }) {
				hits++
			}
		}
	}
	runtime.GC()

	var remote, localTook []time.Duration
	i := 0
	for b.Loop() {
		q := query(recallQueries + i)
		i++
		start := time.Now()
		if _, err := near.SimilarTo(ctx, soundalike.Query{Vector: q}, k, opts); err != nil {
			b.Fatal(err)
		}
		remote = append(remote, time.Since(start))
		start = time.Now()
		if _, err := here.SimilarTo(ctx, soundalike.Query{Vector: q}, k, opts); err != nil {
			b.Fatal(err)
		}
		localTook = append(localTook, time.Since(start))
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p int) float64 {
		slices.Sort(ds)
		return float64(ds[(len(ds)-1)*p/100].Microseconds())
	}
	b.ReportMetric(float64(hits)/(k*recallQueries), "recall@20")
	b.ReportMetric(pct(remote, 50), "weaviate-p50-µs")
	b.ReportMetric(pct(remote, 99), "weaviate-p99-µs")
	b.ReportMetric(pct(localTook, 50), "local-p50-µs")
	b.ReportMetric(pct(localTook, 99), "local-p99-µs")
	b.ReportMetric(float64(len(ids)), "tracks")
}

// exactFlat returns the positions of the k rows of vecs closest to q by
// cosine (the rows are unit vectors), closest first.
func exactFlat(vecs []float32, dim int, q []float32, k int) []int {
	type scored struct {
		j int
		s float32
	}
	top := make([]scored, 0, k+1) // ascending by score
	for j := 0; j*dim < len(vecs); j++ {
		var s float32
		for d, x := range vecs[j*dim : (j+1)*dim] {
			s += q[d] * x
		}
		if len(top) == k && s <= top[0].s {
			continue
		}
		at, _ := slices.BinarySearchFunc(top, s, func(e scored, s float32) int {
			if e.s < s {
				return -1
			}
			return 1
		})
		top = slices.Insert(top, at, scored{j, s})
		if len(top) > k {
			top = top[1:]
		}
	}
	out := make([]int, len(top))
	for i, e := range top {
		out[len(top)-1-i] = e.j
	}
	return out
}
