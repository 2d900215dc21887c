//go:build windows || plan9 || solaris || aix || android

package storage

import "os"

// unlockFile does nothing: there bbolt locks with fcntl or LockFileEx,
// whose locks go when the process closes f, whatever maps it.
func unlockFile(*os.File) error { return nil }
