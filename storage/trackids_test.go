package storage_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// Given committed tracks and an import that adds, updates and deletes
// some without committing yet, expect ForEachTrackID to list the ids
// ForEachTrack lists, in id order, in the import's transaction (its
// buffered writes included) and after its commit, and to stop at fn's
// error.
func TestForEachTrackID(t *testing.T) {
	db := MustOpen(t)
	put := func(tx *storage.Tx, ids ...string) error {
		for _, id := range ids {
			if _, _, _, err := tx.PutTrack(id, []byte("data of "+id)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := db.Update(func(tx *storage.Tx) error { return put(tx, "c", "a", "e") }); err != nil {
		t.Fatal(err)
	}
	check := func(when string, tx *storage.Tx, want []string) {
		t.Helper()
		var ids, entries []string
		if err := tx.ForEachTrackID(func(id string) error { ids = append(ids, id); return nil }); err != nil {
			t.Fatalf("%s: ForEachTrackID: %v", when, err)
		}
		if err := tx.ForEachTrack(func(e storage.TrackEntry) error { entries = append(entries, e.ID); return nil }); err != nil {
			t.Fatalf("%s: ForEachTrack: %v", when, err)
		}
		if !slices.Equal(ids, want) || !slices.Equal(entries, want) {
			t.Errorf("%s: ForEachTrackID listed %q, ForEachTrack %q; want both %q", when, ids, entries, want)
		}
	}
	err := db.Update(func(tx *storage.Tx) error {
		if err := put(tx, "d", "b", "a"); err != nil {
			return err
		}
		if _, err := tx.DeleteTrack("c"); err != nil {
			return err
		}
		check("in the import", tx, []string{"a", "b", "d", "e"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *storage.Tx) error {
		check("after the commit", tx, []string{"a", "b", "d", "e"})
		stop := errors.New("stop")
		n := 0
		err := tx.ForEachTrackID(func(string) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("ForEachTrackID whose fn fails = %v after %d calls, want its error after 1", err, n)
		}
		return nil
	})
}
