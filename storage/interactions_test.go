package storage_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// TestForEachUserInteraction checks the range scan against a full scan
// filtered by user, for users whose names are prefixes of each other (the
// key's length prefix must keep "ab" from reading "abc"), before and after
// the write transaction commits.
func TestForEachUserInteraction(t *testing.T) {
	db := MustOpen(t)
	users := []string{"a", "ab", "abc", "b", "\x02ab", "zz"}
	all := func(tx *storage.Tx) map[string][]string {
		m := map[string][]string{}
		tx.ForEachInteraction(func(u, tr, a string, ts int64) error {
			m[u] = append(m[u], fmt.Sprintf("%s/%s/%d", tr, a, ts))
			return nil
		})
		return m
	}
	check := func(tx *storage.Tx, when string) {
		want := all(tx)
		if len(want) != len(users) {
			t.Fatalf("%s: full scan found %d users, want %d", when, len(want), len(users))
		}
		for _, u := range append(slices.Clone(users), "", "nobody", "abcd") {
			var got []string
			err := tx.ForEachUserInteraction(u, func(tr, a string, ts int64) error {
				got = append(got, fmt.Sprintf("%s/%s/%d", tr, a, ts))
				return nil
			})
			if err != nil {
				t.Fatalf("%s: ForEachUserInteraction(%q): %v", when, u, err)
			}
			if !slices.Equal(got, want[u]) {
				t.Errorf("%s: ForEachUserInteraction(%q) = %v, want %v", when, u, got, want[u])
			}
		}
	}
	err := db.Update(func(tx *storage.Tx) error {
		for _, id := range []string{"t1", "t2", "t3"} {
			if _, _, _, err := tx.PutTrack(id, []byte(id)); err != nil {
				return err
			}
		}
		for i, u := range users {
			for j := 0; j <= i%3; j++ {
				if _, err := tx.PutInteraction(u, fmt.Sprintf("t%d", j+1), []string{"play", "like", "skip"}[(i+j)%3], int64(100*i+j)); err != nil {
					return err
				}
			}
		}
		check(tx, "in the write transaction")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *storage.Tx) error { check(tx, "after commit"); return nil })

	// An error from fn stops the scan and is returned.
	db.View(func(tx *storage.Tx) error {
		n := 0
		err := tx.ForEachUserInteraction("abc", func(string, string, int64) error {
			n++
			return fmt.Errorf("stop")
		})
		if n != 1 || err == nil || !strings.Contains(err.Error(), "stop") {
			t.Errorf("stopping scan: %d calls, error %v; want 1 call and the error", n, err)
		}
		return nil
	})
}
