package ingest

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortByID: the radix sort orders as a stable sort by id does, rows of
// one id in the order added, whichever bytes the ids differ in.
func TestSortByID(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		id   func() uint64
	}{
		{"random", rng.Uint64},
		{"few ids", func() uint64 { return rng.Uint64N(50) * 0x0101010101010101 }},
		{"high bytes only", func() uint64 { return rng.Uint64N(300) << 48 }},
		{"one id", func() uint64 { return 7 }},
	} {
		for _, n := range []int{0, 1, 2, 1000} {
			rows := make([]trackSeen, n)
			for i := range rows {
				rows[i] = trackSeen{id: tc.id(), values: rng.Uint64(), at: i + 1}
			}
			want := slices.Clone(rows)
			slices.SortStableFunc(want, func(a, b trackSeen) int { return cmp.Compare(a.id, b.id) })
			if got := sortByID(rows); !slices.Equal(got, want) {
				t.Errorf("%s, %d rows: sortByID differs from a stable sort by id", tc.name, n)
			}
		}
	}
}

// TestRepeatReserve: the room reserved follows the share of tracks among
// the rows read, and is none for an interaction log.
func TestRepeatReserve(t *testing.T) {
	r := newRepeatTracker()
	r.reserve(1_000_000, 8192) // an interaction log: no track yet
	if cap(r.rows) != 0 {
		t.Errorf("an interaction log reserved room for %d tracks, want 0", cap(r.rows))
	}
	for i := range 100 {
		r.add(Record{Source: "f.csv", Line: i + 2}, uint64(i), 0, putAdded)
	}
	r.reserve(10_000, 200) // half the rows read had tracks
	if c := cap(r.rows); c < 100+5000 || c > 2*(100+5000) {
		t.Errorf("room for %d tracks after 100 of 200 rows and 10,000 more rows, want about 5,100", c)
	}
}
