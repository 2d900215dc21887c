package main

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/audotics/soundalike/internal/paths"
)

// checkOutFile refuses, before any work is done, a file that flag (--out)
// names for a command to write when the write would fail at the end or
// destroy data: an empty path, "-" (which reads as standard output), a
// directory or another file that is not a regular one (a device, a named
// pipe), a directory that does not exist or cannot be written, or the
// database file dbPath itself, however it is spelt (./w.db, an absolute
// path, a symlink, a hard link), which the write would replace. A
// symlink is checked as the file it points to, which is what is written
// (paths.Target). backup, export and train share it, so that each refuses the
// same files in the same words.
func checkOutFile(flag, path, dbPath string) error {
	if path == "" {
		return usagef("%s is empty: give the file to write, in a directory that exists", flag)
	}
	if path == "-" {
		// "-" is standard output to export, and to a person reading the
		// help of any command; writing a file named "-" would be a
		// surprise found later, if ever.
		return usagef("%s -: this command writes a file, not standard output; name the file (./- for a file named -)", flag)
	}
	if paths.Same(path, dbPath) {
		return usagef("%s %s: that is the database itself; name another file", flag, path)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("%s %s: is a directory; give a file to write, such as %s", flag, path, filepath.Join(path, "out"))
	} else if err == nil && !st.Mode().IsRegular() {
		// The write renames a new file over the name: it would replace
		// a device (/dev/null) or a named pipe, not write into it.
		return usagef("%s %s: is not a regular file (%v); give a file to write", flag, path, st.Mode().Type())
	}
	target, err := paths.Target(path)
	if err != nil {
		return usagef("%s %s: %v", flag, path, err)
	}
	dir := paths.Dir(target) // as the system resolves it: a/x/../f needs a/x
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s %s: the directory %s does not exist; create it first or name a file in a directory that exists", flag, path, dir)
	case err != nil:
		return usagef("%s %s: %v", flag, path, err)
	case !st.IsDir():
		return usagef("%s %s: %s is not a directory", flag, path, dir)
	}
	// The file is written beside its target and renamed: try that.
	f, err := createTemp(dir, 0o600)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return usagef("%s %s: cannot write in %s (%v); name a file in a directory you can write", flag, path, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// outFile is a file a command writes (--out, a run's files): written
// under a temporary name beside its target, which commit renames over
// the target, so that a failed or interrupted write never leaves a
// half-written file under the final name, nor replaces a good one.
type outFile struct {
	*os.File             // the temporary file
	target   string      // the file commit replaces (paths.Target)
	perm     fs.FileMode // the permission commit gives it
	done     bool        // committed: nothing to remove
}

// createOut starts writing the file path names; the caller defers
// discard. The file commit leaves has the permission of the file it
// replaces, or, when there is none, newPerm under the umask: what cp and
// a shell's > leave. A symlink's target is written, the link kept.
func createOut(path string, newPerm fs.FileMode) (*outFile, error) {
	target, err := paths.Target(path)
	if err != nil {
		return nil, err
	}
	perm, replaces := newPerm, false
	if st, err := os.Stat(target); err == nil {
		perm, replaces = st.Mode().Perm(), true
	}
	f, err := createTemp(paths.Dir(target), perm)
	if err != nil {
		return nil, err
	}
	if !replaces { // newPerm as the umask left it
		st, err := f.Stat()
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		perm = st.Mode().Perm()
	}
	return &outFile{File: f, target: target, perm: perm}, nil
}

// commit makes the temporary file durable and renames it over the
// target. The permission is set again because the umask may have
// narrowed the replaced file's.
func (o *outFile) commit() error {
	err := o.Sync()
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(o.Name(), o.perm)
	}
	if err == nil {
		err = os.Rename(o.Name(), o.target)
	}
	if err != nil {
		return err
	}
	o.done = true
	if d, err := os.Open(paths.Dir(o.target)); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}

// discard removes the temporary file unless commit renamed it.
func (o *outFile) discard() {
	o.Close()
	if !o.done {
		os.Remove(o.Name())
	}
}

// writeFileAtomic writes data to path as an outFile, a new file with
// permission 0666 under the umask.
func writeFileAtomic(path string, data []byte) error {
	o, err := createOut(path, 0o666)
	if err != nil {
		return err
	}
	defer o.discard()
	if _, err := o.Write(data); err != nil {
		return err
	}
	return o.commit()
}

// createTemp creates a new file with permission perm (under the umask),
// named .soundalike-* in dir. os.CreateTemp's are always 0600.
func createTemp(dir string, perm fs.FileMode) (*os.File, error) {
	if !os.IsPathSeparator(dir[len(dir)-1]) {
		dir += string(os.PathSeparator)
	}
	for try := 0; ; try++ {
		f, err := os.OpenFile(dir+".soundalike-"+strconv.FormatUint(rand.Uint64(), 36), os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		return f, err
	}
}
