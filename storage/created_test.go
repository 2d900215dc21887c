package storage_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/audotics/soundalike/storage"
)

// TestRemoveCreated: RemoveCreated removes the file of an open that
// created it (the path named nothing before the open) when nothing was
// committed to it, and Close then its lock-info file, leaving the
// directory as it was; it never removes a file that was there before the
// open (empty, or a database), nor one a write committed to.
func TestRemoveCreated(t *testing.T) {
	errRefused := errors.New("refused")
	emptyFile := func(p string) error { return os.WriteFile(p, nil, 0o600) }
	database := func(p string) error {
		db, err := storage.Open(p, nil)
		if err != nil {
			return err
		}
		return db.Close()
	}
	for _, tc := range []struct {
		name   string
		before func(path string) error // what the path holds before; nil: nothing
		writes []error                 // what each write returns: nil commits
		left   []string                // the directory's files afterwards
	}{
		{"new file, no write", nil, nil, nil},
		{"new file, failed write", nil, []error{errRefused}, nil},
		{"new file, committed write", nil, []error{nil, errRefused}, []string{"f.db"}},
		{"empty file", emptyFile, []error{errRefused}, []string{"f.db"}},
		{"database", database, []error{errRefused}, []string{"f.db"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.db")
			if tc.before != nil {
				if err := tc.before(path); err != nil {
					t.Fatal(err)
				}
			}
			db, err := storage.Open(path, &storage.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.writes {
				if err := db.Update(func(*storage.Tx) error { return w }); !errors.Is(err, w) {
					t.Fatalf("Update = %v, want %v", err, w)
				}
			}
			removed, err := db.RemoveCreated()
			if err != nil || removed != (tc.left == nil) {
				t.Errorf("RemoveCreated = %v, %v; want %v", removed, err, tc.left == nil)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			var left []string
			for _, e := range entries {
				left = append(left, e.Name())
			}
			if !slices.Equal(left, tc.left) {
				t.Errorf("left in the directory: %q, want %q", left, tc.left)
			}
		})
	}
}

// A writer's open of a path whose directory does not exist fails at once,
// saying so: only a file removed as it is opened is waited for.
func TestOpenInAMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "x.db")
	start := time.Now()
	_, err := storage.Open(path, &storage.Options{Timeout: 5 * time.Second, OnWait: func(string) {
		t.Error("OnWait called: the open waited for a lock")
	}})
	if !errors.Is(err, fs.ErrNotExist) || time.Since(start) > 2*time.Second {
		t.Errorf("Open(%s) = %v after %v, want fs.ErrNotExist at once", path, err, time.Since(start))
	}
}
