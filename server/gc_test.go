package server

import "testing"

// The serving target lets the heap grow by half the live heap, or by
// 256 MiB when that is more, before collecting.
func TestServingGCPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{683 << 20, 50},  // 1M tracks: half the snapshot
		{512 << 20, 50},  // where the two runways meet
		{256 << 20, 100}, // 256 MiB of runway
		{32 << 20, 800},  // the 23k dev catalogue
		{1 << 20, 10000}, // capped
		{0, 10000},       // nothing live yet
		{4 << 30, 50},    // never below half the live heap
	} {
		if got := servingGCPercent(c.live); got != c.want {
			t.Errorf("servingGCPercent(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}
