// Package memsize holds the one estimate of a Go map's memory, for the
// footprints that count maps beside arrays (the index's id → slot map, the
// snapshot's maps by id).
package memsize

// Map estimates the memory of a Go map of n entries of entry bytes each
// (key and value): Go's swiss tables keep a control byte per slot and
// fill their groups to at most 7/8.
func Map(n int, entry int) int64 {
	return int64(n) * int64(entry+1) * 8 / 7
}
