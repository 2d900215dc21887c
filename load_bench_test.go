package soundalike_test

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
)

// BenchmarkReload is what a serving process pays to load a database: the
// catalogue decoded and hashed, the index and the model read (Engine.Reload
// on a read-only engine), here for 50,000 synthetic tracks (the search
// tests' fixture). At 1M the same path takes seconds (docs/benchmarks.md).
func BenchmarkReload(b *testing.B) {
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "load.db")
	eng, _ := fixture(b, path, 50_000)
	want := eng.Stats()
	eng.Close()
	for b.Loop() {
		eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Reload(ctx); err != nil {
			b.Fatal(err)
		}
		if st := eng.Stats(); st.Tracks != want.Tracks || st.Indexed != want.Indexed || st.Generation != want.Generation || st.ModelVersion != want.ModelVersion {
			b.Fatalf("loaded %+v, want what was written: %+v", st, want)
		}
		eng.Close()
	}
	b.ReportMetric(float64(want.Tracks)*float64(b.N)/b.Elapsed().Seconds(), "tracks/s")
}

// BenchmarkLoad1M is what `serve` pays at start on the database at
// SOUNDALIKE_BENCH_DB (read-only; the 1M synthetic file): Open of a
// Detached engine, which reads and decodes everything and releases the
// file. It reports the wall time of Open (open-s) and its CPU seconds,
// how long the load held the file's lock (Stats.LoadRead) and decoded
// after, how long (and how many CPU seconds) Prepare then waited for the
// derived indexes the load builds in the background, and the snapshot's
// bytes (Footprint), which ns/op does not count.
//
//	SOUNDALIKE_BENCH_DB=/tmp/sa-1m.db go test . -run '^$' -bench Load1M -benchtime 1x -count 3
func BenchmarkLoad1M(b *testing.B) {
	path := os.Getenv("SOUNDALIKE_BENCH_DB")
	if path == "" {
		b.Skip("SOUNDALIKE_BENCH_DB is not set")
	}
	var open, cpu, read, decode, prepare, prepareCPU time.Duration
	var bytes int64
	for b.Loop() {
		runtime.GC()
		before, start := cpuTime(), time.Now()
		eng, err := soundalike.Open(path, &soundalike.Options{Detached: true})
		if err != nil {
			b.Fatal(err)
		}
		open, cpu = open+time.Since(start), cpu+cpuTime()-before
		st := eng.Stats()
		if st.Tracks == 0 || st.Indexed == 0 {
			b.Fatalf("loaded %+v: want tracks and an index", st)
		}
		read, decode = read+st.LoadRead, decode+st.LoadDecode
		b.StopTimer()
		before, start = cpuTime(), time.Now()
		eng.Prepare()
		prepare, prepareCPU = prepare+time.Since(start), prepareCPU+cpuTime()-before
		bytes = eng.Footprint().Total()
		b.StartTimer()
		eng.Close()
	}
	b.ReportMetric(open.Seconds()/float64(b.N), "open-s/op")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(read.Seconds()/float64(b.N), "locked-s/op")
	b.ReportMetric(decode.Seconds()/float64(b.N), "decode-s/op")
	b.ReportMetric(prepare.Seconds()/float64(b.N), "prepare-s/op")
	b.ReportMetric(prepareCPU.Seconds()/float64(b.N), "prepare-cpu-s/op")
	b.ReportMetric(float64(bytes), "snapshot-B")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
