// Package hugepages asks the kernel to back memory with transparent huge
// pages: the one place that knows the page size and how to advise it.
package hugepages

// Size is the size of a transparent huge page on the platforms that offer
// them (x86-64 and arm64 with 4 KiB base pages).
const Size = 2 << 20
