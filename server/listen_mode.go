package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// ListenSocketMode is Listen, except that a Unix socket's file (addr
// "unix:PATH", not an abstract "@name") has mode from the moment a client
// could reach it: connecting takes write permission on the file, which
// the umask would otherwise decide. The socket is bound and given mode in
// a private directory (0700) beside PATH, where no one else can connect,
// then linked to PATH; a chmod after binding at PATH would leave the
// socket open, in the meantime, to whoever the umask let in (a client
// that connected then waits in the backlog and is served). Closing the
// listener removes the socket at PATH, as Listen's does.
func ListenSocketMode(ctx context.Context, addr string, mode fs.FileMode) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, unixPrefix)
	if !ok || path == "" || (path[0] == '@' && runtime.GOOS == "linux") {
		return Listen(ctx, addr) // no socket file to give the mode
	}
	unlock, err := lockSocketDir(ctx, path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	if len(filepath.Dir(path))+len("/.sXXXX/s") > maxSocketPath {
		return listenThenChmod(ctx, path, mode)
	}
	return listenPrivately(ctx, path, mode)
}

// maxSocketPath is the longest path a socket address holds, its NUL
// aside: 108 bytes on Linux, 104 on the BSDs and macOS.
var maxSocketPath = map[bool]int{true: 107, false: 103}[runtime.GOOS == "linux"]

// listenThenChmod binds the socket at path and then gives it mode: for a
// path whose private name (listenPrivately) would not fit in a socket
// address where path does (a short name in a long directory). Until the
// chmod, the umask decides who may connect.
func listenThenChmod(ctx context.Context, path string, mode fs.FileMode) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen unix %s: give the socket mode %04o: %w", path, mode, err)
	}
	return ln, nil
}

// listenPrivately listens on a socket bound in a new private directory
// beside path (so the link to path stays on one file system), gives it
// mode there, and moves it to path. The private directory is removed
// whatever happens.
func listenPrivately(ctx context.Context, path string, mode fs.FileMode) (net.Listener, error) {
	dir, err := privateDir(path)
	if err != nil {
		return nil, fmt.Errorf("listen unix %s: a private directory to bind in: %w", path, err)
	}
	defer os.Remove(dir)
	private := filepath.Join(dir, "s")
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", private)
	if err != nil {
		return nil, fmt.Errorf("listen unix %s: bind in the private directory %s: %w", path, dir, err)
	}
	ul := ln.(*net.UnixListener)
	// The socket is PATH's from here on: the socketListener removes it.
	ul.SetUnlinkOnClose(false)
	defer os.Remove(private)
	if err := os.Chmod(private, mode); err != nil {
		ul.Close()
		return nil, fmt.Errorf("listen unix %s: give the socket mode %04o: %w", path, mode, err)
	}
	fi, err := os.Lstat(private)
	if err == nil {
		err = moveSocket(private, path)
	}
	if err != nil {
		ul.Close()
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	return &socketListener{Listener: ul, addr: &net.UnixAddr{Name: path, Net: "unix"}, file: fi}, nil
}

// privateDir makes a new directory beside path that its owner alone may
// enter. Its name is short: the socket's name in it must fit in a socket
// address (108 bytes on Linux, 104 on the BSDs), and is at most 9 bytes
// longer than path's directory, so no longer than path when path's last
// element has 8 bytes or more.
func privateDir(path string) (string, error) {
	var err error
	for range 100 { // names taken 100 times running: not chance
		dir := filepath.Join(filepath.Dir(path), ".s"+strconv.FormatUint(rand.Uint64N(36*36*36*36), 36))
		if err = os.Mkdir(dir, 0o700); !errors.Is(err, fs.ErrExist) {
			return dir, err
		}
	}
	return "", err
}

// moveSocket gives the socket at private the name path. A hard link
// fails if something took path since it was judged (as bind would); a
// file system without hard links gets a rename, which would replace it.
func moveSocket(private, path string) error {
	err := os.Link(private, path)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("something was created at the path while the socket was bound: %w", err)
	}
	if err != nil {
		err = os.Rename(private, path)
	}
	return err
}

// socketListener is a listener whose socket was bound under another name
// and moved to addr: it reports addr, and Close removes the socket there
// unless the file at addr is no longer it (another server's, since).
type socketListener struct {
	net.Listener
	addr   *net.UnixAddr
	file   fs.FileInfo // the socket's file, to know it at addr
	remove sync.Once
}

func (l *socketListener) Addr() net.Addr { return l.addr }

func (l *socketListener) Close() error {
	l.remove.Do(func() {
		if fi, err := os.Lstat(l.addr.Name); err == nil && os.SameFile(fi, l.file) {
			os.Remove(l.addr.Name)
		}
	})
	return l.Listener.Close()
}
