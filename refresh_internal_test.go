package soundalike

import (
	"path/filepath"
	"testing"
)

// TestImportRefreshesLoadedSnapshot: after an import, an engine that has
// loaded its snapshot holds a fresh one at once (the next query does not
// reload), while an engine that has not served stays lazy.
func TestImportRefreshesLoadedSnapshot(t *testing.T) {
	ctx := t.Context()
	eng, err := Open(filepath.Join(t.TempDir(), "r.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	put := func(id TrackID) {
		t.Helper()
		err := eng.Import(ctx, func(tx *ImportTx) error {
			_, _, err := tx.PutTrack(&Track{ID: id, Name: string(id), Features: Features{
				Danceability: 0.5, Energy: 0.5, Key: 1, Loudness: -6, Tempo: 120, Valence: 0.5}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("a")
	if eng.snap.Load() != nil {
		t.Fatal("an engine that has not served loaded a snapshot on import")
	}
	if st := eng.Stats(); st.Tracks != 1 { // loads it
		t.Fatalf("Stats = %+v, want 1 track", st)
	}
	put("b")
	s := eng.snap.Load()
	if s == nil || len(s.byID) != 2 {
		t.Fatalf("snapshot after the import = %v, want one already holding both tracks", s)
	}
}
