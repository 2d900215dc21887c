package outfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Given a path that names a device or a pipe, when Create, expect an error
// saying in words what the file is, and the file left as it was: Commit
// renames over the name, which would replace the device or pipe rather
// than write into it.
func TestCreateRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	for _, tc := range []struct{ path, want string }{
		{os.DevNull, os.DevNull + " is a character device (such as a terminal or /dev/null), not a regular file; name a file to write"},
		{fifo, fifo + " is a pipe, not a regular file; name a file to write"},
	} {
		f, err := Create(tc.path, 0o666)
		if err == nil {
			f.Discard()
			t.Errorf("Create(%s) succeeded, want it refused", tc.path)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Create(%s) = %q, want %q", tc.path, err, tc.want)
		}
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode().Type()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe after Create: %v, %v", st, err)
	}
}
