package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/internal/syncbuf"
)

// jsonLines parses every line of log as a JSON object, failing the test
// on a line that is not one: a pipeline reading serve --log json would
// drop it.
func jsonLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(log) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("serve --log json wrote a line that is not a JSON object: %q", line)
			continue
		}
		recs = append(recs, rec)
	}
	return recs
}

// Given serve --log json and a start that fails (a damaged database, an
// address in use), expect the error main reports as a JSON record at level
// ERROR whose msg is the plain line's text, the same exit status, and no
// plain "soundalike: …" line; given --log text, the plain line as before.
func TestServeJSONLogFatalError(t *testing.T) {
	damaged := testDB(t, 50)
	dbdamage.Flip(t, damaged, int64(dbdamage.BucketPages(t, damaged)["tracks"][0]*dbdamage.PageSize), 64)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a damaged database", []string{"--db", damaged, "--addr", freeAddr(t)}, 1, "database file is damaged"},
		{"an address in use", []string{"--db", filepath.Join(t.TempDir(), "x.db"), "--addr", busy.Addr().String()}, 1, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // a start taken by mistake would serve on
			defer cancel()
			var logs, plain bytes.Buffer
			err := run(ctx, append([]string{"serve", "--log", "json"}, tc.args...), strings.NewReader(""), io.Discard, &logs)
			if code := exitCode(err, &plain); code != tc.code {
				t.Errorf("exit %d (%v), want %d", code, err, tc.code)
			}
			if plain.Len() > 0 {
				t.Errorf("serve --log json printed a plain line: %q, want its error in the JSON log only", plain.String())
			}
			recs := jsonLines(t, logs.String())
			if len(recs) == 0 {
				t.Fatal("serve --log json logged nothing, want its error")
			}
			last := recs[len(recs)-1]
			if msg, _ := last["msg"].(string); last["level"] != "ERROR" || msg != err.Error() || !strings.Contains(msg, tc.want) {
				t.Errorf("last log record %v, want level ERROR and msg %q (mentioning %q)", last, err, tc.want)
			}

			logs.Reset()
			plain.Reset()
			err = run(ctx, append([]string{"serve", "--log", "text"}, tc.args...), strings.NewReader(""), io.Discard, &logs)
			exitCode(err, &plain)
			if want := "soundalike: " + err.Error() + "\n"; plain.String() != want {
				t.Errorf("serve --log text printed %q, want %q", plain.String(), want)
			}
		})
	}
}

// Given serve --log json stopping gracefully with a request in flight,
// when a second SIGINT arrives, expect the line saying it stopped at once
// as a JSON record at level ERROR, like every other line of its log.
func TestServeJSONLogSecondSignal(t *testing.T) {
	db := testDB(t, 50)
	var logs syncbuf.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--addr", addr, "--log", "json"}, strings.NewReader(""), io.Discard, &logs)
	}()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(logs.String(), `"msg":"serving"`) },
		func() string { return "serve never logged that it serves; log: " + logs.String() })
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /similar HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"tracks\":")
	time.Sleep(100 * time.Millisecond) // the request is in flight

	cancel() // the first signal
	waitFor(t, 5*time.Second, func() bool { return strings.Contains(logs.String(), `"msg":"stopping: `) },
		func() string { return "serve did not log that it was stopping; log: " + logs.String() })
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("serve still waiting 5s after a second SIGINT")
	}
	var plain bytes.Buffer
	exitCode(err, &plain)
	if plain.Len() > 0 {
		t.Errorf("serve --log json printed a plain line: %q", plain.String())
	}
	recs := jsonLines(t, logs.String())
	if last := recs[len(recs)-1]; last["level"] != "ERROR" || !strings.Contains(fmt.Sprint(last["msg"]), "stopped by a second interrupt") {
		t.Errorf("last log record %v, want level ERROR saying a second interrupt stopped serve", last)
	}
}

// Given serve --addr unix:PATH, expect the socket 0660 (the owner and its
// group may connect, whatever the umask) or what --socket-mode says, set
// before it answers there.
func TestServeSocketMode(t *testing.T) {
	db := testDB(t, 50)
	for _, tc := range []struct {
		args []string
		want os.FileMode
	}{
		{nil, 0o660},
		{[]string{"--socket-mode", "0600"}, 0o600},
		{[]string{"--socket-mode", "666"}, 0o666},
	} {
		sock := filepath.Join(t.TempDir(), "sa.sock")
		ctx, cancel := context.WithCancel(t.Context())
		var logs syncbuf.Buffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append([]string{"serve", "--db", db, "--addr", "unix:" + sock, "--reload", "0"}, tc.args...), strings.NewReader(""), io.Discard, &logs)
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
		fi, err := os.Stat(sock)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("serve %v: the socket's mode is %04o, want %04o", tc.args, got, tc.want)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve %v: %v; log: %s", tc.args, err, logs.String())
		}
	}
}

// --max-in-flight and --max-queued reach the server's options; left out,
// they leave the server's defaults (0).
func TestServeSearchLimitFlags(t *testing.T) {
	std := stdio{in: strings.NewReader(""), out: io.Discard, err: io.Discard}
	r, err := parseServeArgs([]string{"--max-in-flight", "3", "--max-queued", "50", "--request-timeout", "5s"}, std)
	if err != nil {
		t.Fatal(err)
	}
	if o := r.serverOptions(); o.MaxInFlight != 3 || o.MaxQueued != 50 || o.RequestTimeout != 5*time.Second {
		t.Errorf("options of --max-in-flight 3 --max-queued 50 --request-timeout 5s: %d, %d, %v", o.MaxInFlight, o.MaxQueued, o.RequestTimeout)
	}
	if r, err = parseServeArgs(nil, std); err != nil {
		t.Fatal(err)
	}
	if o := r.serverOptions(); o.MaxInFlight != 0 || o.MaxQueued != 0 {
		t.Errorf("options without the flags: MaxInFlight %d, MaxQueued %d, want 0 (the server's defaults)", o.MaxInFlight, o.MaxQueued)
	}
}
