// Package outfile writes a file as a shell's > or cp would leave it, but
// never half-written: under a temporary name beside it, renamed over it
// once complete. The commands' --out files and Engine.Backup share it.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/audotics/soundalike/internal/paths"
)

// File is a file being written: a temporary file beside its target, which
// Commit renames over the target. The caller defers Discard.
type File struct {
	*os.File
	target string      // the file Commit replaces (paths.Target)
	perm   fs.FileMode // the permission Commit gives it
	closed bool        // synced, closed and given perm (Finish)
	done   bool        // renamed: nothing to remove
}

// Create starts writing the file path names: through a symlink, the file
// it points to (paths.Target), the link kept. The file Commit leaves has
// the permission of the file it replaces, or, when there is none, newPerm
// under the umask, what cp and a shell's > leave. A path that names
// something other than a regular file (a directory, a device, a named
// pipe, which a rename would replace rather than write into) is refused.
func Create(path string, newPerm fs.FileMode) (*File, error) {
	target, err := paths.Target(path)
	if err != nil {
		return nil, err
	}
	perm, replaces := newPerm, false
	st, err := os.Stat(target)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("%s is a directory; name a file to write", target)
	case err == nil && !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s is %s, not a regular file; name a file to write", target, Kind(st.Mode()))
	case err == nil:
		perm, replaces = st.Mode().Perm(), true
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	f, err := Temp(paths.Dir(target), perm)
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
	return &File{File: f, target: target, perm: perm}, nil
}

// Finish makes the written file durable and closes it, with the
// permission it will have (the umask may have narrowed a replaced file's),
// so that it may be opened by name before Commit (a backup checked before
// it replaces a good one). Commit calls it when the caller has not.
func (o *File) Finish() error {
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.Sync()
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(o.Name(), o.perm)
	}
	return err
}

// Commit finishes the file and renames it over the target, making the
// rename durable.
func (o *File) Commit() error {
	if err := o.Finish(); err != nil {
		return err
	}
	if err := os.Rename(o.Name(), o.target); err != nil {
		return err
	}
	o.done = true
	if d, err := os.Open(paths.Dir(o.target)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Discard removes the temporary file unless Commit renamed it.
func (o *File) Discard() {
	if !o.closed {
		o.Close()
	}
	if !o.done {
		os.Remove(o.Name())
	}
}

// Temp creates a new file with permission perm (under the umask), named
// .soundalike-* in dir (as paths.Dir gives it). os.CreateTemp's are
// always 0600.
func Temp(dir string, perm fs.FileMode) (*os.File, error) {
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

// Kind says in words what kind of file mode is, for an error refusing
// it: "a regular file", "a directory", "a pipe", ….
func Kind(mode fs.FileMode) string {
	switch t := mode.Type(); {
	case t == 0:
		return "a regular file"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a pipe" // a named one, or a shell's (/dev/stdout in a pipeline)
	case t&fs.ModeCharDevice != 0:
		return "a character device (such as a terminal or /dev/null)"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}
