package storage_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike/storage"
)

// within runs fn, failing the test if it has not returned within a few
// seconds: a transaction or Close waiting on a lock that a fault left
// held waits for ever.
func within(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits after 5s: a fault left bbolt's locks held", what)
		return nil
	}
}

// truncate truncates path to nothing, as cp, scp and rsync --inplace do
// to a file they write over, keeping the file (its inode).
func truncate(t *testing.T, path string) {
	t.Helper()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

// writeOver writes whole over the file at path, in place, as cp does.
func writeOver(t *testing.T, path string, whole []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(whole); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// txCases are transactions of a reader's and a writer's open.
var txCases = []struct {
	name     string
	readOnly bool
	tx       func(*storage.DB) error
}{
	{"reader", true, func(db *storage.DB) error { return db.View(func(*storage.Tx) error { return nil }) }},
	{"writer reading", false, func(db *storage.DB) error { return db.View(func(*storage.Tx) error { return nil }) }},
	{"writer writing", false, func(db *storage.DB) error {
		return db.Update(func(tx *storage.Tx) error { _, err := tx.PutModel([]byte("m"), nil); return err })
	}},
}

// viewGeneration reads db's generation, within a few seconds.
func viewGeneration(t *testing.T, db *storage.DB) (g uint64, err error) {
	t.Helper()
	err = within(t, "a View", func() error {
		return db.View(func(tx *storage.Tx) error { g = tx.Generation(); return nil })
	})
	return g, err
}

// TestTruncatedBeforeATransaction: a file truncated under an open database
// (cp over it truncates it first) is too short for the meta pages bbolt
// reads as it begins the next transaction. The transaction fails as
// damage, before bbolt faults on them with its locks held; the open
// reads the file again once it is whole.
func TestTruncatedBeforeATransaction(t *testing.T) {
	for _, c := range txCases {
		t.Run(c.name, func(t *testing.T) {
			path := buildSmall(t)
			whole, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			db, err := storage.Open(path, &storage.Options{ReadOnly: c.readOnly, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			truncate(t, path)
			err = within(t, "the transaction", func() error { return c.tx(db) })
			if !errors.Is(err, storage.ErrDamaged) || !strings.Contains(err.Error(), "try again once it is whole") {
				t.Errorf("transaction on a truncated file: %v, want ErrDamaged saying to try again", err)
			}
			writeOver(t, path, whole)
			if g, err := viewGeneration(t, db); err != nil || g < 2 {
				t.Errorf("View once the file is whole: generation %d, %v", g, err)
			}
			if err := within(t, "Close", db.Close); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// TestMetaPagesFailBeginningATransaction: meta pages that fail bbolt's
// check as it begins a transaction (a copy over the file caught half
// way) panic in bbolt's Begin, which holds its locks then and never lets
// go of them. That breaks the open, without a crash or a hang: the
// transaction fails as damage, later ones fail at once, Close returns and
// lets go of the file's lock, and the next open reads the file as it is
// once whole again.
func TestMetaPagesFailBeginningATransaction(t *testing.T) {
	for _, c := range txCases {
		t.Run(c.name, func(t *testing.T) {
			path := buildSmall(t)
			whole, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			db, err := storage.Open(path, &storage.Options{ReadOnly: c.readOnly, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			torn := slices.Clone(whole)
			clear(torn[:2*os.Getpagesize()]) // bbolt's page size: both meta pages
			writeOver(t, path, torn)
			err = within(t, "the transaction", func() error { return c.tx(db) })
			if !errors.Is(err, storage.ErrDamaged) || !strings.Contains(err.Error(), "open it again") {
				t.Errorf("transaction on a file with failing meta pages: %v, want ErrDamaged saying to open it again", err)
			}
			writeOver(t, path, whole)
			if _, err := viewGeneration(t, db); err == nil {
				t.Error("View after a panic beginning a transaction succeeded, want the broken open's error")
			}
			if err := within(t, "Close", db.Close); err != nil {
				t.Errorf("Close: %v", err)
			}

			// A writer's open: no lock of the broken open is left.
			db, err = storage.Open(path, &storage.Options{NoSync: true})
			if err != nil {
				t.Fatalf("open again once the file is whole: %v", err)
			}
			defer db.Close()
			if g, err := db.Generation(); err != nil || g < 2 {
				t.Fatalf("generation once the file is whole: %d, %v", g, err)
			}
		})
	}
}

// TestFaultInsideATransaction: a file truncated while a read transaction
// is open faults on the transaction's next read of the map. bbolt rolls
// the transaction back, letting go of its locks: the View fails as
// damage, and once the file is whole again the open reads it as it is.
func TestFaultInsideATransaction(t *testing.T) {
	path := buildSmall(t)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(path, &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = within(t, "the View", func() error {
		return db.View(func(tx *storage.Tx) error {
			if err := os.Truncate(path, 0); err != nil {
				return err
			}
			tx.Generation()
			return nil
		})
	})
	if !errors.Is(err, storage.ErrDamaged) {
		t.Fatalf("View that read a truncated file: %v, want ErrDamaged", err)
	}
	writeOver(t, path, whole)
	if g, err := viewGeneration(t, db); err != nil || g < 2 {
		t.Errorf("View once the file is whole: generation %d, %v", g, err)
	}
	if err := within(t, "Close", db.Close); err != nil {
		t.Errorf("Close: %v", err)
	}
}
