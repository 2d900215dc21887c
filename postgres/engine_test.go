package postgres

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// importInto imports the database at url into eng in one transaction, as
// `soundalike import --postgres` does.
func importInto(t *testing.T, eng *soundalike.Engine, url string) ingest.Summary {
	t.Helper()
	var sum ingest.Summary
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		src, err := Open(t.Context(), url, nil)
		if err != nil {
			return err
		}
		defer src.Close()
		sum, err = ingest.Run(t.Context(), src, tx, nil)
		return err
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return sum
}

// TestEndToEndThroughStorage imports the app's database into a real
// soundalike database file, twice. Every interaction is stored, skips too,
// as a file import stores them: a user's skipped tracks are then in their
// history, which recommendations take as negatives and leave out. The
// default import dropped them, and a user's skipped tracks were
// recommended back to them.
func TestEndToEndThroughStorage(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "soundalike.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	all := len(fx.Interactions)
	first := importInto(t, eng, db.URL)
	if first.TracksAdded != len(fx.Tracks) || first.InteractionsAdded != all || first.Rejected != 0 {
		t.Errorf("first import = %+v, want %d tracks, %d interactions added", first, len(fx.Tracks), all)
	}
	counts, err := eng.Counts()
	if err != nil {
		t.Fatal(err)
	}
	// The playlists, listener-1 (plays and likes) and listener-2 (skips).
	if want := (soundalike.Counts{Tracks: len(fx.Tracks), Users: fx.Playlists + 2, Interactions: all}); counts != want {
		t.Errorf("Counts() = %+v, want %+v", counts, want)
	}
	history, err := eng.UserHistory(t.Context(), "listener-2")
	if err != nil {
		t.Fatalf("UserHistory(listener-2): %v", err)
	}
	if want := fx.countAction(soundalike.ActionSkip); len(history) != want || want == 0 || history[0].Action != soundalike.ActionSkip {
		t.Errorf("UserHistory(listener-2) = %d interactions (first %+v), want the %d skips", len(history), history, want)
	}
	stored, err := eng.Tracks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[soundalike.TrackID]soundalike.Track{}
	for _, tr := range stored {
		got[tr.ID] = tr
	}
	if diff := cmp.Diff(fx.Tracks, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("stored tracks differ (-loaded into PostgreSQL +stored):\n%s", diff)
	}

	second := importInto(t, eng, db.URL)
	if second.TracksAdded != 0 || second.TracksUpdated != 0 || second.InteractionsAdded != 0 || second.Rejected != 0 {
		t.Errorf("second import = %+v, want nothing added or updated", second)
	}
	if again, _ := eng.Counts(); again != counts {
		t.Errorf("Counts() after re-import = %+v, want %+v", again, counts)
	}
}

// Given a track whose artists array has an element longer than
// soundalike.MaxTextLen, when the database is imported into a real
// soundalike database, expect that track's row rejected, naming the
// element by its column and index, and the other tracks stored: the
// Mapper checks the elements with their row, and one refused does not
// stop the import.
func TestArrayElementsChecked(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	some := fx.anyTrack()
	db.exec(t, `UPDATE "Track" SET artists = ARRAY['ok', repeat('x', $2::int)] WHERE id = $1`, string(some), soundalike.MaxTextLen+1)
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "soundalike.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sum := importInto(t, eng, db.URL)
	want := fmt.Sprintf("artists[1] is %d bytes long; at most %d are accepted", soundalike.MaxTextLen+1, soundalike.MaxTextLen)
	var errs []ingest.RowError // the tracks query's: its interactions are rejected too
	for _, e := range sum.Errors {
		if e.File == TracksSource {
			errs = append(errs, e)
		}
	}
	if sum.RejectedFrom(TracksSource) != 1 || len(errs) != 1 || errs[0].Row != string(some) || errs[0].Reason != want {
		t.Errorf("import = %+v, want row %s of the tracks rejected: %s", sum, some, want)
	}
	if sum.TracksAdded != len(fx.Tracks)-1 {
		t.Errorf("%d tracks added, want %d: all but %s", sum.TracksAdded, len(fx.Tracks)-1, some)
	}
}
