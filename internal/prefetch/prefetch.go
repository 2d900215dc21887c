// Package prefetch asks the CPU to bring memory towards its caches before
// it is read, so that the misses of reads at random across a large
// snapshot overlap instead of following one another.
package prefetch

import "unsafe"

// Line hints that the cache line at p will be read soon. It never faults:
// p may point anywhere.
func Line(p unsafe.Pointer) { line(p) }
