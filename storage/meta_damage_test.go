package storage_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// Given a database whose two meta pages are both damaged, when opened,
// expect ErrDamaged saying so, not "not a soundalike database (version
// mismatch)".
func TestBothMetaPagesDamaged(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to int // bytes of each meta page to flip
	}{
		{"checksums", 16 + 56, 16 + 64},
		{"magic, version and checksum", 16, 16 + 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := damagedNewDB(t, func(b []byte) {
				for _, page := range []int{0, os.Getpagesize()} {
					for i := page + tc.from; i < page+tc.to; i++ {
						b[i] ^= 0x5a
					}
				}
			})
			_, err := storage.Open(path, &storage.Options{ReadOnly: true})
			if !errors.Is(err, storage.ErrDamaged) || errors.Is(err, storage.ErrNotSoundalike) ||
				!strings.Contains(err.Error(), "meta pages") || !strings.Contains(err.Error(), path) {
				t.Errorf("Open = %v, want ErrDamaged naming %s and its meta pages", err, path)
			}
		})
	}
}

// Given a database whose first meta page names itself another page (its
// header damaged, its contents sound, so the file still opens), when its
// pages are checked, expect the problem reported as damage, in words
// rather than as bbolt's recovered panic.
func TestCheckPagesStoppedIsDamage(t *testing.T) {
	path := damagedNewDB(t, func(b []byte) {
		copy(b, []byte{0xff, 0xfe, 0xfd, 0xfc, 0, 1, 2, 3}) // page 0's id
	})
	db, err := storage.Open(path, &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var problems []error
	db.View(func(tx *storage.Tx) error {
		tx.CheckPages(func(err error) { problems = append(problems, err) })
		return nil
	})
	if len(problems) != 1 || !errors.Is(problems[0], storage.ErrDamaged) || strings.Contains(problems[0].Error(), "panic") ||
		!strings.Contains(problems[0].Error(), "page check stopped at a page it cannot read: page expected to be 0") {
		t.Errorf("CheckPages reported %v, want one damage saying the check stopped at page 0", problems)
	}
}

// damagedNewDB lays a new database out in a temporary file, applies
// damage to its bytes and returns its path.
func damagedNewDB(t *testing.T, damage func(b []byte)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := storage.Open(path, &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damage(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
