package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
)

// benchCatalogue returns a Detached engine on SOUNDALIKE_BENCH_DB (a
// synthetic catalogue built by `soundalike-bench serve --db PATH`, ids
// synth0000000…) and its size, or on a synthetic catalogue of n tracks
// built in a temporary directory.
func benchCatalogue(b *testing.B, n int) (*soundalike.Engine, int) {
	b.Helper()
	path := os.Getenv("SOUNDALIKE_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
		eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			var t soundalike.Track
			for i := range n {
				synth.Track(1, i, &t)
				if _, _, err := tx.PutTrack(&t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		m, err := synth.Model(1, []int{128, 64}, 64)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.SaveModel(ctx, m, soundalike.ModelRun{}); err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Reindex(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true})
	if err != nil {
		b.Fatal(err)
	}
	return eng, eng.Stats().Tracks
}

// heaviestBody is the heaviest POST /similar the limits allow: MaxSeeds
// seeds, MaxExclude exclusions, k = MaxK and exclude_artist.
func heaviestBody(rng *rand.Rand, n int) string {
	id := func() string { return fmt.Sprintf(`"synth%07d"`, rng.IntN(n)) }
	seeds := make([]string, server.MaxSeeds)
	for i := range seeds {
		seeds[i] = id()
	}
	excl := make([]string, server.MaxExclude)
	for i := range excl {
		excl[i] = id()
	}
	return fmt.Sprintf(`{"tracks":[%s],"exclude":[%s],"k":%d,"exclude_artist":true}`,
		strings.Join(seeds, ","), strings.Join(excl, ","), server.MaxK)
}

// BenchmarkPlainBesideHeavy is a plain GET /similar (k=20) timed around
// the handler, idle and beside four connections sending the heaviest
// requests the limits allow back to back: p50 and p99 in µs, and the heavy
// requests' own p50 and how many were refused (503). The target is a
// loaded p99 under ten times the idle one.
//
//	SOUNDALIKE_BENCH_DB=/tmp/1m.db go test ./server -run '^$' -bench PlainBesideHeavy -benchtime 3000x
func BenchmarkPlainBesideHeavy(b *testing.B) {
	eng, n := benchCatalogue(b, 20_000)
	h := server.New(eng, nil)
	for _, heavyConns := range []int{0, 4} {
		b.Run(fmt.Sprintf("heavy=%d", heavyConns), func(b *testing.B) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var heavyTimes []time.Duration
			refused := 0
			for c := range heavyConns {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(c), 7))
					for {
						select {
						case <-stop:
							return
						default:
						}
						req := httptest.NewRequest("POST", "/similar", strings.NewReader(heaviestBody(rng, n)))
						req.Header.Set("Content-Type", "application/json")
						w := httptest.NewRecorder()
						start := time.Now()
						h.ServeHTTP(w, req)
						d := time.Since(start)
						mu.Lock()
						if w.Code == http.StatusOK {
							heavyTimes = append(heavyTimes, d)
						} else {
							refused++
						}
						mu.Unlock()
					}
				})
			}
			rng := rand.New(rand.NewPCG(42, 42))
			for range 200 { // warm up, and let the heavy load start
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/similar?track=synth%07d&k=20", rng.IntN(n)), nil))
			}
			var times []time.Duration
			w := httptest.NewRecorder()
			for b.Loop() {
				req := httptest.NewRequest("GET", fmt.Sprintf("/similar?track=synth%07d&k=20", rng.IntN(n)), nil)
				w.Body.Reset()
				start := time.Now()
				h.ServeHTTP(w, req)
				times = append(times, time.Since(start))
				if w.Code != http.StatusOK {
					b.Fatalf("plain GET /similar = %d %s", w.Code, w.Body)
				}
			}
			close(stop)
			wg.Wait()
			b.ReportMetric(pct(times, 50), "p50_us")
			b.ReportMetric(pct(times, 99), "p99_us")
			if heavyConns > 0 {
				b.ReportMetric(pct(heavyTimes, 50), "heavy_p50_us")
				b.ReportMetric(float64(len(heavyTimes)), "heavy_ok")
				b.ReportMetric(float64(refused), "heavy_503")
			}
		})
	}
}

// pct is the p-th percentile of ds in µs.
func pct(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)-1, len(s)*p/100)].Microseconds())
}
