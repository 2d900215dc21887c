package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
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
	if !second.created {
		t.Errorf("created = false, want true: the second Open created the file at the path")
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

// TestFailedLayoutLeavesNoFile: an open that created the file and could
// not lay it out (a full disk, say) removes it, leaving the directory as
// it was; an empty file that was there before the open is left there.
func TestFailedLayoutLeavesNoFile(t *testing.T) {
	errFull := errors.New("no space left on device (injected)")
	hook := func() error { return errFull }
	testHookLayOut.Store(&hook)
	defer testHookLayOut.Store(nil)
	for _, tc := range []struct {
		name  string
		empty bool     // an empty file is there before the open
		left  []string // the directory's files afterwards
	}{
		{"new file", false, nil},
		{"empty file", true, []string{"f.db"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.db")
			if tc.empty {
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			db, err := Open(path, &Options{NoSync: true})
			if !errors.Is(err, errFull) {
				if err == nil {
					db.Close()
				}
				t.Fatalf("Open = %v, want the layout's error %v", err, errFull)
			}
			entries, _ := os.ReadDir(dir)
			var left []string
			for _, e := range entries {
				left = append(left, e.Name())
			}
			if !slices.Equal(left, tc.left) {
				t.Errorf("left in the directory after the failed Open: %q, want %q", left, tc.left)
			}
		})
	}
}
