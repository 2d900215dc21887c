package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFaultOpeningLetsGoOfTheFile: a file truncated as a writer's bbolt
// opens it (after checkFile found it whole) faults as bbolt reads its
// freelist from the map. The open fails as damage, and lets go of the
// file and its lock: the next open, once the file is whole again, takes
// it.
func TestFaultOpeningLetsGoOfTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error { _, err := tx.PutModel(make([]byte, 64<<10), nil); return err }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hook := func(string) {
		// Keep the meta pages, which bbolt reads with ReadAt; lose the
		// freelist after them, which it reads from the map.
		if err := os.Truncate(path, int64(2*os.Getpagesize())); err != nil {
			t.Error(err)
		}
	}
	testHookOpened.Store(&hook)
	_, err = Open(path, &Options{NoSync: true})
	testHookOpened.Store(nil)
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "its meta pages and freelist") {
		t.Fatalf("open of a file truncated as bbolt opened it: %v, want ErrDamaged met reading the freelist", err)
	}
	if err := os.WriteFile(path, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatalf("open once the file is whole: %v", err)
	}
	db.Close()
}
