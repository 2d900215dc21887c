package hugepages

import (
	"syscall"
	"unsafe"
)

// Advise asks the kernel to back the whole huge pages inside the n bytes at
// p with transparent huge pages (MADV_HUGEPAGE), and returns the bytes
// advised: 0 when no whole huge page fits or the kernel refuses. Only
// memory not yet touched gets huge pages at once; the advice is a hint, and
// a kernel that ignores it changes nothing but speed.
func Advise(p unsafe.Pointer, n uintptr) uintptr {
	base := uintptr(p)
	start := (base + Size - 1) &^ (Size - 1)
	end := (base + n) &^ (Size - 1)
	if end <= start {
		return 0
	}
	r := unsafe.Slice((*byte)(unsafe.Add(p, start-base)), end-start)
	if syscall.Madvise(r, syscall.MADV_HUGEPAGE) != nil {
		return 0
	}
	return end - start
}
