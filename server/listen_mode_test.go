//go:build unix

package server_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/audotics/soundalike/server"
)

// Under umask 0, a socket ListenSocketMode makes is never seen at its path
// with a looser mode than it was given, even for a moment; it answers
// there, reports the path as its address, and is removed at Close with
// nothing left beside it.
func TestListenSocketModeFromTheStart(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	for round := range 200 {
		dir := t.TempDir()
		path := filepath.Join(dir, "sa.sock")
		var stop atomic.Bool
		seen := make(chan os.FileMode, 1)
		go func() {
			for !stop.Load() {
				if fi, err := os.Lstat(path); err == nil && fi.Mode().Perm()&^0o600 != 0 {
					seen <- fi.Mode().Perm()
					return
				}
			}
			seen <- 0o600
		}()
		ln, err := server.ListenSocketMode(t.Context(), "unix:"+path, 0o600)
		stop.Store(true)
		if err != nil {
			t.Fatal(err)
		}
		if mode := <-seen; mode != 0o600 {
			ln.Close()
			t.Fatalf("round %d: the socket was seen with mode %04o under umask 0, want never looser than 0600", round, mode)
		}
		checkListening(t, ln, path, 0o600)
		ln.Close()
		if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
			t.Fatalf("round %d: the socket's directory after Close: %v, %v; want it empty (the socket and the private directory removed)", round, ents, err)
		}
	}
}

// checkListening checks that ln, listening on path, says so, has mode
// and answers there.
func checkListening(t *testing.T, ln net.Listener, path string, mode os.FileMode) {
	t.Helper()
	if a := ln.Addr(); a.Network() != "unix" || a.String() != path {
		t.Errorf("Addr() = %s %s, want unix %s", a.Network(), a, path)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != mode {
		t.Errorf("the file at %s: %v, want a socket, mode %04o", path, fi.Mode(), mode)
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c.Close()
}

// ListenSocketMode judges what is at the path as Listen does: a socket a
// stopped server left is replaced, a regular file is refused and kept.
func TestListenSocketModeLeftBehind(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false) // as a killed server leaves it
	l.Close()
	ln, err := server.ListenSocketMode(t.Context(), "unix:"+stale, 0o660)
	if err != nil {
		t.Fatalf("ListenSocketMode over a stale socket: %v, want it replaced", err)
	}
	checkListening(t, ln, stale, 0o660)
	// A second server on the path is refused while this one listens.
	if ln2, err := server.ListenSocketMode(t.Context(), "unix:"+stale, 0o660); err == nil {
		ln2.Close()
		t.Error("a second ListenSocketMode on a socket a server answers on succeeded, want an error")
	} else if !strings.Contains(err.Error(), "another server is listening") {
		t.Errorf("a second ListenSocketMode: %v, want it to say another server is listening", err)
	}
	ln.Close()

	file := filepath.Join(dir, "data.db")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ln, err := server.ListenSocketMode(t.Context(), "unix:"+file, 0o660); err == nil {
		ln.Close()
		t.Error("ListenSocketMode on a regular file succeeded, want an error")
	} else if want := "the path is a regular file, not a socket"; !strings.Contains(err.Error(), want) {
		t.Errorf("ListenSocketMode on a regular file: %v, want it to say %q", err, want)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Errorf("the regular file after ListenSocketMode: %q, %v, want it kept", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the directory holds %v, want the regular file alone (no private directory left)", ents)
	}
}

// Close leaves a socket another server put at the path since (after this
// one's was removed by hand): it is not this listener's.
func TestListenSocketModeCloseKeepsAnothersSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sa.sock")
	ln, err := server.ListenSocketMode(t.Context(), "unix:"+path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("another server's socket after Close: %v, want it kept", err)
	}
}

// In a setgid directory the socket takes the directory's group, as a
// socket bound there directly does: --socket-mode 0660 relies on it to
// let a proxy of that group in.
func TestListenSocketModeSetgidDirectory(t *testing.T) {
	dir := t.TempDir()
	gid := os.Getgid() + 1
	if err := os.Chown(dir, -1, gid); err != nil {
		t.Skipf("giving the directory another group: %v", err)
	}
	if err := os.Chmod(dir, 0o755|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sa.sock")
	ln, err := server.ListenSocketMode(t.Context(), "unix:"+path, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := int(fi.Sys().(*syscall.Stat_t).Gid); got != gid {
		t.Errorf("the socket's group in a setgid directory of group %d: %d, want the directory's", gid, got)
	}
}

// A path as long as a socket address holds, whose last element has 8
// bytes, is listened on: the private name the socket is bound under first
// is no longer.
func TestListenSocketModeLongPath(t *testing.T) {
	dir := t.TempDir()
	longest := len(syscall.RawSockaddrUnix{}.Path) - 1 // a NUL ends the path
	dir = filepath.Join(dir, strings.Repeat("d", longest-len(dir)-len("/")-len("/12345678")))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "12345678")
	if len(path) != longest {
		t.Fatalf("the path has %d bytes, want %d", len(path), longest)
	}
	ln, err := server.ListenSocketMode(t.Context(), "unix:"+path, 0o600)
	if err != nil {
		t.Fatalf("ListenSocketMode on a path of %d bytes: %v", len(path), err)
	}
	checkListening(t, ln, path, 0o600)
	ln.Close()

	// A short socket name in a long directory: the private name would
	// not fit in a socket address where the path does.
	long := dir + strings.Repeat("e", longest-len(dir)-len("/s"))
	if err := os.Mkdir(long, 0o755); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(long, "s")
	ln, err = server.ListenSocketMode(t.Context(), "unix:"+short, 0o600)
	if err != nil {
		t.Fatalf("ListenSocketMode on a path of %d bytes, named s: %v", len(short), err)
	}
	checkListening(t, ln, short, 0o600)
	ln.Close()
}

// Servers starting at once on one stale socket take turns, as Listen's
// do: exactly one listens, reachable at the path.
func TestListenSocketModeStartsAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	for round := range 50 {
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		l.(*net.UnixListener).SetUnlinkOnClose(false) // a stale socket, as a killed server leaves it
		l.Close()
		lns := make([]net.Listener, 2)
		errs := make([]error, len(lns))
		var wg sync.WaitGroup
		for i := range lns {
			wg.Go(func() { lns[i], errs[i] = server.ListenSocketMode(t.Context(), "unix:"+path, 0o600) })
		}
		wg.Wait()
		var up []net.Listener
		for i, ln := range lns {
			if ln != nil {
				up = append(up, ln)
			} else if !strings.Contains(errs[i].Error(), "another server is listening on it") {
				t.Fatalf("round %d: the server that did not listen: %v, want it to say another server is listening", round, errs[i])
			}
		}
		if len(up) != 1 {
			for _, ln := range up {
				ln.Close()
			}
			t.Fatalf("round %d: %d of 2 servers starting at once on a stale socket listen, want 1", round, len(up))
		}
		checkListening(t, up[0], path, 0o600)
		up[0].Close()
	}
}
