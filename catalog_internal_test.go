package soundalike

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A catalog gives back every track as it went in, free nodes as zero
// Tracks, a record larger than a chunk included, and each Track's slices
// are its own.
func TestCatalogRoundTrip(t *testing.T) {
	ts := []Track{
		{ID: "a", Name: "Song", Artists: []string{"X", "Y"}, Album: "Al", Popularity: 7, DurationMS: 1000,
			ReleaseDate: "2020-01-02", Genres: []string{"pop"}, Subgenres: []string{"dance pop"}, SpotifyID: "sp",
			Features: Features{Danceability: 0.5, Key: 3, Mode: 1, Tempo: 120}},
		{}, // a free node
		{ID: "big", Name: strings.Repeat("n", 2*catalogChunk), Artists: []string{"Z"}},
		{ID: "c", Name: "Other"},
	}
	c := catalogOf(ts)
	if c.len() != len(ts) {
		t.Fatalf("len() = %d, want %d", c.len(), len(ts))
	}
	for n := range ts {
		got := c.track(uint32(n))
		if diff := cmp.Diff(ts[n], *got); diff != "" {
			t.Errorf("track(%d) differs (-want +got):\n%s", n, diff)
		}
		if c.id(uint32(n)) != ts[n].ID {
			t.Errorf("id(%d) = %q, want %q", n, c.id(uint32(n)), ts[n].ID)
		}
	}
	a := c.track(0)
	a.Artists[0] = "changed"
	if b := c.track(0); b.Artists[0] != "X" {
		t.Errorf("after changing a returned track's artists, track(0).Artists = %q, want [X Y]", b.Artists)
	}
}

// An idTable finds every id it was given, past its initial capacity, and
// no other.
func TestIDTable(t *testing.T) {
	ts := make([]Track, 1000)
	for i := range ts {
		if i%7 != 3 { // some free nodes
			ts[i].ID = TrackID(fmt.Sprintf("id%d", i))
		}
	}
	c := catalogOf(ts)
	x := newIDTable(10)
	for n := range ts {
		if ts[n].ID != "" {
			x.insert(c, uint32(n))
		}
	}
	for n := range ts {
		got, ok := x.find(c, fmt.Sprintf("id%d", n))
		if want := ts[n].ID != ""; ok != want || (ok && got != uint32(n)) {
			t.Errorf("find(id%d) = %d, %v, want %d, %v", n, got, ok, n, want)
		}
	}
	if _, ok := x.find(c, "nope"); ok {
		t.Errorf(`find("nope") found a node`)
	}
}

// catalogOf builds the catalog of tracks by node (a zero Track is a free
// node).
func catalogOf(ts []Track) *catalog {
	c := newCatalog(len(ts))
	w := catalogWriter{c: &c}
	for n := range ts {
		if ts[n].ID != "" {
			w.add(uint32(n), string(ts[n].ID), encodeTrack(nil, &ts[n]))
		}
	}
	return &c
}
