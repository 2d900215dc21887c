package storage

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

// Given the os's error for a file this user may not open, which names
// the path itself, expect Open's error to name the path once, stay
// fs.ErrPermission, and say what access the open needs.
func TestOpenFailedPermission(t *testing.T) {
	const path = "/srv/music.db"
	denied := &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}
	for _, tc := range []struct {
		readOnly bool
		need     string
	}{{true, "may not read it"}, {false, "may not read and write it"}} {
		err := openFailed(context.Background(), path, Options{ReadOnly: tc.readOnly}, denied)
		if !errors.Is(err, fs.ErrPermission) || strings.Count(err.Error(), path) != 1 || !strings.Contains(err.Error(), tc.need) {
			t.Errorf("ReadOnly %v: %v; want fs.ErrPermission naming %s once and saying it %s", tc.readOnly, err, path, tc.need)
		}
	}
	other := &fs.PathError{Op: "open", Path: path, Err: syscall.EIO}
	if err := openFailed(context.Background(), path, Options{}, other); !errors.Is(err, syscall.EIO) || strings.Count(err.Error(), path) != 1 {
		t.Errorf("EIO: %v; want it naming %s once", err, path)
	}
}
