package soundalike

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
	x := wordIndexOf(ts)
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

// search agrees with a brute-force pass over every track in rank order,
// on queries of one to three words from the catalogue's own tracks.
func TestSearchAgreesWithBruteForce(t *testing.T) {
	ts, rng := scaleTracks(5_000)
	x := wordIndexOf(ts)
	brute := func(q []string, k int) []uint32 {
		var best, rest []uint32
		last := q[len(q)-1]
		for r := range uint32(len(x.byRank)) {
			var ws []string
			for _, w := range x.wordsOf(r) {
				ws = append(ws, x.words.at(int(w)))
			}
			all := true
			for _, w := range q[:len(q)-1] {
				all = all && slices.Contains(ws, w)
			}
			if !all {
				continue
			}
			switch {
			case slices.Contains(ws, last):
				best = append(best, r)
			case slices.ContainsFunc(ws, func(w string) bool { return strings.HasPrefix(w, last) }):
				rest = append(rest, r)
			}
		}
		out := append(best, rest...)
		return out[:min(len(out), k)]
	}
	for i := range 300 {
		t0 := &ts[rng.IntN(len(ts))]
		ws := appendWords(nil, nil, t0.Name+" "+t0.Artists[0])
		n := 1 + i%3
		if len(ws) < n {
			continue
		}
		q := slices.Clone(ws[:n])
		last := q[n-1]
		if i%2 == 0 {
			q[n-1] = last[:1+rng.IntN(len(last))]
		}
		all := brute(q, 100)
		for _, k := range []int{1, 10, 100} {
			got, want := x.search(q, k), all[:min(len(all), k)]
			if !slices.Equal(got, want) {
				t.Fatalf("search(%q, %d) = %v, brute force %v", q, k, got, want)
			}
		}
	}
}

// wordIndexOf builds the word index of a catalogue of ts, as a snapshot's
// derive does.
func wordIndexOf(ts []Track) *wordIndex {
	pops := make([]uint8, len(ts))
	for i := range ts {
		pops[i] = clampPopularity(ts[i].Popularity)
	}
	c := catalogOf(ts)
	return buildWordIndex(c, orderByPopularity(c, pops))
}
