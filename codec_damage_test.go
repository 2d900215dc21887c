package soundalike_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/storage"
)

// TestCorruptTrackRecordIsDamageImportRepairs: a track record that does
// not decode is damage (storage.ErrDamaged, naming the file and saying
// that importing the track again replaces it), and importing the track
// again replaces the record instead of failing to merge with it; a
// corrupt track can be deleted. Neither is stopped by the damage when
// references need the catalogue's Spotify ids: a record that does not
// decode holds none anyone can know.
func TestCorruptTrackRecordIsDamageImportRepairs(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "c.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	a, b := track("a", 0.5, "pop"), track("b", 0.6, "rock")
	b.SpotifyID = "4uLU6hMCjMI75M1A2tKUQC"
	putTracks(t, eng, a, b)
	eng.Close()
	dbdamage.CorruptTrack(t, path, "a")
	dbdamage.CorruptTrack(t, path, "b")

	eng, err = soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	_, err = eng.Track(ctx, "a")
	if !errors.Is(err, storage.ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "importing the track again replaces it") {
		t.Errorf("Track of a corrupt record = %v, want storage.ErrDamaged naming %s and the repair", err, path)
	}

	if got, err := eng.ResolveAllTracks(ctx, []soundalike.TrackID{"a"}); err != nil || len(got) != 1 || len(got[0]) != 1 || got[0][0] != "a" {
		t.Errorf("ResolveAllTracks(a), a corrupt track = %v, %v; want [[a]]", got, err)
	}

	again := track("a", 0.7, "edm")
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		// A Spotify id to look up makes the import read every track's.
		if _, err := tx.PutInteraction(&soundalike.Interaction{User: "u", Track: "spotify:track:4uLU6hMCjMI75M1A2tKUQD", Action: "play"}); !errors.Is(err, soundalike.ErrNotFound) {
			t.Errorf("interaction of an unknown Spotify id = %v, want ErrNotFound", err)
		}
		if added, changed, err := tx.PutTrack(again); err != nil || added || !changed {
			t.Errorf("PutTrack over a corrupt record = %v %v %v, want an update", added, changed, err)
		}
		if ok, err := tx.DeleteTrack("b"); !ok || err != nil {
			t.Errorf("DeleteTrack of a corrupt record = %v %v, want it deleted", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := eng.Track(ctx, "a")
	if err != nil || got.Features.Danceability != 0.7 || len(got.Genres) != 1 || got.Genres[0] != "edm" {
		t.Errorf("Track after the import = %+v, %v; want the imported track alone (danceability 0.7, genres [edm])", got, err)
	}
	if _, err := eng.Track(ctx, "b"); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track of the deleted corrupt track = %v, want ErrNotFound", err)
	}
	if report, err := eng.Check(ctx); err != nil || len(report.Problems) != 0 {
		t.Errorf("Check after the repair = %+v, %v; want no problem", report, err)
	}
}
