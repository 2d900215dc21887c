package soundalike_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/google/go-cmp/cmp"
)

// MustOpen opens an engine on a fresh database in t.TempDir.
func MustOpen(t testing.TB) *soundalike.Engine {
	t.Helper()
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "test.db"), &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func track(id string, dance float64, genres ...string) *soundalike.Track {
	return &soundalike.Track{
		ID: soundalike.TrackID(id),
		Features: soundalike.Features{Danceability: dance, Energy: 0.5, Key: 3, Loudness: -5, Mode: 1,
			Tempo: 120, Valence: 0.3, Acousticness: 0.1, Speechiness: 0.05, Liveness: 0.1},
		Name: "Song " + id, Artists: []string{"Artist " + id}, Genres: genres,
	}
}

func TestImportUpsertAndAccumulate(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	ts := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, c := range []struct {
			tr             *soundalike.Track
			added, changed bool
		}{
			{track("a", 0.5, "pop"), true, true},
			{track("b", 0.6, "rock"), true, true},
			{track("a", 0.5, "pop"), false, false},
			{track("a", 0.7, "edm"), false, true},
		} {
			added, changed, err := tx.PutTrack(c.tr)
			if err != nil || added != c.added || changed != c.changed {
				t.Errorf("PutTrack(%s) = %v %v %v, want %v %v", c.tr.ID, added, changed, err, c.added, c.changed)
			}
		}
		for i, c := range []struct {
			in   soundalike.Interaction
			want bool
		}{
			{soundalike.Interaction{User: "u", Track: "a", Action: "play", Time: ts}, true},
			{soundalike.Interaction{User: "u", Track: "a", Action: "play", Time: ts}, true}, // occurs twice
			{soundalike.Interaction{User: "u", Track: "b", Action: "like"}, true},
		} {
			got, err := tx.PutInteraction(&c.in)
			if err != nil || got != c.want {
				t.Errorf("PutInteraction #%d = %v %v, want %v", i, got, err, c.want)
			}
		}
		_, err := tx.PutInteraction(&soundalike.Interaction{User: "u", Track: "missing"})
		if !errors.Is(err, soundalike.ErrNotFound) {
			t.Errorf("PutInteraction(unknown track) = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := eng.Track(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	want := track("a", 0.7, "pop", "edm")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Track(a) after upsert (-want +got):\n%s", diff)
	}
	ins, err := eng.Interactions(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantIns := []soundalike.Interaction{
		{User: "u", Track: "a", Action: "play", Time: ts},
		{User: "u", Track: "b", Action: "like"},
	}
	if diff := cmp.Diff(wantIns, ins); diff != "" {
		t.Errorf("Interactions (-want +got):\n%s", diff)
	}
	likes, _ := eng.Interactions(ctx, []string{"like"})
	if len(likes) != 1 {
		t.Errorf("Interactions(like) = %v, want one", likes)
	}
	c, _ := eng.Counts()
	if c.Tracks != 2 || c.Users != 1 || c.Interactions != 3 {
		t.Errorf("Counts = %+v, want 2 tracks, 1 user, 3 interactions (one occurred twice)", c)
	}
	// Importing the same interactions again adds nothing.
	eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for i := range 2 {
			in := soundalike.Interaction{User: "u", Track: "a", Action: "play", Time: ts}
			if added, err := tx.PutInteraction(&in); added || err != nil {
				t.Errorf("re-import PutInteraction #%d = %v %v, want false", i, added, err)
			}
		}
		return nil
	})
	if c2, _ := eng.Counts(); c2 != c {
		t.Errorf("Counts after re-import = %+v, want %+v", c2, c)
	}
	if _, err := eng.Track(ctx, "zzz"); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track(zzz) error = %v, want ErrNotFound", err)
	}
}

func TestImportIsAtomic(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	boom := errors.New("boom")
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		tx.PutTrack(track("a", 0.5))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Import error = %v, want boom", err)
	}
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		tx.PutTrack(track("b", 0.5))
		return soundalike.ErrRollback
	})
	if err != nil {
		t.Fatalf("Import with ErrRollback = %v, want nil", err)
	}
	if c, _ := eng.Counts(); c.Tracks != 0 {
		t.Errorf("tracks after failed imports = %d, want 0", c.Tracks)
	}
}

func TestImportRejectsInvalid(t *testing.T) {
	eng := MustOpen(t)
	bad := track("a", 1.5)
	eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		if _, _, err := tx.PutTrack(bad); err == nil {
			t.Error("PutTrack(danceability 1.5) succeeded")
		}
		return nil
	})
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	eng, err := soundalike.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error { _, _, err := tx.PutTrack(track("a", 0.5)); return err }); err != nil {
		t.Fatal(err) // the first write creates the database
	}
	eng.Close()
	ro, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.Import(t.Context(), func(*soundalike.ImportTx) error { return nil })
	if !errors.Is(err, soundalike.ErrReadOnly) {
		t.Errorf("Import on read-only engine = %v, want ErrReadOnly", err)
	}
}

// TestBackupStopsWhenCtxEnds: a backup whose ctx has ended stops at its
// next write with ctx's error, leaving no file under the name nor a
// temporary one beside it; with a live ctx the same engine backs up.
func TestBackupStopsWhenCtxEnds(t *testing.T) {
	eng := MustOpen(t)
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(track("a", 0.5))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "copy.db")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := eng.Backup(ctx, out); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup with a cancelled ctx = %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("a cancelled backup left %v in the directory", left)
	}
	if n, err := eng.Backup(t.Context(), out); err != nil || n == 0 {
		t.Fatalf("Backup = %d bytes, %v", n, err)
	}
}

// TestTrackByStoredIDLikeAURI: a track whose stored id has the form of a
// reference to something else (an album URI, a link to another site) is
// found by that id whether or not the engine has loaded a snapshot, as the
// queries find it; before a snapshot too, such a reference that names no
// track is a track not found, with a hint of the Spotify forms, and only
// one no stored id could be is a TrackRefError.
func TestTrackByStoredIDLikeAURI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uri.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"spotify:album:abc", "https://music.example.com/t/1"}
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for _, id := range ids {
			if _, _, err := tx.PutTrack(track(id, 0.5)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eng.Close()
	eng, err = soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, id := range ids {
		if tr, err := eng.Track(t.Context(), soundalike.TrackID(id)); err != nil || string(tr.ID) != id {
			t.Errorf("Track(%q) before a snapshot = %v, %v; want the track", id, tr, err)
		}
	}
	for _, ref := range []soundalike.TrackID{"spotify:album:nothere", "https://music.example.com/t/gone"} {
		_, err := eng.Track(t.Context(), ref)
		if !errors.Is(err, soundalike.ErrNotFound) || errors.Is(err, soundalike.ErrInvalidQuery) || !strings.Contains(err.Error(), "spotify:track:ID or https://open.spotify.com/track/ID") {
			t.Errorf("Track(%q) before a snapshot = %v, want ErrNotFound saying what a Spotify reference must be", ref, err)
		}
	}
	for _, ref := range []soundalike.TrackID{"", "a\x00b"} {
		if _, err := eng.Track(t.Context(), ref); !errors.Is(err, soundalike.ErrInvalidQuery) {
			t.Errorf("Track(%q) before a snapshot = %v, want a TrackRefError (ErrInvalidQuery)", ref, err)
		}
	}
}
