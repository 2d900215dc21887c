package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/audotics/soundalike/internal/outfile"
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
// (paths.Target). backup and train call it, and export checkOut, so that
// each refuses the same files in the same words.
func checkOutFile(flag, path, dbPath string) error {
	return checkOut(flag, path, dbPath, "")
}

// checkOut is checkOutFile for a command that can also write to standard
// output, which orStdout says how to ask for ("omit --out"): a refusal
// of a file it will not write then says so too.
func checkOut(flag, path, dbPath, orStdout string) error {
	accepted := "give the path of a regular file to write"
	if orStdout != "" {
		accepted += ", or " + orStdout + " to write to standard output"
	}
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
		return usagef("%s %s: is %s, not a regular file; %s", flag, path, outfile.Kind(st.Mode()), accepted)
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
	f, err := outfile.Temp(dir, 0o600)
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

// writeFileAtomic writes data to path as an outfile.File, a new file
// with permission 0666 under the umask.
func writeFileAtomic(path string, data []byte) error {
	o, err := outfile.Create(path, 0o666)
	if err != nil {
		return err
	}
	defer o.Discard()
	if _, err := o.Write(data); err != nil {
		return err
	}
	return o.Commit()
}
