package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/audotics/soundalike/internal/syncbuf"
	"github.com/audotics/soundalike/server"
)

// A server listens on "unix:PATH", answers there, and removes the socket
// when it stops.
func TestListenUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sa.sock")
	ln, err := server.Listen(t.Context(), "unix:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	logs := &syncbuf.Buffer{}
	opts := &server.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	go func() { done <- server.New(newEngine(t, ready), opts).Serve(ctx, ln) }()

	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
	// Over the socket, the peer is the proxy in front: its
	// X-Forwarded-For names the client, past the trusted proxies.
	req, _ := http.NewRequest("GET", "http://soundalike/similar?track=a&k=1", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.1.2.3")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"results"`) {
		t.Fatalf("GET /similar over the socket = %d %s, want 200 with results", resp.StatusCode, body)
	}

	if !strings.Contains(logs.String(), `"client_ip":"203.0.113.7"`) {
		t.Errorf("access log: %s\nwant client_ip 203.0.113.7 from X-Forwarded-For", logs)
	}

	// Another server on the same path is refused while this one listens.
	if ln2, err := server.Listen(t.Context(), "unix:"+path); err == nil {
		ln2.Close()
		t.Error("a second Listen on a socket a server answers on succeeded, want an error")
	} else if !strings.Contains(err.Error(), "another server is listening") {
		t.Errorf("a second Listen: %v, want it to say another server is listening", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the socket after the server stopped: %v, want it removed", err)
	}
}

// A socket a stopped server left is replaced; a file that is not a socket
// is refused and kept; an empty path is refused.
func TestListenUnixSocketLeftBehind(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false) // as a killed server leaves it
	l.Close()
	if _, err := os.Lstat(stale); err != nil {
		t.Fatalf("the stale socket: %v", err)
	}
	ln, err := server.Listen(t.Context(), "unix:"+stale)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v, want it replaced", err)
	}
	ln.Close()

	file := filepath.Join(dir, "data.db")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ln, err := server.Listen(t.Context(), "unix:"+file); err == nil {
		ln.Close()
		t.Error("Listen on a regular file succeeded, want an error")
	} else if want := "the path is a regular file, not a socket"; !strings.Contains(err.Error(), want) {
		t.Errorf("Listen on a regular file: %v, want it to say %q", err, want)
	}
	if ln, err := server.Listen(t.Context(), "unix:"+dir); err == nil {
		ln.Close()
		t.Error("Listen on a directory succeeded, want an error")
	} else if want := "the path is a directory, not a socket"; !strings.Contains(err.Error(), want) {
		t.Errorf("Listen on a directory: %v, want it to say %q", err, want)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Errorf("the regular file after Listen: %q, %v, want it kept", b, err)
	}

	if ln, err := server.Listen(t.Context(), "unix:"); err == nil {
		ln.Close()
		t.Error(`Listen("unix:") succeeded, want an error naming the form`)
	}
}

// Servers starting at once on one stale socket take turns: exactly one
// listens, and its socket is the one at the path (without the turns, the
// second removed the first's new socket and both "listened").
func TestListenUnixSocketStartsAtOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	for round := range 100 {
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		l.(*net.UnixListener).SetUnlinkOnClose(false) // a stale socket, as a killed server leaves it
		l.Close()
		lns := make([]net.Listener, 2)
		var wg sync.WaitGroup
		errs := make([]error, len(lns))
		for i := range lns {
			wg.Go(func() { lns[i], errs[i] = server.Listen(t.Context(), "unix:"+path) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil && !strings.Contains(err.Error(), "another server is listening on it") {
				t.Fatalf("round %d: the server that did not listen: %v, want it to say another server is listening", round, err)
			}
		}
		var up []net.Listener
		for _, ln := range lns {
			if ln != nil {
				up = append(up, ln)
			}
		}
		if len(up) != 1 {
			for _, ln := range up {
				ln.Close()
			}
			t.Fatalf("round %d: %d of 2 servers starting at once on a stale socket listen, want 1", round, len(up))
		}
		// The one listening is reachable at the path.
		go func() {
			if c, err := up[0].Accept(); err == nil {
				c.Close()
			}
		}()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("round %d: dial the listening server's socket: %v", round, err)
		}
		c.Close()
		up[0].Close()
	}
}

// An abstract socket name (Linux), "/" in it or not, has no file to judge
// or lock: it is listened on as it is.
func TestListenAbstractSocket(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("abstract socket names are Linux's")
	}
	for _, name := range []string{"@soundalike-test/" + t.Name(), "@soundalike-test-" + t.Name()} {
		ln, err := server.Listen(t.Context(), "unix:"+name)
		if err != nil {
			t.Fatalf("Listen(unix:%s): %v", name, err)
		}
		ln.Close()
	}
}
