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
			for _, page := range []int{0, os.Getpagesize()} {
				for i := page + tc.from; i < page+tc.to; i++ {
					b[i] ^= 0x5a
				}
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = storage.Open(path, &storage.Options{ReadOnly: true})
			if !errors.Is(err, storage.ErrDamaged) || errors.Is(err, storage.ErrNotSoundalike) ||
				!strings.Contains(err.Error(), "meta pages") || !strings.Contains(err.Error(), path) {
				t.Errorf("Open = %v, want ErrDamaged naming %s and its meta pages", err, path)
			}
		})
	}
}
