package storage

import (
	"context"
	"errors"
	"fmt"
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
	// A write's failure, joined to a cleanup's that was denied: the
	// cause stays first and whole, and is not taken for a permission.
	full := fmt.Errorf("%w; %w", &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC},
		&fs.PathError{Op: "remove", Path: path, Err: syscall.EACCES})
	if err := openFailed(context.Background(), path, Options{}, full); !strings.Contains(err.Error(), "write "+path+": no space left on device; remove") || strings.Contains(err.Error(), "may not") {
		t.Errorf("a full disk and a denied cleanup: %v; want both, the write's first, and no permission advice", err)
	}
}
