package soundalike_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/audotics/soundalike"
)

func TestParseTrackRef(t *testing.T) {
	const id = "4uLU6hMCjMI75M1A2tKUQC"
	accepted := map[string]soundalike.TrackID{
		id:                                     id,
		"  " + id + "\n":                       id,
		"some-uuid/with spaces":                "some-uuid/with spaces", // a catalogue's own id, as given
		"spotify:track:" + id:                  id,
		"SPOTIFY:TRACK:" + id:                  id,
		"https://open.spotify.com/track/" + id: id,
		"https://open.spotify.com/track/" + id + "?si=abc123&utm=x": id,
		"https://open.spotify.com/track/" + id + "/":                id,
		"https://open.spotify.com/track/" + id + "#frag":            id,
		"https://open.spotify.com/intl-de/track/" + id + "?si=1":    id,
		"http://open.spotify.com/track/" + id:                       id,
		"open.spotify.com/track/" + id:                              id,
		"HTTPS://OPEN.SPOTIFY.COM/intl-pt-BR/track/" + id:           id,
	}
	for in, want := range accepted {
		got, err := soundalike.ParseTrackRef(in)
		if err != nil || got != want {
			t.Errorf("ParseTrackRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	refused := []string{
		"", "   ",
		"spotify:album:" + id,
		"spotify:track:",
		"spotify:track:abc-def",
		"https://open.spotify.com/album/" + id,
		"https://open.spotify.com/track/",
		"https://open.spotify.com/intl-de/album/" + id,
		"https://open.spotify.com/track/" + id + "/extra",
		"https://example.com/track/" + id,
		"http://",
		"a\x00b",
	}
	for _, in := range refused {
		got, err := soundalike.ParseTrackRef(in)
		if !errors.Is(err, soundalike.ErrInvalidQuery) {
			t.Errorf("ParseTrackRef(%q) = %q, %v; want an error wrapping ErrInvalidQuery", in, got, err)
		}
	}
}

// TestTrackRefsResolve checks that every lookup by a track finds it by id,
// URI, link, and by the Spotify id a catalogue keeps beside its own id.
func TestTrackRefsResolve(t *testing.T) {
	ctx := context.Background()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "refs.db"), 200)
	const spotifyID = "0VjIjW4GlUZAMYd2vXMi3b"
	uuid := soundalike.TrackID("8f14e45f-ceea-467e-a9a8-0c1c8e5a0b7e")
	moved := *tracks[5]
	moved.ID, moved.SpotifyID, moved.Name = uuid, spotifyID, "Moved"
	if err := eng.Import(ctx, func(tx *soundalike.ImportTx) error { _, _, err := tx.PutTrack(&moved); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reindex(ctx, nil); err != nil { // the moved track is searchable
		t.Fatal(err)
	}
	base, err := eng.Similar(ctx, tracks[10].ID, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"spotify:track:" + string(tracks[10].ID), "https://open.spotify.com/intl-fr/track/" + string(tracks[10].ID) + "?si=x"} {
		res, err := eng.Similar(ctx, soundalike.TrackID(ref), 5, nil)
		if err != nil {
			t.Fatalf("Similar(%q): %v", ref, err)
		}
		if res.Query.ID != tracks[10].ID || len(res.Neighbors) != len(base.Neighbors) || res.Neighbors[0].ID != base.Neighbors[0].ID {
			t.Errorf("Similar(%q) answered for %q, %v; want the answer for %q", ref, res.Query.ID, res.Neighbors, tracks[10].ID)
		}
	}
	for _, ref := range []string{spotifyID, "spotify:track:" + spotifyID, "https://open.spotify.com/track/" + spotifyID, string(uuid)} {
		tr, err := eng.Track(ctx, soundalike.TrackID(ref))
		if err != nil || tr.ID != uuid {
			t.Errorf("Track(%q) = %v, %v; want track %s", ref, tr, err, uuid)
		}
		res, err := eng.Similar(ctx, soundalike.TrackID(ref), 3, nil)
		if err != nil || res.Query.ID != uuid {
			t.Errorf("Similar(%q): query %v, %v; want track %s", ref, res.Query, err, uuid)
		}
		// Exclude resolves the reference too: with another seed and a k
		// that covers the catalogue, the track comes back unless excluded.
		seed := soundalike.Query{Tracks: []soundalike.TrackID{tracks[10].ID}}
		for _, exclude := range []bool{false, true} {
			opts := &soundalike.SearchOptions{NoDedupe: true}
			if exclude {
				opts.Exclude = []soundalike.TrackID{soundalike.TrackID(ref)}
			}
			res, err = eng.SimilarTo(ctx, seed, 250, opts)
			if err != nil {
				t.Fatalf("SimilarTo(exclude %q): %v", ref, err)
			}
			found := slices.ContainsFunc(res.Neighbors, func(n soundalike.Neighbor) bool { return n.ID == uuid })
			if found == exclude {
				t.Errorf("SimilarTo with Exclude %q (%v): track %s returned = %v, want %v", ref, exclude, uuid, found, !exclude)
			}
		}
	}
	if _, err := eng.Track(ctx, "spotify:album:"+spotifyID); !errors.Is(err, soundalike.ErrInvalidQuery) {
		t.Errorf("Track(album URI) = %v, want ErrInvalidQuery", err)
	}
	if _, err := eng.Similar(ctx, "spotify:track:nope", 3, nil); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Similar(unknown URI) = %v, want ErrNotFound", err)
	}
}

// Similar leaves out another remaster of the query's recording, unless
// NoDedupe; a live recording stays.
func TestSimilarDedupesRemasters(t *testing.T) {
	ctx := context.Background()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "remaster.db"), 300)
	mk := func(id, name string, dTempo float64) *soundalike.Track {
		tr := *tracks[3]
		tr.ID, tr.Name, tr.Artists = soundalike.TrackID(id), name, []string{"Led Zeppelin"}
		tr.Features.Tempo += dTempo
		return &tr
	}
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, tr := range []*soundalike.Track{mk("k1990", "Kashmir - 1990 Remaster", 0), mk("k2012", "Kashmir - 2012 Remaster", 0.5), mk("klive", "Kashmir - Live", 1)} {
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	has := func(res soundalike.Results, id soundalike.TrackID) bool {
		for _, n := range res.Neighbors {
			if n.ID == id {
				return true
			}
		}
		return false
	}
	res, err := eng.Similar(ctx, "k1990", 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if has(res, "k2012") || !has(res, "klive") {
		t.Errorf("Similar(k1990) = %v: want klive and not k2012", res.Neighbors)
	}
	res, err = eng.Similar(ctx, "k1990", 20, &soundalike.SearchOptions{NoDedupe: true})
	if err != nil {
		t.Fatal(err)
	}
	if !has(res, "k2012") {
		t.Errorf("Similar(k1990, NoDedupe) = %v: want k2012", res.Neighbors)
	}
}
