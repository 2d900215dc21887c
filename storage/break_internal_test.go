package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// returnsWithin runs fn, failing the test if it has not returned within a
// few seconds: a write or Close waiting on a lock that a fault left held
// waits for ever.
func returnsWithin(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits after 5s", what)
		return nil
	}
}

// breakWithTornMetaPages breaks db's open as a copy over its file caught
// half way does: both meta pages fail bbolt's check as a View begins,
// which leaves bbolt's meta lock held. The file is whole again when it
// returns. It fails the test unless the View broke the open.
func breakWithTornMetaPages(t *testing.T, db *DB) {
	t.Helper()
	f, err := os.OpenFile(db.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	whole := make([]byte, 2*db.pageSize)
	if _, err := f.ReadAt(whole, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, len(whole)), 0); err != nil {
		t.Fatal(err)
	}
	err = db.View(func(*Tx) error { return nil })
	if _, werr := f.WriteAt(whole, 0); werr != nil {
		t.Fatal(werr)
	}
	var ce *changedError
	if !errors.As(err, &ce) || !ce.broken {
		t.Fatalf("View with both meta pages torn: %v, want the broken open's error", err)
	}
}

// openAgain checks that a broken open's Close let go of the file: a
// writer's open takes its lock, and reads it whole.
func openAgain(t *testing.T, path string) {
	t.Helper()
	db, err := Open(path, &Options{NoSync: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("open after the broken open's Close: %v", err)
	}
	defer db.Close()
	if _, err := db.Generation(); err != nil {
		t.Fatalf("generation after the broken open's Close: %v", err)
	}
}

// TestBreakBeforeACommitFailsTheWrite: a break while a write is open,
// before it commits, fails the write rather than let its commit wait on
// the meta lock the break left held; Close then returns, letting go of
// the file.
func TestBreakBeforeACommitFailsTheWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = returnsWithin(t, "the write open at the break", func() error {
		return db.Update(func(tx *Tx) error {
			if _, err := tx.PutModel([]byte("m"), nil); err != nil {
				return err
			}
			breakWithTornMetaPages(t, db)
			return nil
		})
	})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "open it again") {
		t.Errorf("write open at the break: %v, want the broken open's error", err)
	}
	if err := returnsWithin(t, "Close", db.Close); err != nil {
		t.Errorf("Close: %v", err)
	}
	openAgain(t, path)
}

// TestBreakDuringACommitLetsCloseReturn: a break as a write commits
// leaves that commit waiting for ever on bbolt's meta lock (bbolt's bug:
// its goroutine is lost), holding the write lock. Close does not wait for
// it: it returns, letting go of the file, and a later write fails at once.
func TestBreakDuringACommitLetsCloseReturn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	broken := make(chan struct{})
	hook := func() {
		testHookCommit.Store(nil)
		breakWithTornMetaPages(t, db)
		close(broken)
	}
	testHookCommit.Store(&hook)
	defer testHookCommit.Store(nil)
	go db.Update(func(tx *Tx) error { _, err := tx.PutModel([]byte("m"), nil); return err })
	select {
	case <-broken:
	case <-time.After(5 * time.Second):
		t.Fatal("the write did not reach its commit")
	}
	err = returnsWithin(t, "a write after the break", func() error {
		return db.Update(func(*Tx) error { return nil })
	})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "open it again") {
		t.Errorf("write after the break: %v, want the broken open's error", err)
	}
	err = returnsWithin(t, "RemoveCreated", func() error { _, err := db.RemoveCreated(); return err })
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "open it again") {
		t.Errorf("RemoveCreated after the break: %v, want the broken open's error", err)
	}
	if err := returnsWithin(t, "Close", db.Close); err != nil {
		t.Errorf("Close: %v", err)
	}
	openAgain(t, path)
}

// TestFaultCommittingBreaksTheOpen: a fault in bbolt's Commit (the file
// truncated under the map, read as the commit frees the pages it
// replaces) leaves bbolt's writer lock held and its freelist half done.
// It breaks the open: the write fails with the broken open's error, and
// so does every later transaction, even once the file is whole again;
// Close lets go of the file.
func TestFaultCommittingBreaksTheOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error { _, err := tx.PutModel(make([]byte, 64<<10), nil); return err }); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hook := func() {
		if err := os.Truncate(path, 0); err != nil {
			t.Error(err)
		}
	}
	testHookCommit.Store(&hook)
	defer testHookCommit.Store(nil)
	err = returnsWithin(t, "the write", func() error {
		return db.Update(func(tx *Tx) error { _, err := tx.PutModel([]byte("m"), nil); return err })
	})
	testHookCommit.Store(nil)
	var ce *changedError
	if !errors.As(err, &ce) || !ce.broken || ce.what != "committing a transaction" {
		t.Errorf("write whose commit faulted: %v, want the broken open's error, committing", err)
	}
	if err := os.WriteFile(path, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	err = returnsWithin(t, "a View", func() error { return db.View(func(*Tx) error { return nil }) })
	if !errors.As(err, &ce) || !ce.broken {
		t.Errorf("View after a fault committing, the file whole again: %v, want the broken open's error", err)
	}
	if err := returnsWithin(t, "Close", db.Close); err != nil {
		t.Errorf("Close: %v", err)
	}
	openAgain(t, path)
}

// Given a panic of bbolt's own as it commits (a page freed twice: the
// file's bytes are inconsistent, not changing under the process), expect
// the open broken as for a fault, but the error's remedy the backup, not
// trying again once a copy has finished: the file is damaged.
func TestInconsistencyCommittingIsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	hook := func() { panic("page 7 already freed") } // as bbolt's freelist panics
	testHookCommit.Store(&hook)
	defer testHookCommit.Store(nil)
	err = returnsWithin(t, "the write", func() error {
		return db.Update(func(tx *Tx) error { _, err := tx.PutModel([]byte("m"), nil); return err })
	})
	testHookCommit.Store(nil)
	var ce *changedError
	if !errors.As(err, &ce) || !ce.broken || !errors.Is(err, ErrDamaged) ||
		!strings.Contains(err.Error(), "inconsistent") || strings.Contains(err.Error(), "written over in place") {
		t.Errorf("write whose commit bbolt found inconsistent: %v, want the broken open's error saying the file is damaged", err)
	}
	if err := returnsWithin(t, "Close", db.Close); err != nil {
		t.Errorf("Close: %v", err)
	}
}
