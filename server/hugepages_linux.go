package server

import (
	"bytes"
	"os"
	"runtime"
	"unsafe"

	"github.com/audotics/soundalike/internal/hugepages"
)

// thpEnabled is the kernel's transparent huge page policy.
const thpEnabled = "/sys/kernel/mm/transparent_hugepage/enabled"

// ReserveHugeHeap prepares the heap of a serving process so that a snapshot
// loaded after it lies on transparent huge pages, and returns the range it
// advised (empty when the kernel's policy makes that moot). Call it before the
// database loads, with the bytes the snapshot and the collector's headroom
// will take (HugeHeapSize).
//
// Where the kernel's policy is "madvise" (the common default) the Go heap
// gets 4 KiB pages, because the runtime does not advise it. A serving
// process reads its snapshot at random, so 4 KiB pages cost TLB misses; and
// on a virtual machine whose kernel runs the DAMON memory monitor, each of
// the monitor's sampling passes over those pages stalls the server for
// milliseconds, far less when the pages are huge (docs/benchmarks.md,
// issue 17). The runtime has no setting for it, so this takes the heap's
// next addresses first: it allocates size bytes, drops any of their pages
// the runtime touched (it zeroes memory the heap used before), advises
// them MADV_HUGEPAGE, and frees them. The load then allocates in that
// advised range, and each first touch gets a huge page. Memory never
// touched is never resident, so the reserve costs address space, not RSS.
//
// Under "always" every heap is on huge pages already, and under "never"
// advice is ignored: both return an empty HugeHeap. So does a kernel that
// refuses the advice; the server then runs as before. Once the snapshot
// is loaded and the heap prefaulted, the caller seals the reserve
// (HugeHeap.Seal).
func ReserveHugeHeap(size int64) HugeHeap {
	if size < hugepages.Size || !thpAdvised() {
		return HugeHeap{}
	}
	b := make([]byte, size)
	p := unsafe.Pointer(unsafe.SliceData(b))
	// Where the allocation reuses memory the heap had used, the runtime
	// zeroed it: resident on 4 KiB pages, it would hold the snapshot on
	// them. The reserve holds nothing, so its pages are dropped first.
	hugepages.Discard(p, uintptr(size))
	n := hugepages.Advise(p, uintptr(size))
	h := HugeHeap{at: uintptr(p), size: uintptr(size), advised: int64(n)}
	runtime.KeepAlive(b)
	runtime.GC() // return the range to the heap before the load allocates
	return h
}

// thpAdvised reports whether the kernel backs memory with transparent huge
// pages only where a process advises it.
func thpAdvised() bool {
	b, err := os.ReadFile(thpEnabled)
	return err == nil && bytes.Contains(b, []byte("[madvise]"))
}
