// Package hugepages asks the kernel to back memory with huge pages: the one
// place that knows the page size, how to advise memory onto transparent
// huge pages, and how to map it from the hugetlb pool.
package hugepages

// Size is the size of a transparent huge page on the platforms that offer
// them (x86-64 and arm64 with 4 KiB base pages).
const Size = 2 << 20

// Within returns the whole huge pages inside the n bytes at address p as
// the range [start, end); start == end when none fits.
func Within(p, n uintptr) (start, end uintptr) {
	start = (p + Size - 1) &^ (Size - 1)
	end = (p + n) &^ (Size - 1)
	if end < start {
		end = start
	}
	return start, end
}
