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

// hugeHeapMinFile is the smallest database file whose snapshot is served
// from a reserved huge heap. A small snapshot gains nothing from it: at the
// dev catalogue (23k tracks, a 34 MB file) the reserve left throughput as
// it was and lengthened the open-loop tail, where at 1M (585 MB) it cut
// that tail to a fifth (docs/benchmarks.md, issue 17).
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
