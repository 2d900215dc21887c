package soundalike_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// Spotify ids of the catalogue keyed by the app's own ids below.
const (
	spotifyA = "4uLU6hMCjMI75M1A2tKUQC"
	spotifyB = "0VjIjW4GlUZAMYd2vXMi3b"
	spotifyC = "7BKLCZ1jbUBVqRi2FVlTVw"
	spotifyD = "3skkHSk5KA7akip3Ey6Xjx"
)

// appTrack is a track of a catalogue keyed by the app's own ids, which
// keeps its Spotify id beside.
func appTrack(id, spotifyID string) *soundalike.Track {
	t := track(id, 0.5)
	t.SpotifyID = spotifyID
	return t
}

// importFiles imports files in one Import and returns its summary.
func importFiles(t *testing.T, eng *soundalike.Engine, files ...string) ingest.Summary {
	t.Helper()
	var total ingest.Summary
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for _, f := range files {
			src, err := ingest.Open(f)
			if err != nil {
				return err
			}
			sum, err := ingest.Run(t.Context(), src, tx, nil)
			src.Close()
			if err != nil {
				return err
			}
			total.Add(sum)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// loadSnapshot loads eng's snapshot, where Track finds a track by Spotify id.
func loadSnapshot(t *testing.T, eng *soundalike.Engine) {
	t.Helper()
	if err := eng.Ready(t.Context()); err != nil && !errors.Is(err, soundalike.ErrNoModel) {
		t.Fatal(err)
	}
}

// historyTracks returns the tracks of user's history, in its order.
func historyTracks(t *testing.T, eng *soundalike.Engine, user string) []soundalike.TrackID {
	t.Helper()
	h, err := eng.UserHistory(t.Context(), user)
	if err != nil {
		t.Fatalf("UserHistory(%q): %v", user, err)
	}
	var ids []soundalike.TrackID
	for _, in := range h {
		ids = append(ids, in.Track)
	}
	return ids
}

// Given a tracks file keyed by the app's own ids with a spotify_id
// column, when an interactions file names the tracks by Spotify id (bare,
// as a spotify:track: URI or as a link), in the same import as the tracks
// file and in a later one, expect every interaction stored under the
// catalogue's id (the users' histories name it) and only the one naming
// no track rejected.
func TestImportInteractionsBySpotifyID(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const features = ",0.5,0.5,3,-5,1,0.05,0.1,0,0.1,0.3,120\n"
	tracks := write("tracks.csv", "track_id,spotify_id,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo\n"+
		"uuid-a,"+spotifyA+features+
		"uuid-b,spotify:track:"+spotifyB+features+
		"uuid-c,"+spotifyC+features)
	plays := write("plays.csv", "user_id,track_id,action,timestamp\n"+
		"alice,"+spotifyA+",play,2024-03-01T12:00:00Z\n"+
		"alice,spotify:track:"+spotifyB+",play,2024-03-01T12:01:00Z\n"+
		"alice,https://open.spotify.com/track/"+spotifyC+"?si=x,like,2024-03-01T12:02:00Z\n"+
		"alice,uuid-a,like,2024-03-01T12:03:00Z\n"+
		"alice,"+spotifyD+",play,2024-03-01T12:04:00Z\n") // no track holds it
	later := write("later.csv", "user_id,track_id,action,timestamp\n"+
		"bob,"+spotifyC+",play,2024-03-02T12:00:00Z\n"+
		"bob,spotify:track:"+spotifyA+",skip,2024-03-02T12:01:00Z\n")

	eng := MustOpen(t)
	sum := importFiles(t, eng, tracks, plays)
	if sum.TracksAdded != 3 || sum.InteractionsAdded != 4 || sum.Rejected != 1 {
		t.Errorf("import of tracks and plays: %d tracks, %d interactions added, %d rejected (%v); want 3, 4 and 1 (the track no one holds)",
			sum.TracksAdded, sum.InteractionsAdded, sum.Rejected, sum.Errors)
	}
	if sum = importFiles(t, eng, later); sum.InteractionsAdded != 2 || sum.Rejected != 0 {
		t.Errorf("later import of plays: %d interactions added, %d rejected (%v); want 2 and 0", sum.InteractionsAdded, sum.Rejected, sum.Errors)
	}
	for user, want := range map[string][]soundalike.TrackID{
		"alice": {"uuid-a", "uuid-c", "uuid-b", "uuid-a"},
		"bob":   {"uuid-a", "uuid-c"},
	} {
		if got := historyTracks(t, eng, user); !cmp.Equal(got, want) {
			t.Errorf("history of %s: tracks %v, want %v", user, got, want)
		}
	}
}

// Given a catalogue keyed by the app's own ids, when one import resolves
// an interaction by Spotify id, then writes tracks, expect its later
// interactions to resolve as its writes left the catalogue: to a track
// added since, to the track added last of those sharing a Spotify id (as
// a query resolves it), to the other again once that one is deleted, and
// not by a Spotify id a track no longer holds.
func TestImportTxResolvesSpotifyIDsAfterWrites(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	put := func(tx *soundalike.ImportTx, tracks ...*soundalike.Track) {
		t.Helper()
		for _, tr := range tracks {
			if _, _, err := tx.PutTrack(tr); err != nil {
				t.Fatalf("PutTrack(%s): %v", tr.ID, err)
			}
		}
	}
	interact := func(tx *soundalike.ImportTx, user string, ref soundalike.TrackID) error {
		_, err := tx.PutInteraction(&soundalike.Interaction{User: user, Track: ref})
		return err
	}
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		put(tx, appTrack("uuid-a", spotifyA), appTrack("uuid-b", spotifyB))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		steps := []struct {
			write func()
			user  string
			ref   soundalike.TrackID
		}{
			{nil, "u1", spotifyA},
			{func() { put(tx, appTrack("uuid-c", spotifyC)) }, "u2", "spotify:track:" + spotifyC},
			{func() { put(tx, appTrack("uuid-a2", spotifyA)) }, "u3", "https://open.spotify.com/track/" + spotifyA},
			{func() {
				if _, err := tx.DeleteTrack("uuid-a2"); err != nil {
					t.Fatal(err)
				}
			}, "u4", spotifyA},
			{func() { put(tx, appTrack("uuid-b", spotifyD)) }, "u5", spotifyD},
		}
		for _, s := range steps {
			if s.write != nil {
				s.write()
			}
			if err := interact(tx, s.user, s.ref); err != nil {
				return err
			}
		}
		if err := interact(tx, "u6", spotifyB); !errors.Is(err, soundalike.ErrNotFound) {
			t.Errorf("PutInteraction by %s, the Spotify id uuid-b held before this import changed it = %v, want ErrNotFound", spotifyB, err)
		}
		put(tx, appTrack("uuid-a3", spotifyA))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// After the commit, a later import and a query agree on which of
	// uuid-a and uuid-a3 holds their Spotify id.
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error { return interact(tx, "u7", spotifyA) })
	if err != nil {
		t.Fatal(err)
	}
	loadSnapshot(t, eng)
	if tr, err := eng.Track(ctx, spotifyA); err != nil || tr.ID != "uuid-a3" {
		t.Errorf("Track(%s) = %v, %v; want uuid-a3, the track added last", spotifyA, tr, err)
	}
	ins, err := eng.Interactions(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]soundalike.TrackID{}
	for _, in := range ins {
		got[in.User] = in.Track
	}
	want := map[string]soundalike.TrackID{"u1": "uuid-a", "u2": "uuid-c", "u3": "uuid-a2", "u4": "uuid-a", "u5": "uuid-b", "u7": "uuid-a3"}
	if !cmp.Equal(got, want) {
		t.Errorf("stored interactions' tracks by user %v, want %v", got, want)
	}
}

// Given a catalogue keyed by the app's own ids, ResolveTracks finds a
// track as a query does: by its id, its Spotify id, URI or link, and ""
// for a reference naming none; one no stored id could be is a
// *TrackRefError naming its index.
func TestResolveTracks(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, tr := range []*soundalike.Track{appTrack("uuid-a", spotifyA), appTrack("uuid-b", spotifyB), appTrack("uuid-b2", spotifyB)} {
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refs := []soundalike.TrackID{"uuid-a", spotifyA, "spotify:track:" + spotifyB, "https://open.spotify.com/track/" + spotifyA, spotifyC, "spotify:album:" + spotifyA}
	got, err := eng.ResolveTracks(ctx, refs)
	want := []soundalike.TrackID{"uuid-a", "uuid-a", "uuid-b2", "uuid-a", "", ""}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ResolveTracks(%q) = %q, %v; want %q", refs, got, err, want)
	}
	_, err = eng.ResolveTracks(ctx, []soundalike.TrackID{"uuid-a", ""})
	if re, ok := errors.AsType[*soundalike.TrackRefError](err); !ok || re.Index != 1 {
		t.Errorf("ResolveTracks of an empty reference: %v, want a *TrackRefError naming refs[1]", err)
	}
	loadSnapshot(t, eng)
	for i, ref := range refs {
		tr, err := eng.Track(ctx, ref)
		if (err == nil) != (want[i] != "") || err == nil && tr.ID != want[i] {
			t.Errorf("Track(%q) = %v, %v; want the track ResolveTracks found, %q", ref, tr, err, want[i])
		}
	}
}

// Given an import too large for its write buffer (ImportBuffer 64 KiB:
// it stages its writes in the file as it goes), when its interactions
// file names the tracks of its tracks file by Spotify id, expect them
// stored under the catalogue's ids, as an import held in memory stores
// them.
func TestStagedImportInteractionsBySpotifyID(t *testing.T) {
	const n = 3000
	dir := t.TempDir()
	var tracks, plays strings.Builder
	tracks.WriteString("track_id,spotify_id,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo\n")
	plays.WriteString("user_id,track_id\n")
	var want []string // "user track", as stored
	for i := range n {
		fmt.Fprintf(&tracks, "app-%d,sp%020d,0.5,0.5,3,-5,1,0.05,0.1,0,0.1,0.3,120\n", i, i)
		fmt.Fprintf(&plays, "u%d,sp%020d\n", i%50, (i*7)%n)
		want = append(want, fmt.Sprintf("u%d app-%d", i%50, (i*7)%n))
	}
	slices.Sort(want)
	files := []string{filepath.Join(dir, "tracks.csv"), filepath.Join(dir, "plays.csv")}
	for i, text := range []string{tracks.String(), plays.String()} {
		if err := os.WriteFile(files[i], []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, opts := range map[string]*soundalike.Options{
		"in memory": {NoSync: true},
		"staged":    {NoSync: true, ImportBuffer: 64 << 10},
	} {
		eng, err := soundalike.Open(filepath.Join(t.TempDir(), "s.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		if sum := importFiles(t, eng, files...); sum.InteractionsAdded != n || sum.Rejected != 0 {
			t.Errorf("%s: %d interactions added, %d rejected (%v); want %d and 0", name, sum.InteractionsAdded, sum.Rejected, sum.Errors, n)
		}
		ins, err := eng.Interactions(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range ins {
			got = append(got, in.User+" "+string(in.Track))
		}
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: stored interactions (-want +got):\n%s", name, diff)
		}
	}
}
