package soundalike_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
)

// Given a query track (cold start), expect CheckQueryTrack to accept one
// without an id, which is searched by and not stored, and to refuse what
// an import refuses with an error that wraps ErrInvalidQuery and names
// the field (a *FieldError a caller may rename); a nil track is refused,
// not a panic.
func TestCheckQueryTrack(t *testing.T) {
	good := func() *soundalike.Track { return &soundalike.Track{Name: "n", Artists: []string{"a"}, Popularity: 50} }
	if err := soundalike.CheckQueryTrack(good()); err != nil {
		t.Errorf("CheckQueryTrack(a good track without an id) = %v, want nil", err)
	}
	for _, c := range []struct {
		name  string
		track *soundalike.Track
		field string
	}{
		{"popularity", func() *soundalike.Track { tr := good(); tr.Popularity = 101; return tr }(), "popularity"},
		{"release date", func() *soundalike.Track { tr := good(); tr.ReleaseDate = "2019-13"; return tr }(), "release_date"},
		{"artist", func() *soundalike.Track { tr := good(); tr.Artists = []string{"\xff"}; return tr }(), "artists"},
	} {
		err := soundalike.CheckQueryTrack(c.track)
		fe, ok := errors.AsType[*soundalike.FieldError](err)
		if !errors.Is(err, soundalike.ErrInvalidQuery) || !ok || fe.Field != c.field {
			t.Errorf("CheckQueryTrack(bad %s) = %v, want ErrInvalidQuery and a FieldError of %s", c.name, err, c.field)
		}
	}
	if err := soundalike.CheckQueryTrack(nil); !errors.Is(err, soundalike.ErrInvalidQuery) {
		t.Errorf("CheckQueryTrack(nil) = %v, want ErrInvalidQuery", err)
	}
}

// Given a query's seeds, expect CheckSeeds to pass references that any
// stored id could be, found or not, and to name the first that none could
// be by its place in Query.Tracks, as CheckSimilarTo names it.
func TestCheckSeeds(t *testing.T) {
	if err := soundalike.CheckSeeds([]soundalike.TrackID{"a", "no such track", "spotify:track:x"}); err != nil {
		t.Errorf("CheckSeeds(references any id could be) = %v, want nil", err)
	}
	seeds := []soundalike.TrackID{"a", "", "b\x00"}
	err := soundalike.CheckSeeds(seeds)
	re, ok := errors.AsType[*soundalike.TrackRefError](err)
	if !ok || re.Option != "Query.Tracks" || re.Index != 1 || !errors.Is(err, soundalike.ErrInvalidQuery) {
		t.Fatalf("CheckSeeds(%q) = %v, want a TrackRefError of Query.Tracks[1]", seeds, err)
	}
	if got := soundalike.CheckSimilarTo(soundalike.Query{Tracks: seeds}, 10, nil); got == nil || !strings.Contains(got.Error(), "Query.Tracks[1]: empty track reference") {
		t.Errorf("CheckSimilarTo(seeds %q) = %v, want Query.Tracks[1] refused", seeds, got)
	}
}
