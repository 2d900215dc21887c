package soundalike

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The two ways of answering a prefix agree, whatever the prefix.
func TestPrefixScanAndMergeAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	syll := []string{"la", "lo", "li", "ma", "mo", "na", "ne", "ra", "ri", "sa"}
	word := func() string {
		w := ""
		for range 1 + rng.IntN(3) {
			w += syll[rng.IntN(len(syll))]
		}
		return w
	}
	ts := make([]Track, 3000)
	for i := range ts {
		ts[i] = Track{ID: TrackID(fmt.Sprint(i)), Name: word() + " " + word(), Artists: []string{word()}, Popularity: rng.IntN(101)}
	}
	x := buildWordIndex(ts)
	for _, p := range []string{"l", "la", "lal", "m", "ma", "mon", "n", "r", "s", "sa", "z"} {
		lo, hi, exact := x.prefixRange(p)
		if exact {
			lo++
		}
		for _, k := range []int{1, 10, 100} {
			no := func(uint32) bool { return false }
			scan := x.prefixByScan(nil, lo, hi, k, no)
			merge := x.prefixByMerge(nil, lo, hi, k, no)
			if !slices.Equal(scan, merge) {
				t.Errorf("prefix %q, k %d: scan %v, merge %v", p, k, scan, merge)
			}
			for i := 1; i < len(scan); i++ {
				a, b := &ts[x.byRank[scan[i-1]]], &ts[x.byRank[scan[i]]]
				if a.Popularity < b.Popularity {
					t.Errorf("prefix %q: popularity %d before %d", p, a.Popularity, b.Popularity)
				}
			}
		}
	}
}
