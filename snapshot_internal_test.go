package soundalike

import (
	"cmp"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"testing"
)

// TestDecodeTracksMatchesTheRecords: the decoding workers, each taking
// blocks of nodes, find what a serial pass over the records finds: every
// Spotify id that differs from its track's id (the last node keeping one
// that tracks share, in whichever worker), and the popularity, clamped,
// that the word index and the facets order the tracks by.
func TestDecodeTracksMatchesTheRecords(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // several workers, even on one core
	const n = 3*decodeBlock + 17
	ts := make([]Track, n)
	for i := range ts {
		if i%7 == 3 {
			continue // a free node
		}
		tr := &ts[i]
		tr.ID = TrackID(fmt.Sprintf("id%06d", i))
		tr.Name = "song"
		tr.Features = Features{Danceability: float64(i%10) / 10, Tempo: float64(100 + i)}
		tr.Popularity = i%130 - 15 // below 0 and above maxPopularity too
		switch i % 5 {
		case 1:
			tr.SpotifyID = string(tr.ID) // the same as the id: not mapped
		case 2:
			tr.SpotifyID = fmt.Sprintf("sp%06d", i)
		case 4:
			tr.SpotifyID = fmt.Sprintf("shared%d", i%3) // shared across blocks
		}
	}
	s := &snapshot{cat: *catalogOf(ts), byID: newIDTable(n)}
	pops, err := s.decodeTracks(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string]uint32)
	for i, tr := range ts {
		if tr.SpotifyID != "" && tr.SpotifyID != string(tr.ID) {
			want[tr.SpotifyID] = uint32(i)
		}
		if got := pops[i]; int(got) != min(max(tr.Popularity, 0), maxPopularity) && tr.ID != "" || tr.ID == "" && got != 0 {
			t.Errorf("node %d: popularity %d, want track's %d clamped", i, got, tr.Popularity)
		}
	}
	if !maps.Equal(s.bySpotify, want) {
		t.Errorf("bySpotify holds %d ids, want %d: %v", len(s.bySpotify), len(want), s.bySpotify)
	}

	var held []uint32
	for i, tr := range ts {
		if tr.ID != "" {
			held = append(held, uint32(i))
		}
	}
	byPop := orderByPopularity(&s.cat, pops)
	asc := slices.Clone(held)
	slices.SortStableFunc(asc, func(a, b uint32) int { return cmp.Compare(pops[a], pops[b]) })
	if !slices.Equal(byPop.nodes, asc) {
		t.Error("the popularity order is not by popularity ascending, then node")
	}
	for p := range maxPopularity + 1 {
		for _, node := range byPop.nodes[byPop.off[p]:byPop.off[p+1]] {
			if int(pops[node]) != p {
				t.Fatalf("node %d of popularity %d is listed at popularity %d", node, pops[node], p)
			}
		}
	}
	desc := slices.Clone(held)
	slices.SortStableFunc(desc, func(a, b uint32) int { return cmp.Compare(pops[b], pops[a]) })
	if !slices.Equal(byPop.descending(), desc) {
		t.Error("the word index's ranks are not by popularity descending, then node")
	}
}

// TestFacetsMatchTheTracks: the facets built from one decoding pass over
// the tracks hold each track's genres (as stored, normalised, each once,
// common ones as bits and the rest, past the 64 most frequent, as rare
// ones), numbered by frequency, its year and popularity, and list the
// tracks of each genre, year and popularity by node.
func TestFacetsMatchTheTracks(t *testing.T) {
	const n = 2000
	ts := make([]Track, n)
	for i := range ts {
		if i%11 == 5 {
			continue // a free node
		}
		tr := &ts[i]
		tr.ID = TrackID(fmt.Sprintf("id%05d", i))
		tr.Features = Features{Tempo: float64(60 + i)}
		tr.Popularity = i%120 - 10
		if i%4 != 0 {
			tr.ReleaseDate = fmt.Sprint(1990 + i%30)
		}
		// 90 genres, genre k on about n/(k+1) tracks, some listed twice or
		// in another case, and one that normalises to nothing.
		for k := range 90 {
			if i%(k+1) == 0 {
				tr.Genres = append(tr.Genres, fmt.Sprintf("Genre %d", k))
			}
		}
		if i%3 == 0 {
			tr.Genres = append(tr.Genres, "GENRE 0", "genre-1", "!!")
		}
	}
	s := &snapshot{cat: *catalogOf(ts), byID: newIDTable(n)}
	pops, err := s.decodeTracks(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	fa := buildFacets(s, orderByPopularity(&s.cat, pops))

	count := make(map[string]int) // listings of each normalised genre
	for _, tr := range ts {
		for _, g := range tr.Genres {
			if ng := normalizeText(g); ng != "" {
				count[ng]++
			}
		}
	}
	names := make([]string, len(fa.genreIDs))
	for g, id := range fa.genreIDs {
		names[id] = g
	}
	if len(names) != len(count) || len(names) <= inlineGenres {
		t.Fatalf("%d genres numbered, want the %d the tracks list (more than %d)", len(names), len(count), inlineGenres)
	}
	for id := 1; id < len(names); id++ {
		a, b := names[id-1], names[id]
		if count[a] < count[b] || count[a] == count[b] && a > b {
			t.Errorf("genre %d %q (%d listings) before %q (%d): want the most frequent first, then by name", id-1, a, count[a], b, count[b])
		}
	}
	byGenre := make([][]uint32, len(names))
	live, byYear, byPop := 0, map[int][]uint32{}, map[int][]uint32{}
	for i, tr := range ts {
		node := uint32(i)
		if tr.ID == "" {
			if fa.attrs[i] != (nodeAttrs{}) {
				t.Errorf("free node %d has attributes %+v", i, fa.attrs[i])
			}
			continue
		}
		live++
		var want []uint32
		for _, g := range tr.Genres {
			if id, ok := fa.genreIDs[normalizeText(g)]; ok && !slices.Contains(want, id) {
				want = append(want, id)
				byGenre[id] = append(byGenre[id], node)
			}
		}
		var got []uint32
		a := fa.attrs[i]
		for id := range uint32(inlineGenres) {
			if a.genres&(1<<id) != 0 {
				got = append(got, id)
			}
		}
		rare := fa.rareGenre[fa.rareOff[i]:fa.rareOff[i+1]]
		got = append(got, rare...)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || a.rare != (len(rare) > 0) {
			t.Errorf("node %d: genres %v (rare %v), want %v", i, got, a.rare, want)
		}
		if y := tr.ReleaseYear(); int(a.year) != y {
			t.Errorf("node %d: year %d, want %d", i, a.year, y)
		} else if y > 0 {
			byYear[y] = append(byYear[y], node)
		}
		p := min(max(tr.Popularity, 0), maxPopularity)
		if int(fa.pops[i]) != p {
			t.Errorf("node %d: popularity %d, want %d", i, fa.pops[i], p)
		}
		byPop[p] = append(byPop[p], node)
	}
	if fa.live != live {
		t.Errorf("%d live tracks, want %d", fa.live, live)
	}
	for id := range names {
		if !slices.Equal(fa.byGenre[id], byGenre[id]) {
			t.Errorf("genre %q lists %d nodes, want %d, ascending", names[id], len(fa.byGenre[id]), len(byGenre[id]))
		}
	}
	for y, want := range byYear {
		if got := fa.yearRange(y, y); !slices.Equal(got, want) {
			t.Errorf("year %d lists %v, want %v", y, got, want)
		}
	}
	for p := range maxPopularity + 1 {
		if got := fa.byPopularity[fa.popOff[p]:fa.popOff[p+1]]; !slices.Equal(got, byPop[p]) {
			t.Errorf("popularity %d lists %v, want %v", p, got, byPop[p])
		}
	}
}
