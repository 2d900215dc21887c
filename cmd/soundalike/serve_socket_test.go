//go:build unix

package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike/internal/syncbuf"
)

// Given serve --addr unix:PATH --socket-mode 0600 under umask 0, expect
// the socket at PATH never seen with a looser mode, not even between its
// bind and its chmod: a client that connected then would be served.
func TestServeSocketModeFromTheStart(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	db := testDB(t, 50)
	for round := range socketModeRounds {
		sock := filepath.Join(t.TempDir(), "sa.sock")
		var stop atomic.Bool
		seen := make(chan os.FileMode, 1)
		go func() { seen <- loosestModeSeen(sock, 0o600, &stop) }()

		ctx, cancel := context.WithCancel(t.Context())
		var logs syncbuf.Buffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--db", db, "--addr", "unix:" + sock, "--reload", "0", "--socket-mode", "0600"}, strings.NewReader(""), io.Discard, &logs)
		}()
		client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
		waitFor(t, 10*time.Second, func() bool {
			resp, err := client.Get("http://soundalike/healthz")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		}, func() string { return "serve never answered on " + sock + "; log: " + logs.String() })
		stop.Store(true)
		if mode := <-seen; mode&^0o600 != 0 {
			t.Errorf("round %d: the socket was seen with mode %04o under umask 0, want never looser than --socket-mode 0600", round, mode)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve: %v; log: %s", err, logs.String())
		}
		if t.Failed() {
			return
		}
	}
}

// socketModeRounds is how many times TestServeSocketModeFromTheStart
// starts serve: the window a chmod after the bind leaves is microseconds,
// which a polling stat does not catch every time.
const socketModeRounds = 20

// loosestModeSeen stats path as fast as it can until stop, and returns
// the first permissions seen that grant more than want, or want itself
// when none did.
func loosestModeSeen(path string, want os.FileMode, stop *atomic.Bool) os.FileMode {
	for !stop.Load() {
		if fi, err := os.Lstat(path); err == nil && fi.Mode().Perm()&^want != 0 {
			return fi.Mode().Perm()
		}
	}
	return want
}
