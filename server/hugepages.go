package server

import "os"

// hugePageSize is the size of a transparent huge page on the platforms
// that offer them (x86-64 and arm64 with 4 KiB base pages).
const hugePageSize = 2 << 20

// hugeHeapFactor sizes the reserve from the database file: the loaded
// snapshot is about the file's size (642 bytes a track in memory, 585 in
// the file at 1M), and the collector's headroom at ServingGCPercent adds
// half of it again.
const hugeHeapFactor = 2

// HugeHeapSize returns the bytes ReserveHugeHeap should reserve for
// serving the database file at path, or 0 when the file cannot be read
// (the open that follows then reports why).
func HugeHeapSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return hugeHeapFactor * fi.Size()
}
