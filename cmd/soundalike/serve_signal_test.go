package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
)

// syncBuffer is a serve's standard error, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs serve on db with args until ctx is done, waits until
// /readyz answers want, and returns the base URL and run's result.
func startServe(t *testing.T, ctx context.Context, db string, want int, stderr *syncBuffer, args ...string) (string, <-chan error) {
	t.Helper()
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--db", db, "--addr", addr}, args...), strings.NewReader(""), io.Discard, stderr)
	}()
	base := "http://" + addr
	waitFor(t, 10*time.Second, func() bool { code, _ := get(t, base+"/readyz"); return code == want },
		func() string { return fmt.Sprintf("GET /readyz never answered %d; stderr: %s", want, stderr) })
	return base, done
}

// waitFor polls ok until it holds, failing with msg() after d.
func waitFor(t *testing.T, d time.Duration, ok func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal(msg())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Given serve with --reload 0 and a database another process has
// changed, when serve gets SIGHUP, expect it to reload and log that, not
// to die of the signal's default action.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	db := testDB(t, 100)
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	base, done := startServe(t, ctx, db, 200, &stderr, "--reload", "0")

	addAndReindex(t, db) // t9999
	if code, _ := get(t, base+"/tracks/t9999"); code != 404 {
		t.Fatalf("GET /tracks/t9999 = %d before SIGHUP with --reload 0, want 404", code)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { code, _ := get(t, base+"/tracks/t9999"); return code == 200 },
		func() string { return "GET /tracks/t9999 not 200 10s after SIGHUP; stderr: " + stderr.String() })
	if !strings.Contains(stderr.String(), "msg=reloaded on=SIGHUP") {
		t.Errorf("serve's log lacks the reload on SIGHUP:\n%s", stderr.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve = %v after its context was done, want nil", err)
	}
}

// Given serve shutting down while a client sends its body slowly (so the
// shutdown waits for the read timeout), when a second SIGINT comes,
// expect serve to return at once with an error saying so, and the log to
// have said that it was stopping.
func TestServeSecondSignalStopsAtOnce(t *testing.T) {
	db := testDB(t, 50)
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	base, done := startServe(t, ctx, db, 200, &stderr)

	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /similar HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"tracks\":")
	time.Sleep(100 * time.Millisecond) // the request is in flight

	cancel() // the first signal
	waitFor(t, 5*time.Second, func() bool { return strings.Contains(stderr.String(), "msg=\"stopping: ") },
		func() string { return "serve did not log that it was stopping; stderr: " + stderr.String() })
	select {
	case err := <-done:
		t.Fatalf("serve = %v before the request in flight ended, want it to wait for it", err)
	default:
	}
	start := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "second interrupt") {
			t.Errorf("serve after a second SIGINT = %v, want an error naming it", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("serve took %v to stop after the second SIGINT, want at once", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve still waiting 5s after a second SIGINT")
	}
}

// Given serve waiting for a database a batch job holds, when it is
// stopped, expect it to return nil (exit 0: it did what it was asked) and
// never to say it is serving.
func TestServeStoppedWhileWaitingForTheLock(t *testing.T) {
	db := testDB(t, 50)
	holdDB(t, db, "soundalike reindex")
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, done := startServe(t, ctx, db, 503, &stderr)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve stopped while waiting for the lock = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve still waiting for the lock 5s after it was stopped")
	}
	if logs := stderr.String(); strings.Contains(logs, "msg=serving") || !strings.Contains(logs, "stopped before serving") {
		t.Errorf("serve's log = %s, want \"stopped before serving\" and no \"serving\"", logs)
	}
}

// Given --log off, expect no access log but warnings and errors still on
// standard error: a failed reload or a panic must not go unlogged.
func TestServeLogOffKeepsWarnings(t *testing.T) {
	var stderr syncBuffer
	r, err := parseServeArgs([]string{"--log", "off"}, stdio{in: strings.NewReader(""), out: io.Discard, err: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	r.logger.Info("request", "status", 200)
	r.logger.Error("loading a new snapshot failed")
	if got := stderr.String(); strings.Contains(got, "request") || !strings.Contains(got, "loading a new snapshot failed") {
		t.Errorf("--log off wrote %q, want the error and no access log", got)
	}
}

// Given a database with tracks and no model, when serve starts, expect
// its not-ready warning to name the command to run, as /similar's 503
// does, not the library calls.
func TestServeNotReadyNamesTheCommand(t *testing.T) {
	db := t.TempDir() + "/nomodel.db"
	eng, err := soundalike.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		var tr soundalike.Track
		synth.Track(1, 0, &tr)
		_, _, err := tx.PutTrack(&tr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	eng.Close()
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	_, done := startServe(t, ctx, db, 503, &stderr, "--reload", "0")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "not ready") },
		func() string { return "serve never warned it was not ready; stderr: " + stderr.String() })
	cancel()
	<-done
	if got := stderr.String(); !strings.Contains(got, "soundalike train") || strings.Contains(got, "trainer.Train") {
		t.Errorf("serve's not-ready warning: %s; want it to name soundalike train, not the library", got)
	}
}
