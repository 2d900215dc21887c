//go:build !linux

package server

// ReserveHugeHeap does nothing where the kernel offers no madvise for
// transparent huge pages; it returns an empty HugeHeap.
func ReserveHugeHeap(size int64) HugeHeap { return HugeHeap{} }
