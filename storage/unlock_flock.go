//go:build !windows && !plan9 && !solaris && !aix && !android

package storage

import (
	"os"
	"syscall"
)

// unlockFile lets go of the flock bbolt took on f (bolt_unix.go). Closing
// f is not enough: bbolt's memory map holds the open file too, and a
// flock lasts as long as the open file does.
func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
