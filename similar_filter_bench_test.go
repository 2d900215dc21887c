package soundalike_test

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/cputime"
)

// BenchmarkSimilarFiltered1M is Similar with filters of selectivity 50%,
// 10%, 1% and 0.1% (and none, the baseline) on a synthetic catalogue of
// synth.Track tracks (release years 1960–2020 and popularity 0–100, both
// uniform), reporting the median and 99th percentile of a query, in wall and
// thread CPU time. It reads
// the database at SOUNDALIKE_BENCH_DB (read-only: the 1M file
// `soundalike-bench serve --n 1000000` builds); without it, it builds a
// catalogue of 20,000 tracks, where the figures mean little.
//
//	SOUNDALIKE_BENCH_DB=/tmp/sa-1m.db go test . -run '^$' -bench SimilarFiltered1M -benchtime 2000x
func BenchmarkSimilarFiltered1M(b *testing.B) {
	ctx := b.Context()
	var (
		eng *soundalike.Engine
		ids []soundalike.TrackID
	)
	if path := os.Getenv("SOUNDALIKE_BENCH_DB"); path != "" {
		var err error
		eng, err = soundalike.Open(path, &soundalike.Options{ReadOnly: true, Detached: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { eng.Close() })
		ts, err := eng.SearchTracks(ctx, "synthetic", 1)
		if err != nil || len(ts) == 0 {
			b.Fatalf("SOUNDALIKE_BENCH_DB: no synthetic track found (%v)", err)
		}
		n := eng.Stats().Tracks
		for i := range 1000 {
			ids = append(ids, soundalike.TrackID(synthID((i*7919)%n)))
		}
	} else {
		e, tracks, _ := facetFixture(b, 20_000)
		eng = e
		for i := range 1000 {
			ids = append(ids, tracks[(i*7919)%len(tracks)].ID)
		}
	}
	for _, bc := range []struct {
		name   string
		filter *soundalike.Filter
	}{
		{"none", nil},
		{"50%", &soundalike.Filter{PopularityMin: ptr(50)}},
		{"10%", &soundalike.Filter{YearMin: ptr(2011), YearMax: ptr(2016)}},
		{"1%", &soundalike.Filter{PopularityMin: ptr(42), PopularityMax: ptr(42)}},
		{"0.1%", &soundalike.Filter{YearMin: ptr(2000), YearMax: ptr(2000), PopularityMin: ptr(10), PopularityMax: ptr(15)}},
	} {
		opts := &soundalike.SearchOptions{Filter: bc.filter}
		if _, err := eng.Similar(ctx, ids[0], 20, opts); err != nil { // loads the snapshot and its facets
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			// Thread CPU time beside wall time: on a shared machine the
			// wall clock's tail is the neighbours' load.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var took, cpu []time.Duration
			i := 0
			for b.Loop() {
				start, startCPU := time.Now(), cputime.Thread()
				res, err := eng.Similar(ctx, ids[i%len(ids)], 20, opts)
				took = append(took, time.Since(start))
				cpu = append(cpu, cputime.Thread()-startCPU)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Neighbors) != 20 {
					b.Fatalf("%d results, want 20", len(res.Neighbors))
				}
				i++
			}
			b.StopTimer()
			if bc.filter != nil {
				r := filteredRecallVsScan(b, eng, ids[:50], opts)
				b.ReportMetric(r, "recall@20")
				if r < 0.98 {
					b.Errorf("recall@20 against the exact filtered search = %.4f, want ≥ 0.98", r)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
			slices.Sort(cpu)
			b.ReportMetric(float64(cpu[len(cpu)/2].Nanoseconds()), "cpu-p50-ns")
			b.ReportMetric(float64(cpu[len(cpu)*99/100].Nanoseconds()), "cpu-p99-ns")
		})
	}
}

func synthID(i int) string {
	return "synth" + string([]byte{byte('0' + i/1000000%10), byte('0' + i/100000%10), byte('0' + i/10000%10), byte('0' + i/1000%10), byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}

// filteredRecallVsScan is Similar's recall@20 under opts against the exact
// filtered search (every matching track scored: ForceScan), over ids.
func filteredRecallVsScan(b *testing.B, eng *soundalike.Engine, ids []soundalike.TrackID, opts *soundalike.SearchOptions) float64 {
	hits, total := 0, 0
	for _, id := range ids {
		got, err := eng.Similar(b.Context(), id, 20, opts)
		if err != nil {
			b.Fatal(err)
		}
		soundalike.ForceScan(ptr(true))
		want, err := eng.Similar(b.Context(), id, 20, opts)
		soundalike.ForceScan(nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, w := range want.Neighbors {
			if slices.ContainsFunc(got.Neighbors, func(n soundalike.Neighbor) bool { return n.ID == w.ID }) {
				hits++
			}
		}
		total += len(want.Neighbors)
	}
	return float64(hits) / float64(max(total, 1))
}
