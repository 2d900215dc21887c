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
