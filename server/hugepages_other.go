//go:build !linux

package server

// ReserveHugeHeap does nothing where the kernel offers no madvise for
// transparent huge pages; it returns 0.
func ReserveHugeHeap(size int64) int64 { return 0 }
