package hugepages

import (
	"fmt"
	"syscall"
	"unsafe"
)

// Advise asks the kernel to back the whole huge pages inside the n bytes at
// p with transparent huge pages (MADV_HUGEPAGE), and returns the bytes
// advised: 0 when no whole huge page fits or the kernel refuses. Only
// memory not yet touched gets huge pages at once; the advice is a hint, and
// a kernel that ignores it changes nothing but speed.
func Advise(p unsafe.Pointer, n uintptr) uintptr {
	return madvise(uintptr(p), n, syscall.MADV_HUGEPAGE)
}

// Discard drops the contents of the whole huge pages inside the n bytes at
// p (MADV_DONTNEED): they read as zeros afterwards, and the next touch
// faults in a new page. Memory the Go runtime zeroed when it allocated it
// is resident on base pages, and a fault brings a huge page only where no
// page table maps that huge page's range yet. Kernels that free the page
// tables MADV_DONTNEED empties (this project's does; TestReserveHugeHeap
// checks it) then give the range huge pages again.
func Discard(p unsafe.Pointer, n uintptr) {
	madvise(uintptr(p), n, syscall.MADV_DONTNEED)
}

// Unadvise withdraws Advise's advice from the huge pages inside the n
// bytes at address p (MADV_NOHUGEPAGE): the huge pages already touched
// stay, memory touched later gets base pages, and khugepaged no longer
// collapses base pages there. It takes an address rather than a pointer so
// that a caller can keep a range of memory it has freed, which the Go
// runtime keeps mapped.
func Unadvise(p, n uintptr) {
	madvise(p, n, syscall.MADV_NOHUGEPAGE)
}

// madvise gives advice to the whole huge pages inside the n bytes at
// address p and returns the bytes advised: 0 when none fits or the kernel
// refuses.
func madvise(p, n uintptr, advice int) uintptr {
	start, end := Within(p, n)
	if end == start {
		return 0
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, uintptr(advice)); errno != 0 {
		return 0
	}
	return end - start
}

// MapPool maps n bytes, rounded up to whole huge pages, from the pool of
// huge pages that sysctl vm.nr_hugepages reserves (hugetlb). The kernel
// reserves the pages when it maps them, so a pool without room fails here
// (ENOMEM), never at a later touch. The memory reads as zeros, lies outside
// the Go heap and stays mapped until Unmap.
func MapPool(n int) ([]byte, error) {
	if n <= 0 {
		return nil, fmt.Errorf("mapping %d bytes from the hugetlb pool: want more than 0", n)
	}
	size := (n + Size - 1) &^ (Size - 1)
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE|syscall.MAP_HUGETLB)
	if err != nil {
		return nil, fmt.Errorf("mapping %d MiB from the hugetlb pool: %w (it needs %d free 2 MiB pages: HugePages_Free in /proc/meminfo; sysctl vm.nr_hugepages reserves them)",
			size>>20, err, size/Size)
	}
	return b[:n], nil
}

// Unmap unmaps memory that MapPool returned. Nothing may read it after.
func Unmap(b []byte) error {
	return syscall.Munmap(b[:cap(b)])
}
