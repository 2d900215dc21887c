package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestOpenLocksWhatThePathNames: an Open that took the lock of a file
// another process removed meanwhile (the creator's RemoveCreated, while
// this Open had the file open and waited for its lock) opens again, and
// writes to a file at the path, not to the removed one, which would lose
// everything it wrote.
func TestOpenLocksWhatThePathNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	first, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	hook := func(string) {
		// The second Open has the file open, and not yet its lock: the
		// first one gives up on the file now.
		once.Do(func() {
			if removed, err := first.RemoveCreated(); !removed || err != nil {
				t.Errorf("RemoveCreated = %v, %v; want the new file removed", removed, err)
			}
			first.Close()
		})
	}
	testHookOpened.Store(&hook)
	defer testHookOpened.Store(nil)
	second, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if !second.Created() {
		t.Errorf("Created = false, want true: the second Open created the file at the path")
	}
	if err := second.Update(func(*Tx) error { return nil }); err != nil { // commits: the generation goes up
		t.Fatal(err)
	}
	second.Close()
	testHookOpened.Store(nil)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("after the second Open's write: %v, want the file it wrote to at the path", err)
	}
	db, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if g, _ := db.Generation(); g != initialGeneration+1 {
		t.Errorf("generation at the path = %d, want %d: the second Open's write", g, initialGeneration+1)
	}
}

// TestReaderOfAFileGoneMeanwhile: a reader's open that finds, once it
// has the file open, that it is empty (a new file, not laid out yet, that
// replaced the database checkFile found: see RemoveCreated) or removed
// says there is no database yet, as it does of a path that held none.
// bbolt would lay the empty file out, which a read-only file refuses
// ("write …: bad file descriptor"); the removed file was "no such file or
// directory", or a lock on a file no longer there.
func TestReaderOfAFileGoneMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(path string) error
		want   string
	}{
		{"emptied", func(p string) error { return os.Truncate(p, 0) }, "no database there yet (the file is empty)"},
		{"removed", os.Remove, "no database there yet:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.db")
			db, err := Open(path, &Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			var once sync.Once
			hook := func(string) {
				once.Do(func() { // the reader has the file open
					if err := tc.change(path); err != nil {
						t.Error(err)
					}
				})
			}
			testHookOpened.Store(&hook)
			defer testHookOpened.Store(nil)
			_, err = Open(path, &Options{ReadOnly: true})
			if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("read-only Open = %v, want ErrNoDatabase: %s", err, tc.want)
			}
		})
	}
}
