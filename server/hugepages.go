package server

import (
	"os"

	"github.com/audotics/soundalike/internal/hugepages"
)

// hugeHeapFactor sizes the reserve from the database file: the loaded
// snapshot is about the file's size (642 bytes a track in memory, 585 in
// the file at 1M), and the collector's headroom at ServingGCPercent adds
// half of it again.
const hugeHeapFactor = 2

// hugeHeapMinFile is the smallest database file whose snapshot is served
// from a reserved huge heap. A snapshot of a few tens of megabytes fits
// the TLB's reach on 4 KiB pages well enough and gains nothing from it
// (docs/benchmarks.md, issue 17, has the measurements at 23k and 1M).
const hugeHeapMinFile = 256 << 20

// HugeHeapSize returns the bytes ReserveHugeHeap should reserve for
// serving the database file at path: 0 for a file under hugeHeapMinFile,
// and when the file cannot be read (the open that follows reports why).
func HugeHeapSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() < hugeHeapMinFile {
		return 0
	}
	return hugeHeapFactor * fi.Size()
}

// HugeHeap is the range of the heap ReserveHugeHeap advised onto huge
// pages. The Go runtime never unmaps heap memory, so the range stays valid
// after the reserve itself is freed.
type HugeHeap struct {
	at, size uintptr // the reserve's allocation
	advised  int64   // bytes advised; 0 when the reserve did nothing
}

// Size returns the bytes advised onto huge pages: 0 when the reserve did
// nothing.
func (h HugeHeap) Size() int64 { return h.advised }

// Seal withdraws the advice once the snapshot is loaded and the heap has
// grown to its serving size (PrefaultHeap). The huge pages the heap has
// touched stay. Memory it touches from then on gets base pages: a page
// fault while serving costs a 4 KiB page, not the zeroing of 2 MiB
// (milliseconds on a virtual machine; docs/benchmarks.md, issue 17). The
// kernel's khugepaged, which under the madvise policy scans only advised
// ranges, leaves the range alone from then on.
func (h HugeHeap) Seal() {
	if h.advised > 0 {
		hugepages.Unadvise(h.at, h.size)
	}
}
