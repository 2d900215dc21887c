package server

import "os"

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
