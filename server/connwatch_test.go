package server_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
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
