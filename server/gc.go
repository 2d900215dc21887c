package server

import (
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"

	"github.com/audotics/soundalike"
)

// SetServingGC sets the garbage collector's target for a process that
// serves a loaded snapshot to soundalike.ServingGCPercent (which says why
// that value), unless GOGC is set in the environment, and returns the
// target in force (-1 for off). A target relative to the live heap, unlike
// a fixed memory limit, never makes the collector run back to back while
// a reload holds two snapshots.
func SetServingGC() int {
	if os.Getenv("GOGC") != "" {
		v := debug.SetGCPercent(-1)
		debug.SetGCPercent(v)
		return v
	}
	debug.SetGCPercent(soundalike.ServingGCPercent)
	return soundalike.ServingGCPercent
}

// warmCycles is how many collections PrefaultHeap waits for. The first one
// the allocator starts sets the collector's pace for a serving heap; by the
// end of the second, the heap has reached its goal and the scavenger's
// target follows it.
const warmCycles = 2

// prefaultOvershoot is how much further, in percent of the target, the
// heap grows while PrefaultHeap warms it: serving's small objects leave
// spans part-used, so its heap settles above the goal that 64 KiB blocks
// reach.
const prefaultOvershoot = 20

// PrefaultHeap brings the heap to its serving size before the first query,
// and returns the bytes it allocated to do so. Call it once the snapshot is
// loaded and SetServingGC has set the target, before serving starts.
//
// A loaded snapshot leaves the heap at its live size. Serving then grows it
// to the collector's goal (the live size again times the target) before
// the first collection, and every page of that growth is new to the
// process: the requests that first touch one take the page fault and the
// kernel's zeroing, on huge pages 2 MiB at a time. At 1M tracks that is
// about 260 MiB in the first seconds of serving, and it was most of the
// client's p99 there (docs/benchmarks.md, issue 17). Once the collector has
// run at its goal, it reuses the same pages, and the runtime's scavenger
// keeps them resident because it retains what the heap held at the end of
// the last collection's mark phase.
//
// So this allocates short-lived 64 KiB blocks, touching each page, until
// warmCycles collections that the allocator started have ended. A forced
// collection (runtime.GC) would not do: it sweeps before the scavenger
// reads the heap's size, so the scavenger would return the headroom to the
// kernel. It returns 0 when the collector is off (GOGC=off).
func PrefaultHeap() int64 {
	percent := debug.SetGCPercent(-1)
	if percent < 0 {
		debug.SetGCPercent(percent)
		return 0
	}
	debug.SetGCPercent(percent + percent*prefaultOvershoot/100)
	defer debug.SetGCPercent(percent)
	s := []rtmetrics.Sample{{Name: "/gc/cycles/automatic:gc-cycles"}, {Name: "/gc/heap/goal:bytes"}}
	rtmetrics.Read(s)
	start, goal := s[0].Value.Uint64(), s[1].Value.Uint64()
	const block = 64 << 10
	var n uint64
	// The bound only stops a collector that never starts a cycle.
	for n < 4*warmCycles*goal {
		touchNew(block)
		n += block
		rtmetrics.Read(s)
		if s[0].Value.Uint64() >= start+warmCycles {
			break
		}
	}
	return int64(n)
}

// touchNew allocates n bytes, writes a byte of each page and drops them.
func touchNew(n int) {
	b := make([]byte, n)
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
	runtime.KeepAlive(b)
}
