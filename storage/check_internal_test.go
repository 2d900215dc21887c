package storage

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckInteractions: CheckInteractions counts an interaction a source
// listed twice as the meta counter does (two occurrences in one record),
// and reports a counter that differs from the records' counts.
func TestCheckInteractions(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "c.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *Tx) error {
		if _, _, _, err := tx.PutTrack("a", []byte("A")); err != nil {
			return err
		}
		for _, u := range []string{"u1", "u1", "u2"} {
			if _, err := tx.PutInteraction(u, "a", "play", 5); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func() (int, []string) {
		var problems []string
		var sum int
		err := db.View(func(tx *Tx) error {
			var err error
			sum, err = tx.CheckInteractions(func(e error) { problems = append(problems, e.Error()) }, func() error { return nil })
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return sum, problems
	}
	if sum, problems := check(); sum != 3 || len(problems) != 0 {
		t.Fatalf("CheckInteractions = %d, %q; want 3 occurrences (2 records), no problem", sum, problems)
	}
	if err := db.Update(func(tx *Tx) error { tx.addCounter(cNInteract, 2); return nil }); err != nil {
		t.Fatal(err)
	}
	if sum, problems := check(); sum != 3 || len(problems) != 1 || !strings.Contains(problems[0], "holds 3 occurrences in 2 records, the meta counter says 5") {
		t.Fatalf("CheckInteractions with the counter off by 2 = %d, %q; want the difference reported", sum, problems)
	}
}
