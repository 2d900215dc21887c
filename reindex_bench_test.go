package soundalike_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/audotics/soundalike"
)

// reindexBenchTracks is the catalogue the reindex benchmarks work on: the
// search tests' synthetic tracks, enough for several embed and insert
// batches.
const reindexBenchTracks = 100_000

// BenchmarkReindexFull is a reindex from scratch (ReindexOptions.Full):
// every track embedded, the graph built, the map computed, all saved.
// Beside the time it reports the CPU time (steadier than the wall time on
// a busy machine) and the heap held at each stage (see heldByStage).
//
//	go test . -run '^$' -bench ReindexFull -benchtime 1x -count 3 -benchmem
func BenchmarkReindexFull(b *testing.B) {
	ctx := b.Context()
	eng, _ := fixture(b, filepath.Join(b.TempDir(), "full.db"), reindexBenchTracks)
	var cpu time.Duration
	for b.Loop() {
		before := cpuTime()
		sum, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Full: true})
		cpu += cpuTime() - before
		if err != nil {
			b.Fatal(err)
		}
		if !sum.Full || sum.Embedded != sum.Tracks {
			b.Fatalf("Reindex(Full) = %+v, want every track embedded", sum)
		}
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	heldByStage(b, eng, &soundalike.ReindexOptions{Full: true})
}

// BenchmarkReindexIncremental is an incremental reindex after an import
// that changed 1% of the tracks, added 0.5% and deleted 0.5%: the changed
// tracks embedded and re-linked, the deleted ones dropped, the map
// updated. The imports are not timed. Its metrics are BenchmarkReindexFull's.
//
//	go test . -run '^$' -bench ReindexIncremental -benchtime 1x -count 3 -benchmem
func BenchmarkReindexIncremental(b *testing.B) {
	ctx := b.Context()
	eng, tracks := fixture(b, filepath.Join(b.TempDir(), "incr.db"), reindexBenchTracks)
	round := 0
	churn := func() {
		round++
		err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			for i := range reindexBenchTracks / 100 {
				t := *tracks[(round*7919+i*97)%len(tracks)]
				t.Features.Energy = float64(round%10) / 10
				if _, _, err := tx.PutTrack(&t); err != nil {
					return err
				}
			}
			for i := range reindexBenchTracks / 200 {
				t := *tracks[i]
				t.ID = soundalike.TrackID(fmt.Sprintf("r%d-%d", round, i))
				if _, _, err := tx.PutTrack(&t); err != nil {
					return err
				}
				if _, err := tx.DeleteTrack(soundalike.TrackID(fmt.Sprintf("r%d-%d", round-1, i))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	churn()
	if _, err := eng.Reindex(ctx, nil); err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		churn()
		b.StartTimer()
		before := cpuTime()
		sum, err := eng.Reindex(ctx, nil)
		cpu += cpuTime() - before
		if err != nil {
			b.Fatal(err)
		}
		if sum.Full || sum.Deleted == 0 || sum.Embedded == 0 {
			b.Fatalf("Reindex = %+v, want an incremental update", sum)
		}
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	churn()
	heldByStage(b, eng, nil)
}

// heldByStage runs one more, untimed, reindex with opts and reports, for
// each stage, the most heap held at its progress reports: the live heap
// after a collection, the served snapshot's included. A buffer kept past
// the phase that reads it shows as more held at the later stages: raw
// inputs kept past embed would show at insert and layout.
func heldByStage(b *testing.B, eng *soundalike.Engine, opts *soundalike.ReindexOptions) {
	b.Helper()
	var o soundalike.ReindexOptions
	if opts != nil {
		o = *opts
	}
	held := map[string]uint64{}
	o.Progress = func(stage string, _, _ int) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		held[stage] = max(held[stage], ms.HeapAlloc)
	}
	if _, err := eng.Reindex(b.Context(), &o); err != nil {
		b.Fatal(err)
	}
	for _, stage := range []string{"embed", "insert", "layout", "save"} {
		if h, ok := held[stage]; ok {
			b.ReportMetric(float64(h)/(1<<20), stage+"-heldMiB")
		}
	}
}
