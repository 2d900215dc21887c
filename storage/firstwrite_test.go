//go:build unix

package storage_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// envLimitedOpen, in the environment of a copy of the test binary, names
// the path TestFailedFirstWriteLeavesNoFile's copy opens under a file
// size limit (see limitedOpen).
const envLimitedOpen = "SOUNDALIKE_STORAGE_TEST_LIMITED_OPEN"

// TestFailedFirstWriteLeavesNoFile: an open that created the file, and
// whose first write bbolt could not make (here a file size limit; a full
// disk is the same), removes it, leaving the directory as it was, and
// says why it failed; an empty file that was there before the open is
// left there.
func TestFailedFirstWriteLeavesNoFile(t *testing.T) {
	if path := os.Getenv(envLimitedOpen); path != "" {
		limitedOpen(t, path)
		return
	}
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
			// The limit is the process's: a copy of the test binary opens
			// the file, so that no other file this process writes meets it.
			cmd := exec.Command(os.Args[0], "-test.run=^TestFailedFirstWriteLeavesNoFile$")
			cmd.Env = append(os.Environ(), envLimitedOpen+"="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the copy opening %s under a file size limit: %v\n%s", path, err, out)
			}
			want := fmt.Sprintf("Open: open %s: write %s: %v", path, path, syscall.EFBIG)
			if !strings.Contains(string(out), want) {
				t.Errorf("the copy's output:\n%s\nwant a line %q", out, want)
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

// limitedOpen opens path with the process's file size limit at 4 KiB,
// which bbolt's first write (four pages) outgrows, and prints Open's
// error. Go ignores the SIGXFSZ the write raises: the write fails with
// EFBIG, having written the first 4 KiB.
func limitedOpen(t *testing.T, path string) {
	var was syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &was); err != nil {
		t.Fatal(err)
	}
	limit := was
	limit.Cur = 4096
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(path, &storage.Options{NoSync: true})
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &was); err != nil {
		t.Fatal(err)
	}
	if err == nil {
		db.Close()
	}
	fmt.Printf("Open: %v\n", err)
}
