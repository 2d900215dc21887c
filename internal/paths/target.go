package paths

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Target is the file a write to path lands on: path itself, or, when path
// is a symlink, the file it points to, through every link, which need not
// exist yet (a shell's > creates it). A write that goes through a
// temporary file and a rename must rename over Target: renaming over the
// link would turn it into a file of its own, and leave the file it points
// to, which the caller meant, as it was.
//
// Target resolves the links itself, where the kernel would check them on
// an open: so it refuses, as the kernel's protected_symlinks does, a link
// in a sticky directory that others may write (/tmp) owned by neither
// this process's user nor the directory's owner. Another user may plant
// such a link to have a file of this user's replaced.
func Target(path string) (string, error) {
	for range maxLinks {
		st, err := os.Lstat(path)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return path, nil // a file, or none yet: written as named
		}
		if err := mayFollow(path, st); err != nil {
			return "", err
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if dir := Dir(path); !filepath.IsAbs(link) && dir != "." {
			// Relative to the link's directory, not cleaned: a/x/../f
			// goes through a/x, as the system resolves it.
			link = dir + link
		}
		path = link
	}
	return "", fmt.Errorf("more than %d symlinks, one after another (a loop?)", maxLinks)
}

// maxLinks is how many symlinks Target follows, Linux's limit.
const maxLinks = 40

// Dir is the directory of path with its trailing separator (a/x/../ for
// a/x/../f), or "." when path has none: unlike filepath.Dir, it keeps the
// path as the system resolves it, where a/x/.. need not be the directory
// that a names.
func Dir(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}
