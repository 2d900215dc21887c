package index

import (
	"unsafe"

	"github.com/audotics/soundalike/internal/hugepages"
)

// hugePagesMin is the smallest array worth backing with huge pages.
const hugePagesMin = 32 << 20 // bytes

// adviseHugePages asks the kernel to back words' memory with transparent
// huge pages when the system leaves that to madvise (the common default).
// The layer-0 block of a large index is hundreds of megabytes written once
// at load: with 4 KiB pages, faulting it in is a large part of the load's
// time, and a search's random reads of it miss the TLB. Call it before the
// first write.
func adviseHugePages(words []uint32) {
	if size := 4 * cap(words); size >= hugePagesMin {
		hugepages.Advise(unsafe.Pointer(unsafe.SliceData(words[:1])), uintptr(size))
	}
}
