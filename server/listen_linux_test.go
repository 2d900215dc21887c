package server_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike/server"
)

// A lock some other program holds on the socket's directory for long
// delays Listen by lockWait at most.
func TestListenUnixSocketDirLockedByAnother(t *testing.T) {
	dir := t.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	ln, err := server.Listen(ctx, "unix:"+filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatalf("Listen beside a directory another program keeps locked: %v, want it to go on without the lock", err)
	}
	ln.Close()
}
