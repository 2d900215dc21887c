package server

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
)

// minGCRunway is the least garbage a serving process lets accumulate
// between two collections (see SetServingGC).
const minGCRunway = 256 << 20

// SetServingGC sets the garbage collector's target (GOGC) for a process
// that serves a loaded snapshot, and returns it: collections start once
// the heap has grown by half the live heap or by 256 MiB, whichever is
// more. Call it once the snapshot is loaded; it collects first to measure
// the live heap. A GOGC set in the environment is left as it is (and
// returned).
//
// Why: the snapshot is most of the live heap and holds almost no pointers,
// so a cycle costs little CPU (about 25 ms at 1M tracks), but for its whole
// mark phase (40-100 ms of wall time on 2 cores) a quarter of the CPU
// marks and allocating requests assist: goroutines wait 3-4 times longer
// for a CPU (runtime/trace of bench serve) and the requests that arrive
// meanwhile queue. What a query allocates (about 17 KiB) is short-lived,
// so fewer cycles are the remedy. The previous fixed GOGC of 25 collected
// every 170 MiB at 1M (7 cycles in 20 s at 3,900 queries/s) and every
// 8 MiB on the 23k dev catalogue (58 cycles in 5 s); this target collects
// every 340 MiB at 1M, keeping the heap goal at 1.5 times the snapshot
// (RSS about 1.1 GB), and every 256 MiB at 23k (RSS under 350 MiB).
// A target relative to the live heap, unlike a fixed memory limit, never
// makes the collector run back to back when a reload holds two snapshots
// at once.
func SetServingGC() int {
	if v, ok := envGOGC(); ok {
		return v
	}
	runtime.GC()
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(s)
	gogc := servingGCPercent(s[0].Value.Uint64())
	debug.SetGCPercent(gogc)
	return gogc
}

// servingGCPercent is the GOGC whose runway over a live heap of live
// bytes is half of it or minGCRunway, whichever is more, within 50..10000.
func servingGCPercent(live uint64) int {
	runway := max(float64(live)/2, minGCRunway)
	return int(min(max(math.Ceil(100*runway/float64(max(live, 1))), 50), 10000))
}

// envGOGC is the GOGC the environment sets (-1 for off), if it sets one.
func envGOGC() (int, bool) {
	if os.Getenv("GOGC") == "" {
		return 0, false
	}
	v := debug.SetGCPercent(-1)
	debug.SetGCPercent(v)
	return v, true
}
