package server_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/audotics/soundalike/internal/syncbuf"
	"github.com/audotics/soundalike/server"
)

// Requests net/http ends before any handler (a malformed one, headers too
// large, a slowloris) are logged and counted; answered requests, idle
// connections and connections that never sent a byte are not.
func TestRequestsEndedBeforeAHandler(t *testing.T) {
	logs := &syncbuf.Buffer{}
	reg := prometheus.NewRegistry()
	h := server.New(newEngine(t, ready), &server.Options{
		Logger:            slog.New(slog.NewJSONHandler(logs, nil)),
		Registerer:        reg,
		ReadHeaderTimeout: 300 * time.Millisecond,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.Serve(t.Context(), ln)
	addr := ln.Addr().String()

	// exchange sends req on a new connection and returns the status line
	// of the answer ("" when the server closed without one) and the
	// connection's address, which the server logs as the client's.
	exchange := func(req string, wait bool) (status, client string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		client = c.LocalAddr().String()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		if !wait {
			return "", client
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSpace(line), client
	}

	// Not counted: answered (closing, and kept alive), and a connection
	// that sent nothing.
	var answered []string
	for _, req := range []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", // the handler chain's, logged
	} {
		got, client := exchange(req, true)
		if !strings.HasPrefix(got, "HTTP/1.1 ") {
			t.Fatalf("%q = %q, want an answer", req, got)
		}
		answered = append(answered, client)
	}
	_, client := exchange("", false)
	answered = append(answered, client)

	// Counted: malformed, headers over http.DefaultMaxHeaderBytes, and
	// headers never finished (the server closes after the read-header
	// timeout).
	var ended []string
	for _, c := range []struct{ what, req, want string }{
		{"a malformed request", "NOT HTTP\r\n\r\n", " 400 "},
		{"headers over 1 MiB", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", http.DefaultMaxHeaderBytes+8192) + "\r\n\r\n", " 431 "},
		{"unfinished headers", "GET /healthz HTTP/1.1\r\nHost: x\r\n", ""},
	} {
		got, client := exchange(c.req, true)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s = %q, want %q", c.what, got, c.want)
		}
		ended = append(ended, client)
	}

	logged := func(client string) bool {
		return strings.Contains(logs.String(), `"peer":"`+client+`"`)
	}
	deadline := time.Now().Add(10 * time.Second)
	for slices.ContainsFunc(ended, func(c string) bool { return !logged(c) }) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for i, c := range ended {
		if !logged(c) {
			t.Errorf("request %d of those net/http ends (%s) not logged:\n%s", i, c, logs)
		}
	}
	for _, c := range answered {
		if logged(c) {
			t.Errorf("a connection without such a request (%s) logged:\n%s", c, logs)
		}
	}
	if got := counterValue(t, reg, "soundalike_http_requests_unhandled_total", nil); got != 3 {
		t.Errorf("soundalike_http_requests_unhandled_total = %v, want 3 (400, 431, slowloris)", got)
	}
	if n := strings.Count(logs.String(), `"msg":"request ended before a handler"`); n != 3 {
		t.Errorf("%d log records of requests ended before a handler, want 3:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), `"read_header_timeout":300000000`) {
		t.Errorf("logs = %s, want the read-header timeout", logs)
	}
}

// valueConn is a net.Conn that cannot key a map: a struct holding a slice.
type valueConn struct {
	net.Conn
	tags []string
}

type valueListener struct{ net.Listener }

func (l valueListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return valueConn{Conn: c, tags: []string{"x"}}, nil
}

// Serve takes any listener: one whose conns cannot key a map is served,
// unwatched, rather than panicking the accept loop.
func TestServeListenerOfUnhashableConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(newEngine(t, ready), nil)
	go h.Serve(t.Context(), valueListener{ln})
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /healthz through a listener of value conns = %d, want 200", resp.StatusCode)
	}
}

// A program serving srv from an http.Server of its own, among handlers of
// its own, counts the requests net/http ends there once WatchConns wired
// it, and not those its other handlers answered; the hooks it had still
// run.
func TestWatchConnsOfAnEmbeddersServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv := server.New(newEngine(t, ready), &server.Options{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: reg,
	})
	type ownKey struct{}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", srv))
	mux.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(ownKey{}) != "own" {
			t.Error("the embedder's ConnContext value is lost")
		}
		io.WriteString(w, "own")
	})
	var closed atomic.Int32
	hs := &http.Server{
		Handler: mux,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, ownKey{}, "own")
		},
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed {
				closed.Add(1)
			}
		},
	}
	srv.WatchConns(hs)
	sendEach(t, serveLocal(t, hs), &closed,
		"GET /api/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", // srv's
		"GET /own HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",         // the embedder's
		"NOT HTTP\r\n\r\n", // net/http's 400: counted
	)
	if got := counterValue(t, reg, "soundalike_http_requests_unhandled_total", nil); got != 1 {
		t.Errorf("soundalike_http_requests_unhandled_total = %v, want 1 (the 400)", got)
	}
}

// serveLocal serves hs on a loopback port until the test ends and
// returns its address.
func serveLocal(t *testing.T, hs *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// sendEach sends each raw request on a connection of its own and reads to
// the server's close; then waits until closed, which the server's
// ConnState hook counts after the watches', has counted every connection.
func sendEach(t *testing.T, addr string, closed *atomic.Int32, reqs ...string) {
	t.Helper()
	for _, req := range reqs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, req)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.ReadAll(c) // to the server's close
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for closed.Load() < int32(len(reqs)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := closed.Load(); n != int32(len(reqs)) {
		t.Fatalf("the server's ConnState saw %d connections close, want %d", n, len(reqs))
	}
}

// Given two Servers behind one http.Server, each wired by WatchConns,
// when each answers a request on a connection it closes and net/http
// ends a malformed one, expect each Server to count the malformed request
// only: a request either Server saw is seen by both watches.
func TestWatchConnsOfTwoServers(t *testing.T) {
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := server.New(newEngine(t, ready), &server.Options{Logger: discard, Registerer: regA})
	b := server.New(newEngine(t, ready), &server.Options{Logger: discard, Registerer: regB})
	mux := http.NewServeMux()
	mux.Handle("/a/", http.StripPrefix("/a", a))
	mux.Handle("/b/", http.StripPrefix("/b", b))
	var closed atomic.Int32
	hs := &http.Server{Handler: mux, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed.Add(1)
		}
	}}
	a.WatchConns(hs)
	b.WatchConns(hs)
	sendEach(t, serveLocal(t, hs), &closed,
		"GET /a/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /b/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"NOT HTTP\r\n\r\n",
	)
	for name, reg := range map[string]*prometheus.Registry{"a": regA, "b": regB} {
		if got := counterValue(t, reg, "soundalike_http_requests_unhandled_total", nil); got != 1 {
			t.Errorf("server %s: soundalike_http_requests_unhandled_total = %v, want 1 (the 400)", name, got)
		}
	}
}
