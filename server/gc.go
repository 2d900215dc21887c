package server

import (
	"os"
	"runtime/debug"

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
