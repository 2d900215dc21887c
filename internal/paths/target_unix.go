//go:build unix

package paths

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// mayFollow refuses the symlink at path (link is its Lstat) when the
// kernel's protected_symlinks would: it lies in a sticky, world-writable
// directory, and neither this process's user nor the directory's owner
// owns it.
func mayFollow(path string, link fs.FileInfo) error {
	dir, err := os.Stat(Dir(path))
	if err != nil {
		return err
	}
	if dir.Mode()&fs.ModeSticky == 0 || dir.Mode().Perm()&0o002 == 0 {
		return nil
	}
	ls, ok1 := link.Sys().(*syscall.Stat_t)
	ds, ok2 := dir.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 || ls.Uid == uint32(os.Geteuid()) || ls.Uid == ds.Uid {
		return nil
	}
	return fmt.Errorf("%s is a symlink that user %d owns in a directory every user may write to: not written through (it could point anywhere another user chose); remove it or give another path", path, ls.Uid)
}
