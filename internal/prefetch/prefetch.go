// Package prefetch asks the CPU to bring memory towards its caches before
// it is read, so that the misses of reads at random across a large
// snapshot overlap instead of following one another. The index package
// has its own, which brings a vector's or a link list's two lines in one
// call: its search loop makes one per neighbour.
package prefetch

import "unsafe"

// Line hints that the cache line at p will be read soon. It never faults:
// p may point anywhere.
func Line(p unsafe.Pointer) { line(p) }
