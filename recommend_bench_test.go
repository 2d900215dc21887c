package soundalike_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/cputime"
)

// BenchmarkRecommendUser1M is a user-style Recommend on a synthetic
// catalogue of 1M tracks: a history of 50 tracks (five tastes of ten
// neighbouring tracks each, weights as a recency decay gives them; the
// last five are skips, i.e. negatives), by each strategy, reporting the
// 50th and 99th percentile of a query (wall and the query thread's CPU
// time) besides the mean, with Similar of one track as the baseline.
//
// The catalogue is SOUNDALIKE_BENCH_DB when set (a database with a model
// and an index, e.g. `soundalike-bench serve --n 1000000`'s; opened
// read-only), else the search tests' fixture of SOUNDALIKE_RECOMMEND_BENCH_N
// tracks (default 1M: the import and the reindex take minutes).
func BenchmarkRecommendUser1M(b *testing.B) {
	ctx := b.Context()
	var eng *soundalike.Engine
	if path := os.Getenv("SOUNDALIKE_BENCH_DB"); path != "" {
		var err error
		if eng, err = soundalike.Open(path, &soundalike.Options{ReadOnly: true}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { eng.Close() })
	} else {
		n := 1_000_000
		if s := os.Getenv("SOUNDALIKE_RECOMMEND_BENCH_N"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		eng, _ = fixture(b, filepath.Join(b.TempDir(), "rec.db"), n)
	}
	var ids []soundalike.TrackID
	if err := eng.ForEachTrack(ctx, func(t *soundalike.Track) error { ids = append(ids, t.ID); return nil }); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	queries := make([]soundalike.RecommendQuery, 200)
	for i := range queries {
		queries[i] = userQuery(b, eng, ids, rng)
	}
	// "similar" is the baseline of the same minutes: Similar of the
	// history's first track.
	for _, st := range []soundalike.Strategy{"similar", soundalike.StrategyAverage, soundalike.StrategyBestScore} {
		b.Run(string(st), func(b *testing.B) {
			// CPU time of the query's thread beside wall time: on a
			// shared machine the wall tail is mostly waiting for a core.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var took, cpu []time.Duration
			i := 0
			for b.Loop() {
				q := queries[i%len(queries)]
				q.Strategy = st
				start, c0 := time.Now(), cputime.Thread()
				var res soundalike.Results
				var err error
				if st == "similar" {
					res, err = eng.Similar(ctx, q.Positive[0].Track, q.K, nil)
				} else {
					res, err = eng.Recommend(ctx, q)
				}
				took = append(took, time.Since(start))
				cpu = append(cpu, cputime.Thread()-c0)
				if err != nil || len(res.Neighbors) != 20 {
					b.Fatalf("Recommend: %d results, %v", len(res.Neighbors), err)
				}
				i++
			}
			for _, d := range []struct {
				name string
				ds   []time.Duration
			}{{"", took}, {"cpu-", cpu}} {
				slices.Sort(d.ds)
				b.ReportMetric(float64(d.ds[len(d.ds)/2].Microseconds()), d.name+"p50-µs")
				b.ReportMetric(float64(d.ds[len(d.ds)*99/100].Microseconds()), d.name+"p99-µs")
			}
		})
	}
}

// userQuery is a history of 50 tracks: five random tracks and the nine
// nearest of each, weighted like interactions a day apart with a 30-day
// half-life, the last five of them skips.
func userQuery(b *testing.B, eng *soundalike.Engine, ids []soundalike.TrackID, rng *rand.Rand) soundalike.RecommendQuery {
	q := soundalike.RecommendQuery{K: 20}
	for taste := range 5 {
		anchor := ids[rng.IntN(len(ids))]
		res, err := eng.Similar(b.Context(), anchor, 9, nil)
		if err != nil {
			b.Fatal(err)
		}
		hist := []soundalike.TrackID{anchor}
		for _, n := range res.Neighbors {
			hist = append(hist, n.ID)
		}
		for j, id := range hist {
			age := float64(10*taste + j)
			ex := soundalike.Example{Track: id, Weight: 2 * math.Exp2(-age/30)}
			if taste == 4 && j >= 5 {
				q.Negative = append(q.Negative, ex)
			} else {
				q.Positive = append(q.Positive, ex)
			}
		}
	}
	return q
}
