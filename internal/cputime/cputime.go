// Package cputime reads CPU clocks, so that benchmarks on a shared, busy
// machine can report work per CPU second beside wall-clock figures.
package cputime

import "time"

// Process returns the CPU time (user + system, all threads) the process has
// used so far, or 0 where the platform cannot tell.
func Process() time.Duration { return clock(clockProcess) }

// Thread returns the CPU time of the calling OS thread (lock the goroutine
// to it with runtime.LockOSThread), or 0 where the platform cannot tell.
func Thread() time.Duration { return clock(clockThread) }
