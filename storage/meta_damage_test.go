package storage_test

import (
	"errors"
	"math/rand/v2"
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

// Given files that are not databases but mention soundalike (notes with
// random bytes after them, a README), when opened, expect
// ErrNotSoundalike, not ErrDamaged with advice to restore a backup: only
// bbolt's layout is evidence that a file was a database.
func TestTextMentioningSoundalikeIsForeign(t *testing.T) {
	random := make([]byte, 70000)
	rand.NewChaCha8([32]byte{1}).Read(random)
	readme := strings.Repeat("# soundalike\n\nsoundalike finds tracks that sound alike: "+
		"`soundalike import`, then `soundalike similar --db soundalike.db`. magic soundalike, magic: soundalike\n", 100)
	for name, content := range map[string][]byte{
		"notes and random bytes": append([]byte("this is my soundalike playlist notes\n"), random...),
		"README":                 []byte(readme),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.txt")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := storage.Open(path, &storage.Options{ReadOnly: true})
			if !errors.Is(err, storage.ErrNotSoundalike) || errors.Is(err, storage.ErrDamaged) {
				t.Errorf("Open = %v, want ErrNotSoundalike and not ErrDamaged", err)
			}
		})
	}
}

// Given a database with tracks, a model and an index, its meta bucket on
// a leaf page among many, whose two meta pages have lost bbolt's magic,
// when opened, expect ErrDamaged: the meta bucket's magic key is found.
func TestBothMetaPagesDamagedInAFullDatabase(t *testing.T) {
	path := buildSmall(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []int{0, os.Getpagesize()} {
		for i := page + 16; i < page+16+64; i++ {
			b[i] ^= 0x5a
		}
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = storage.Open(path, &storage.Options{ReadOnly: true})
	if !errors.Is(err, storage.ErrDamaged) || errors.Is(err, storage.ErrNotSoundalike) {
		t.Errorf("Open = %v, want ErrDamaged", err)
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
