package soundalike_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
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
	// An album URI may be a stored id: one that is none names no track,
	// with a hint of the forms that name one.
	if _, err := eng.Track(ctx, "spotify:album:"+spotifyID); !errors.Is(err, soundalike.ErrNotFound) || errors.Is(err, soundalike.ErrInvalidQuery) || !strings.Contains(err.Error(), "spotify:track:ID or https://open.spotify.com/track/ID") {
		t.Errorf("Track(album URI) = %v, want ErrNotFound saying what a Spotify reference must be", err)
	}
	// A track not found is said so once, in the command line's words.
	for ref, want := range map[soundalike.TrackID]string{
		"nope":               `track "nope" is not in the catalogue (never imported, or deleted since)`,
		"spotify:album:nope": `track "spotify:album:nope" is not in the catalogue (never imported, or deleted since); a Spotify reference must be spotify:track:ID or https://open.spotify.com/track/ID`,
	} {
		if _, err := eng.Track(ctx, ref); !errors.Is(err, soundalike.ErrNotFound) || err.Error() != want {
			t.Errorf("Track(%q) = %v, want ErrNotFound: %s", ref, err, want)
		}
	}
	if _, err := eng.Similar(ctx, "spotify:track:nope", 3, nil); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Similar(unknown URI) = %v, want ErrNotFound", err)
	}
}

// TestTrackRefsInOptions: Exclude and Filter.IDs take a track whose
// stored id ParseTrackRef refuses (a link to another site, an album URI)
// as they take any id, and ignore a reference that names no track,
// whatever its form: a deleted track's id of such a form among them, as
// the API returned it. Where a query names one track (Similar's, Track's,
// a seed, an example), such a reference is a track not found, with a hint
// of the Spotify forms when it has the look of one. Only a reference that
// no stored id could be (empty, too long, holding a NUL byte) fails the
// query, with a TrackRefError naming the option, wherever a query takes
// references, quoting it escaped and clipped. A user whose history holds
// a deleted track's id still gets recommendations: the history's tracks
// are excluded, unchecked.
func TestTrackRefsInOptions(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "opts.db"), 200)
	stored := []soundalike.TrackID{"https://example.com/t/1", "spotify:album:x"}
	const gone = soundalike.TrackID("https://example.com/t/gone")
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for i, id := range append(slices.Clone(stored), gone) {
			tr := *tracks[20+i]
			tr.ID, tr.Name = id, "Odd "+string(id)
			if _, _, err := tx.PutTrack(&tr); err != nil {
				return err
			}
		}
		for _, id := range []soundalike.TrackID{gone, tracks[30].ID} {
			if _, err := tx.PutInteraction(&soundalike.Interaction{User: "u1", Track: id, Action: soundalike.ActionLike}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = eng.Import(ctx, func(tx *soundalike.ImportTx) error { _, err := tx.DeleteTrack(gone); return err })
	}
	if err == nil {
		_, err = eng.Reindex(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	seed := soundalike.Query{Tracks: []soundalike.TrackID{tracks[10].ID}}
	returned := func(res soundalike.Results) []soundalike.TrackID {
		var ids []soundalike.TrackID
		for _, n := range res.Neighbors {
			ids = append(ids, n.ID)
		}
		return ids
	}

	opts := &soundalike.SearchOptions{NoDedupe: true, Exclude: []soundalike.TrackID{stored[0], "spotify:track:nothere", gone, stored[1], "nothere", "spotify:album:y", "  "}}
	res, err := eng.SimilarTo(ctx, seed, 250, opts)
	if err != nil {
		t.Fatalf("SimilarTo excluding %q: %v", opts.Exclude, err)
	}
	// 204 tracks: the fixture's 202 and the two stored above.
	if ids := returned(res); slices.Contains(ids, stored[0]) || slices.Contains(ids, stored[1]) || len(ids) != 201 {
		t.Errorf("SimilarTo excluding %q = %d tracks, %q among them: want the 201 others", opts.Exclude, len(ids), ids)
	}
	opts = &soundalike.SearchOptions{NoDedupe: true, Filter: &soundalike.Filter{IDs: []soundalike.TrackID{stored[1], "spotify:track:nothere", gone, stored[0], "nothere", "https://open.spotify.com/album/y"}}}
	res, err = eng.SimilarTo(ctx, seed, 10, opts)
	if ids := returned(res); err != nil || len(ids) != 2 || !slices.Contains(ids, stored[0]) || !slices.Contains(ids, stored[1]) {
		t.Errorf("SimilarTo with Filter.IDs %q = %q, %v; want %q", opts.Filter.IDs, ids, err, stored)
	}

	// Spaces around such an id are trimmed, as around any reference.
	for _, id := range stored {
		if tr, err := eng.Track(ctx, " "+id+"\n"); err != nil || tr.ID != id {
			t.Errorf("Track(%q) = %v, %v; want track %q", " "+id+"\n", tr, err, id)
		}
	}

	const hint = "a Spotify reference must be spotify:track:ID or https://open.spotify.com/track/ID"
	for _, tc := range []struct {
		name  string
		query func() error
		hint  bool
	}{
		{"Similar/deleted", func() error { _, err := eng.Similar(ctx, gone, 5, nil); return err }, true},
		{"Similar/album", func() error { _, err := eng.Similar(ctx, "spotify:album:y", 5, nil); return err }, true},
		{"Similar/album link", func() error { _, err := eng.Similar(ctx, "https://open.spotify.com/album/y", 5, nil); return err }, true},
		{"Similar/plain", func() error { _, err := eng.Similar(ctx, "nothere", 5, nil); return err }, false},
		{"Similar/spaces", func() error { _, err := eng.Similar(ctx, "  ", 5, nil); return err }, false},
		{"Track/deleted", func() error { _, err := eng.Track(ctx, gone); return err }, true},
		{"SimilarTo/Tracks", func() error {
			_, err := eng.SimilarTo(ctx, soundalike.Query{Tracks: []soundalike.TrackID{stored[0], "spotify:album:y"}}, 5, nil)
			return err
		}, true},
		{"Recommend/Negative", func() error {
			_, err := eng.Recommend(ctx, soundalike.RecommendQuery{K: 5,
				Positive: []soundalike.Example{{Track: stored[0]}}, Negative: []soundalike.Example{{Track: stored[1]}, {Track: gone}}})
			return err
		}, true},
	} {
		err := tc.query()
		if !errors.Is(err, soundalike.ErrNotFound) || errors.Is(err, soundalike.ErrInvalidQuery) {
			t.Errorf("%s = %v, want ErrNotFound, not ErrInvalidQuery", tc.name, err)
			continue
		}
		if got := strings.Contains(err.Error(), hint); got != tc.hint {
			t.Errorf("%s = %q: holds %q = %v, want %v", tc.name, err, hint, got, tc.hint)
		}
	}

	hostile := "spotify:album:\x00" + strings.Repeat("\x1b", 60)
	long := soundalike.TrackID(strings.Repeat("x", soundalike.MaxKeyLen+1))
	for _, tc := range []struct {
		name   string
		query  func() error
		option string
		index  int
		quoted string
	}{
		{"Similar/empty", func() error {
			_, err := eng.Similar(ctx, "", 5, nil)
			return err
		}, "", 0, "empty track reference"},
		{"Track/NUL", func() error {
			_, err := eng.Track(ctx, "a\x00b")
			return err
		}, "", 0, `"a\x00b" holds a NUL byte`},
		{"Similar/Exclude/empty", func() error {
			_, err := eng.Similar(ctx, tracks[10].ID, 5, &soundalike.SearchOptions{Exclude: []soundalike.TrackID{stored[0], gone, ""}})
			return err
		}, "SearchOptions.Exclude", 2, "empty track reference"},
		{"Similar/Exclude/hostile", func() error {
			_, err := eng.Similar(ctx, tracks[10].ID, 5, &soundalike.SearchOptions{Exclude: []soundalike.TrackID{soundalike.TrackID(hostile)}})
			return err
		}, "SearchOptions.Exclude", 0, `"spotify:album:\x00\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b…(75 bytes)"`},
		{"SimilarTo/Filter.IDs/long", func() error {
			_, err := eng.SimilarTo(ctx, seed, 5, &soundalike.SearchOptions{Filter: &soundalike.Filter{IDs: []soundalike.TrackID{stored[1], " " + long + " "}}})
			return err
		}, "SearchOptions.Filter.IDs", 1, "track reference of 1025 bytes: ids are at most 1024"},
		{"SimilarTo/Tracks", func() error {
			_, err := eng.SimilarTo(ctx, soundalike.Query{Tracks: []soundalike.TrackID{stored[0], "a\x00"}}, 5, nil)
			return err
		}, "Query.Tracks", 1, `"a\x00" holds a NUL byte`},
		{"Recommend/Negative", func() error {
			_, err := eng.Recommend(ctx, soundalike.RecommendQuery{K: 5,
				Positive: []soundalike.Example{{Track: stored[0]}}, Negative: []soundalike.Example{{Track: stored[1]}, {Track: long}}})
			return err
		}, "RecommendQuery.Negative", 1, "track reference of 1025 bytes"},
		{"RecommendUser/Exclude", func() error {
			_, err := eng.RecommendUser(ctx, "u1", 5, &soundalike.SearchOptions{Exclude: []soundalike.TrackID{""}})
			return err
		}, "SearchOptions.Exclude", 0, "empty track reference"},
	} {
		err := tc.query()
		re, ok := errors.AsType[*soundalike.TrackRefError](err)
		if !ok || !errors.Is(err, soundalike.ErrInvalidQuery) || re.Option != tc.option || re.Index != tc.index {
			t.Errorf("%s = %v, want a TrackRefError wrapping ErrInvalidQuery at %s[%d]", tc.name, err, tc.option, tc.index)
			continue
		}
		msg := err.Error()
		if tc.option != "" && !strings.Contains(msg, fmt.Sprintf("%s[%d]: ", tc.option, tc.index)) || !strings.Contains(msg, tc.quoted) {
			t.Errorf("%s = %q, want it to name %s[%d] and hold %s", tc.name, msg, tc.option, tc.index, tc.quoted)
		}
		if len(msg) > 320 || strings.Contains(msg, "\x1b") || strings.Contains(msg, "\x00") {
			t.Errorf("%s = %q (%d bytes): want the reference escaped and clipped", tc.name, msg, len(msg))
		}
	}

	res, err = eng.RecommendUser(ctx, "u1", 5, &soundalike.SearchOptions{Exclude: []soundalike.TrackID{tracks[40].ID}})
	if ids := returned(res); err != nil || len(ids) != 5 || slices.Contains(ids, tracks[30].ID) || slices.Contains(ids, tracks[40].ID) {
		t.Errorf("RecommendUser(u1, a history holding deleted %q) = %q, %v; want 5 tracks, not %s nor %s", gone, ids, err, tracks[30].ID, tracks[40].ID)
	}
}

// TestTrackRefRefusalIsCheckTracks: the queries refuse a reference (a
// TrackRefError) exactly when the import refuses it as a track id
// (CheckTrack) both as given and with spaces trimmed, the two ways a
// reference names a stored id: so that no id an import stored, deleted
// since, fails a query. The others are tracks not found.
func TestTrackRefRefusalIsCheckTracks(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "refusal.db"), 50)
	longest := strings.Repeat("x", soundalike.MaxKeyLen)
	for _, ref := range []string{
		"", " ", "\t\n", "a\x00b", " \x00 ", longest, longest + "x", " " + longest + "\n", " " + longest + "x ",
		"spotify:album:x", "https://example.com/t/gone", "spotify:track:", "http://", "nothere",
	} {
		importRefuses := true
		for _, id := range []string{ref, strings.TrimSpace(ref)} {
			tr := *tracks[0]
			tr.ID = soundalike.TrackID(id)
			importRefuses = importRefuses && soundalike.CheckTrack(&tr) != nil
		}
		_, err := eng.Similar(ctx, soundalike.TrackID(ref), 5, &soundalike.SearchOptions{Exclude: []soundalike.TrackID{soundalike.TrackID(ref)}})
		_, refused := errors.AsType[*soundalike.TrackRefError](err)
		if refused != importRefuses || !refused && !errors.Is(err, soundalike.ErrNotFound) {
			t.Errorf("Similar(%.40q…) = %v; want a TrackRefError = %v (CheckTrack refuses it as an id), else ErrNotFound", ref, err, importRefuses)
		}
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
