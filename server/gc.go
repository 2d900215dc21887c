package server

import (
	"os"
	"runtime/debug"

	"github.com/audotics/soundalike"
)

// SetServingGC sets the garbage collector's target for a process that
// serves a loaded snapshot to soundalike.ServingGCPercent, unless GOGC is
// set in the environment, and returns the target in force (-1 for off).
//
// Why 50: the snapshot is most of the live heap and holds almost no
// pointers, so a cycle costs little CPU (about 25 ms at 1M tracks), but
// for its whole mark phase (40-100 ms of wall time on 2 cores) a quarter
// of the CPU marks and allocating requests assist; in a runtime/trace of
// bench serve goroutines wait 3-4 times longer for a CPU then, and the
// requests that arrive meanwhile queue: the client's tail. A query
// allocates about 16 KiB, all short-lived, so fewer cycles are the
// remedy. At 1M tracks 50 halves the cycles of the former 25 and keeps
// RSS near 1.1 GB (heap goal 1.5 times the snapshot). A larger runway
// (256 MiB and more, or a memory limit far above the live heap) made the
// 23k dev catalogue slower: each request's garbage then lands on fresh
// pages (four minor page faults a request until the heap reaches its goal)
// instead of the few cached megabytes a small runway recycles. A target
// relative to the live heap, unlike a fixed memory limit, also never makes
// the collector run back to back while a reload holds two snapshots.
func SetServingGC() int {
	if os.Getenv("GOGC") != "" {
		v := debug.SetGCPercent(-1)
		debug.SetGCPercent(v)
		return v
	}
	debug.SetGCPercent(soundalike.ServingGCPercent)
	return soundalike.ServingGCPercent
}
