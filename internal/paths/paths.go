// Package paths answers questions about file paths that the engine and
// the commands both ask.
package paths

import "os"

// Same reports whether a and b name one existing file, however each is
// spelt: relative or absolute, through a symlink, or as another hard link
// to it. A path that does not exist names no file, so it is never the
// same as another.
func Same(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
