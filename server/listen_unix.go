//go:build unix

package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockSocketDir holds an exclusive flock on the directory of a Unix
// socket's path while Listen judges and replaces a socket a stopped
// server left there. Two servers starting at once on one stale path would
// otherwise both find it stale, and the second remove the socket the first
// had just bound (which then listens on a name no client can reach); under
// the lock the second finds the first answering. ctx ends the wait. The
// directory itself is locked, so no lock file is left beside the socket.
// Another server holds the lock for milliseconds; one held longer
// (lockWait) is some other program's, and Listen goes on without it.
func lockSocketDir(ctx context.Context, path string) (unlock func(), err error) {
	dir, err := os.Open(filepath.Dir(path))
	if errors.Is(err, fs.ErrPermission) {
		return func() {}, nil // a directory one may bind in but not read: no lock to take
	}
	if err != nil {
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	fd := int(dir.Fd())
	giveUp := time.Now().Add(lockWait)
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			break
		}
		if time.Now().After(giveUp) {
			dir.Close()
			return func() {}, nil
		}
		select {
		case <-ctx.Done():
			dir.Close()
			return nil, fmt.Errorf("listen unix %s: waiting for another server starting in %s: %w", path, filepath.Dir(path), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err != nil {
		dir.Close()
		return nil, fmt.Errorf("listen unix %s: lock %s: %w", path, filepath.Dir(path), err)
	}
	return func() { dir.Close() }, nil // closing the last descriptor releases the lock
}

// lockWait is how long Listen waits for the lock on a socket's directory.
const lockWait = 2 * time.Second
