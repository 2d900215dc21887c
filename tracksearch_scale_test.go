package soundalike

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkWordIndex1M builds the track search index over a synthetic
// catalogue (SOUNDALIKE_SEARCH_BENCH_N tracks, default 1M; names and
// artists drawn from a Zipf-distributed vocabulary of 100,000 words) and
// searches it with typed queries (two whole words and a prefix of a third,
// from one track) and one-word prefixes of 1 to 3 letters, reporting the
// 99th percentile of a search besides the mean.
func BenchmarkWordIndex1M(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("SOUNDALIKE_SEARCH_BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ts, rng := scaleTracks(n)
	var x *wordIndex
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			x = wordIndexOf(ts)
		}
	})
	if x == nil {
		x = wordIndexOf(ts)
	}
	var typed, prefix [][]string
	for len(typed) < 1000 {
		t := &ts[rng.IntN(n)]
		ws := appendWords(nil, nil, t.Name+" "+t.Artists[0])
		if len(ws) < 3 {
			continue
		}
		last := ws[2]
		typed = append(typed, []string{ws[0], ws[1], last[:1+rng.IntN(len(last))]})
		prefix = append(prefix, []string{last[:1+rng.IntN(3)]})
	}
	for _, bc := range []struct {
		name    string
		queries [][]string
	}{{"typed", typed}, {"prefix", prefix}} {
		b.Run(bc.name, func(b *testing.B) {
			var took []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				x.search(bc.queries[i%len(bc.queries)], 10)
				took = append(took, time.Since(start))
				i++
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}

// scaleTracks is the synthetic catalogue of BenchmarkWordIndex1M.
func scaleTracks(n int) ([]Track, *rand.Rand) {
	rng := rand.New(rand.NewPCG(7, 8))
	syll := []string{"ba", "ko", "ri", "la", "mo", "ne", "su", "ta", "vi", "do", "ge", "pu", "zan", "ther", "lin", "gro"}
	vocab := make([]string, 100_000)
	for i := range vocab {
		w := ""
		for range 2 + rng.IntN(3) {
			w += syll[rng.IntN(len(syll))]
		}
		vocab[i] = w + strconv.Itoa(i%7)
	}
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(vocab)-1))
	word := func() string { return vocab[zipf.Uint64()] }
	ts := make([]Track, n)
	for i := range ts {
		name := word()
		for range rng.IntN(4) {
			name += " " + word()
		}
		ts[i] = Track{ID: TrackID(fmt.Sprint(i)), Name: name, Artists: []string{word() + " " + word()}, Popularity: rng.IntN(101)}
	}
	return ts, rng
}
