package index

import (
	"syscall"
	"unsafe"
)

// hugePagesMin is the smallest array worth backing with huge pages.
const hugePagesMin = 32 << 20 // bytes

// adviseHugePages asks the kernel to back words' memory with transparent
// huge pages when the system leaves that to madvise (the common default).
// The layer-0 block of a large index is hundreds of megabytes written once
// at load: with 4 KiB pages, faulting it in is a large part of the load's
// time, and a search's random reads of it miss the TLB. Call it before the first write. The advice is a hint: a
// kernel that refuses it changes nothing but speed.
func adviseHugePages(words []uint32) {
	size := 4 * cap(words)
	if size < hugePagesMin {
		return
	}
	const page = 4096
	p := unsafe.Pointer(unsafe.SliceData(words[:1]))
	base := uintptr(p)
	start := (base + page - 1) &^ (page - 1)
	end := (base + uintptr(size)) &^ (page - 1)
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-base)), end-start)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
