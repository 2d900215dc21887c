package soundalike_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/storage"
)

// backupSource is a database of one track whose file has mode 0640, so
// that a new backup's mode can be told from a temporary file's 0600.
func backupSource(t *testing.T) (*soundalike.Engine, string) {
	t.Helper()
	eng := MustOpen(t)
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(track("a", 0.5))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(eng.Path(), 0o640); err != nil {
		t.Fatal(err)
	}
	return eng, eng.Path()
}

// Given a database of mode 0640, when it is backed up to a new file, over
// a file of mode 0604, through a symlink to such a file and through a
// symlink to a file not there yet, expect a new file to get the
// database's mode under the umask, a replaced file to keep its own, each
// symlink to stay one with the file it points to written, and nothing else
// left beside them: the rename of a temporary file left 0600 and turned a
// link into a file of its own.
func TestBackupKeepsModeAndSymlink(t *testing.T) {
	eng, _ := backupSource(t)
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, dir string) (out string)
		file  string      // what is written, relative to dir
		mode  os.FileMode // the file's mode after, before the umask for a new file
		isNew bool
		links []string // symlinks that must stay symlinks
		tree  []string // all that dir holds after
	}{
		{"a new file", func(t *testing.T, dir string) string { return filepath.Join(dir, "new.db") },
			"new.db", 0o640, true, nil, []string{"new.db"}},
		{"over a file of mode 0604", func(t *testing.T, dir string) string {
			return writeMode(t, filepath.Join(dir, "old.db"), 0o604)
		}, "old.db", 0o604, false, nil, []string{"old.db"}},
		{"through a symlink", func(t *testing.T, dir string) string {
			writeMode(t, filepath.Join(dir, "target.db"), 0o604)
			return symlink(t, "target.db", filepath.Join(dir, "link.db"))
		}, "target.db", 0o604, false, []string{"link.db"}, []string{"link.db", "target.db"}},
		{"through a symlink to a symlink to a new file", func(t *testing.T, dir string) string {
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			symlink(t, "sub/new.db", filepath.Join(dir, "link2.db"))
			return symlink(t, filepath.Join(dir, "link2.db"), filepath.Join(dir, "link.db"))
		}, "sub/new.db", 0o640, true, []string{"link.db", "link2.db"}, []string{"link.db", "link2.db", "sub", "sub/new.db"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := c.setup(t, dir)
			n, err := eng.Backup(t.Context(), out)
			if err != nil {
				t.Fatalf("Backup to %s: %v", out, err)
			}
			file := filepath.Join(dir, c.file)
			st, err := os.Lstat(file)
			if err != nil {
				t.Fatalf("Backup to %s: %v, want %s written", out, err, file)
			}
			if !st.Mode().IsRegular() || st.Size() != n {
				t.Fatalf("Backup to %s: %s is %v of %d bytes, want a file of the %d bytes copied", out, file, st.Mode(), st.Size(), n)
			}
			want := c.mode
			if c.isNew {
				want = umasked(t, c.mode)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("Backup to %s (%s): mode %v, want %v", out, c.name, got, want)
			}
			for _, l := range c.links {
				if st, err := os.Lstat(filepath.Join(dir, l)); err != nil || st.Mode()&os.ModeSymlink == 0 {
					t.Errorf("Backup to %s: %s is no longer a symlink (%v)", out, l, modeOf(st, err))
				}
			}
			if got := tree(t, dir); !slices.Equal(got, c.tree) {
				t.Errorf("Backup to %s left %q, want %q", out, got, c.tree)
			}
		})
	}
}

// Given a good backup, when a backup to it is verified and the verify
// fails, expect its error as it is, the good backup unchanged and no
// temporary file left; when it succeeds, the copy it saw replaces the
// backup. verify is called with the database released (an attached
// engine), so that a writer may go on meanwhile.
func TestBackupVerified(t *testing.T) {
	eng, db := backupSource(t)
	dir := t.TempDir()
	out := writeMode(t, filepath.Join(dir, "nightly.db"), 0o604)
	good, _ := os.ReadFile(out)

	errBad := errors.New("the copy is bad")
	var seen string
	_, err := eng.BackupVerified(t.Context(), out, func(copy string) error {
		seen = copy
		if copy == out || filepath.Dir(copy) != dir {
			t.Errorf("verify called with %s, want a temporary file beside %s", copy, out)
		}
		return errBad
	})
	if !errors.Is(err, errBad) {
		t.Errorf("BackupVerified with a failing verify = %v, want its error", err)
	}
	if after, err := os.ReadFile(out); err != nil || !bytes.Equal(after, good) {
		t.Errorf("a failed verify replaced %s (%v)", out, err)
	}
	if _, err := os.Stat(seen); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed verify left the copy %s (%v), want it removed", seen, err)
	}

	var copied []byte
	n, err := eng.BackupVerified(t.Context(), out, func(copy string) error {
		// The database is released: a writer takes it at once.
		w, err := storage.Open(db, &storage.Options{Timeout: 200 * time.Millisecond, NoSync: true})
		if err != nil {
			t.Errorf("opening the database to write while verify runs: %v, want it released", err)
		} else {
			w.Close()
		}
		copied, err = os.ReadFile(copy)
		return err
	})
	if err != nil {
		t.Fatalf("BackupVerified = %v", err)
	}
	if after, err := os.ReadFile(out); err != nil || int64(len(after)) != n || !bytes.Equal(after, copied) {
		t.Errorf("after BackupVerified, %s holds %d bytes (%v), want the %d bytes verify saw", out, len(after), err, n)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"nightly.db"}) {
		t.Errorf("BackupVerified left %q, want only nightly.db", got)
	}
}

// Given a path naming a directory or a named pipe (as /dev/null is a
// device), when Backup writes to it, expect a refusal naming it and the
// path left as it was: a rename would replace the pipe.
func TestBackupRefusesNonFiles(t *testing.T) {
	eng, _ := backupSource(t)
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{pipe, "is a pipe, not a regular file"},
		{sub, "is a directory"},
	} {
		_, err := eng.Backup(t.Context(), c.path)
		if err == nil || !strings.Contains(err.Error(), c.path+" "+c.want) {
			t.Errorf("Backup to %s = %v, want an error saying it %s", c.path, err, c.want)
		}
	}
	if st, err := os.Lstat(pipe); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("after Backup to a named pipe, it is %v, want it left", modeOf(st, err))
	}
	if got := names(t, dir); !slices.Equal(got, []string{"pipe", "sub"}) {
		t.Errorf("the refused backups left %q, want only pipe and sub", got)
	}
}

func writeMode(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte("old"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

func symlink(t *testing.T, to, link string) string {
	t.Helper()
	if err := os.Symlink(to, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// modeOf describes what Lstat found, for a failure message.
func modeOf(st fs.FileInfo, err error) string {
	if err != nil {
		return err.Error()
	}
	return st.Mode().String()
}

// names lists dir's entries, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// tree lists what dir holds, its subdirectories' entries too, as paths
// relative to dir (slash-separated), sorted.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// umasked is perm as the process's umask leaves a new file's.
func umasked(t *testing.T, perm os.FileMode) os.FileMode {
	t.Helper()
	probe := filepath.Join(t.TempDir(), "probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}
