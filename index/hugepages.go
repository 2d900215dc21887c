package index

import (
	"runtime"
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

// poolMem is memory mapped from the hugetlb pool (ReadOptions.HugeTLB),
// outside the Go heap: the cleanup registered by poolWords unmaps it once
// the poolMem is unreachable. An HNSW whose layer 0 lives there holds its
// poolMem in l0m, and every method that reads layer 0 holds g.mu until it
// returns, which keeps g, and so the mapping, alive while it reads.
type poolMem struct{ b []byte }

// poolWords maps room for c words from the hugetlb pool and returns it as
// an empty slice of capacity c (64-byte aligned: a mapping starts on a huge
// page), with the poolMem that owns it.
func poolWords(c int) ([]uint32, *poolMem, error) {
	b, err := hugepages.MapPool(4 * c)
	if err != nil {
		return nil, nil, err
	}
	m := &poolMem{b: b}
	runtime.AddCleanup(m, func(b []byte) { _ = hugepages.Unmap(b) }, b)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), c)[:0], m, nil
}
