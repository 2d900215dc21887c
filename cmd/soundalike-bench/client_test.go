package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParseAnswer cuts answers from the bytes a connection received: no
// prefix of an answer is taken for a whole one, the whole one is taken
// with its exact size, and what follows it is left for the next.
func TestParseAnswer(t *testing.T) {
	answers := []struct {
		name, text string
		status     int
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 12\r\n\r\n{\"a\":[1,2]}\n", 200},
		{"empty body", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 404},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", 200},
		{"chunked, trailer", "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n", 500},
	}
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			for cut := range len(a.text) {
				status, size, err := parseAnswer([]byte(a.text[:cut]))
				if err != nil || size != 0 {
					t.Fatalf("first %d of %d bytes: status %d, size %d, err %v: want incomplete", cut, len(a.text), status, size, err)
				}
			}
			next := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			status, size, err := parseAnswer([]byte(a.text + next))
			if err != nil || status != a.status || size != len(a.text) {
				t.Fatalf("whole answer and the next: status %d, size %d, err %v: want %d, %d", status, size, err, a.status, len(a.text))
			}
			var buf answerBuf
			for _, part := range []string{a.text[:len(a.text)/2], a.text[len(a.text)/2:] + next} {
				buf.added(copy(buf.space(), part))
			}
			for _, want := range []int{a.status, 200} {
				got, ok, err := buf.next()
				if err != nil || !ok || got != want {
					t.Fatalf("answerBuf.next = %d, %t, %v: want %d", got, ok, err, want)
				}
			}
			if _, ok, err := buf.next(); ok || err != nil || buf.n != 0 {
				t.Fatalf("answerBuf.next after both = %t, %v, %d bytes left: want nothing", ok, err, buf.n)
			}
		})
	}
	for _, bad := range []string{
		"SSH-2.0-OpenSSH_9.2\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil EOF",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	} {
		if _, _, err := parseAnswer([]byte(bad)); err == nil {
			t.Errorf("parseAnswer(%q): no error", bad)
		}
	}
	if _, _, err := parseAnswer(bytes.Repeat([]byte("x"), maxAnswerHead+1)); err == nil {
		t.Errorf("a head of %d bytes without its end: no error", maxAnswerHead+1)
	}
}

// testAnswers serves /similar?track=ID as bench's client asks it: a
// Content-Length answer, a chunked one for tracks starting with "c",
// and a 404 for "missing". It counts the requests it answered.
func testAnswers(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		id := r.URL.Query().Get("track")
		switch {
		case id == "missing":
			http.Error(w, "no such track", http.StatusNotFound)
		case strings.HasPrefix(id, "c"):
			fmt.Fprintf(w, `{"track":%q,`, id)
			w.(http.Flusher).Flush() // chunked from here
			fmt.Fprint(w, `"neighbors":[]}`)
		default:
			fmt.Fprintf(w, `{"track":%q,"neighbors":[]}`, id)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// Each driver runs the closed and the open loop over real connections:
// the server's answers, plain, chunked and failed, are counted as the
// server sent them, the open loop never sends ahead of its schedule, and
// the timeline holds every request.
func TestClientDrivers(t *testing.T) {
	for _, io := range ioDrivers() {
		t.Run(io, func(t *testing.T) {
			srv, answered := testAnswers(t)
			base := clientConfig{URL: srv.URL + "/similar?k=20&track=", IDs: []string{"a b", "c1", "missing", "d/é"},
				Conns: 3, Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond, Seed: 7, Slowest: 2, IO: io}

			closed := base
			closed.Timeline = filepath.Join(t.TempDir(), "timeline.csv")
			rep, err := runClient(t.Context(), closed)
			if err != nil {
				t.Fatalf("closed loop: %v", err)
			}
			if rep.Requests == 0 || rep.Errors == 0 || rep.Requests+rep.Errors > int(answered.Load()) {
				t.Errorf("closed loop: %d requests, %d errors, the server answered %d: want both, a 404 for one track in four, within its answers", rep.Requests, rep.Errors, answered.Load())
			}
			if len(rep.Slowest) != 2 || rep.Slowest[0].LatencyUS < rep.Slowest[1].LatencyUS || rep.P99US > rep.MaxUS {
				t.Errorf("closed loop: slowest %+v, p99 %v, max %v: want two, slowest first", rep.Slowest, rep.P99US, rep.MaxUS)
			}
			tl, err := os.ReadFile(closed.Timeline)
			if err != nil {
				t.Fatal(err)
			}
			if rows := strings.Count(string(tl), "\n") - 1; rows != int(answered.Load()) {
				t.Errorf("timeline: %d rows, the server answered %d", rows, answered.Load())
			}

			open := base
			open.Rate = 200
			open.Timeline = filepath.Join(t.TempDir(), "open.csv")
			before := answered.Load()
			rep, err = runClient(t.Context(), open)
			if err != nil {
				t.Fatalf("open loop: %v", err)
			}
			if early := sentEarly(t, open.Timeline); early != 0 {
				t.Errorf("open loop at 200/s: %d requests sent before they were due", early)
			}
			// Requests due in the measured 300 ms at 200/s: 60, give or take
			// one a connection at the edges.
			if sent := int(answered.Load() - before); rep.Requests == 0 || rep.Requests > 60+open.Conns || sent > 70+open.Conns {
				t.Errorf("open loop at 200/s: %d requests measured, %d sent: want at most the schedule's 60 (70 with the warm-up) and a connection's one more", rep.Requests, sent)
			}
		})
	}
}

// sentEarly counts the requests of a --timeline file sent before they
// were due.
func sentEarly(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
	if len(rows) == 0 {
		t.Fatalf("timeline %s holds no request", path)
	}
	early := 0
	for _, row := range rows {
		// conn,local_addr,measured,due_unix_ns,sent_unix_ns,answered_unix_ns,ok
		f := strings.Split(row, ",")
		due, err1 := strconv.ParseInt(f[3], 10, 64)
		sent, err2 := strconv.ParseInt(f[4], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("timeline row %q: %v %v", row, err1, err2)
		}
		if sent < due {
			early++
		}
	}
	return early
}

// A server that closes every connection fails each driver's run with the
// first error, after the connections it broke are given up.
func TestClientDriversBrokenServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\n")) // and no more
			c.Close()
		}
	}()
	for _, io := range ioDrivers() {
		t.Run(io, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			cfg := clientConfig{URL: "http://" + ln.Addr().String() + "/similar?track=", IDs: []string{"a"},
				Conns: 2, Duration: 200 * time.Millisecond, IO: io}
			_, err := runClient(ctx, cfg)
			if err == nil || !strings.Contains(err.Error(), "no request succeeded") || !strings.Contains(err.Error(), "connection broken") {
				t.Fatalf("runClient = %v: want no request succeeded, the connection broken", err)
			}
			if ctx.Err() != nil {
				t.Fatal("the run went on after its connections broke")
			}
		})
	}
}

// A server that takes requests and never answers: a cancelled ctx ends
// each driver's run at once.
func TestClientDriversStopWhileWaiting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	for _, io := range ioDrivers() {
		for _, rate := range []float64{0, 100} {
			t.Run(fmt.Sprintf("%s/rate %v", io, rate), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				defer cancel()
				done := make(chan error, 1)
				go func() {
					_, err := runClient(ctx, clientConfig{URL: "http://" + ln.Addr().String() + "/similar?track=", IDs: []string{"a"},
						Conns: 2, Rate: rate, Duration: time.Minute, IO: io})
					done <- err
				}()
				select {
				case err := <-done:
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("runClient stopped by its ctx = %v, want the ctx's error", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("runClient still waiting for an answer 10 s after its ctx ended (0.3 s)")
				}
			})
		}
	}
}
