package main

import (
	"context"
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

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/internal/syncbuf"
	"github.com/audotics/soundalike/internal/synth"
)

// startServe runs serve on db with args until ctx is done, waits until
// /readyz answers want (and, for 200, until serve has logged the last
// line of its start, "serving", which may come after the first answers),
// and returns the base URL and run's result.
func startServe(t *testing.T, ctx context.Context, db string, want int, stderr *syncbuf.Buffer, args ...string) (string, <-chan error) {
	t.Helper()
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--db", db, "--addr", addr}, args...), strings.NewReader(""), io.Discard, stderr)
	}()
	base := "http://" + addr
	waitFor(t, 10*time.Second, func() bool { code, _ := get(t, base+"/readyz"); return code == want },
		func() string { return fmt.Sprintf("GET /readyz never answered %d; stderr: %s", want, stderr) })
	if want == 200 {
		waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "msg=serving ") },
			func() string { return fmt.Sprintf("serve never logged that it serves; stderr: %s", stderr) })
	}
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
	var stderr syncbuf.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	base, done := startServe(t, ctx, db, 200, &stderr, "--reload", "0")

	addAndReindex(t, db) // t9999
	if code, _ := get(t, base+"/tracks/t9999"); code != 404 {
		t.Fatalf("GET /tracks/t9999 = %d before SIGHUP with --reload 0, want 404", code)
	}

	// One line, the engine's, with the fields a --reload tick's has.
	logs := sighup(t, &stderr, "msg=reloaded")
	if strings.Count(logs, "\n") != 1 || !strings.Contains(logs, "level=INFO msg=reloaded on=SIGHUP ") || !hasReloadedFields(logs) {
		t.Errorf("serve's log of a reload on SIGHUP:\n%s\nwant one reloaded line on=SIGHUP with %v", logs, reloadedFields)
	}
	if code, body := get(t, base+"/tracks/t9999"); code != 200 {
		t.Errorf("GET /tracks/t9999 after the reload on SIGHUP = %d %s, want 200", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve = %v after its context was done, want nil", err)
	}
}

// reloadedFields are the attributes of the engine's one "reloaded" line,
// whoever asked for the reload (SIGHUP, a --reload tick).
var reloadedFields = []string{"on=", "generation=", "model=", "tracks=", "indexed=", "read_under_lock=", "decode=", "derive="}

func hasReloadedFields(line string) bool {
	for _, f := range reloadedFields {
		if !strings.Contains(line, " "+f) {
			return false
		}
	}
	return true
}

// sighup sends serve (this process) SIGHUP and returns the log written
// since, once it holds a line matching answered.
func sighup(t *testing.T, stderr *syncbuf.Buffer, answered string) string {
	t.Helper()
	from := len(stderr.String())
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String()[from:], answered) },
		func() string {
			return fmt.Sprintf("no %q in the log 10s after SIGHUP: %s", answered, stderr.String()[from:])
		})
	time.Sleep(200 * time.Millisecond) // room for a second line, if serve wrote one
	return stderr.String()[from:]
}

// Given serve with --reload 0, when a SIGHUP's reload fails (a corrupt
// record, a database another process holds), expect one log record for
// it, saying that the previous snapshot still serves (and, when locked,
// to send SIGHUP again), at warning level or above; a second SIGHUP over
// the same damage is answered the same way, not at debug level.
func TestServeFailedSIGHUPReloadLoggedOnce(t *testing.T) {
	db := testDB(t, 100)
	var stderr syncbuf.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, done := startServe(t, ctx, db, 200, &stderr, "--reload", "0")

	addAndReindex(t, db) // a new generation to load
	dbdamage.CorruptTrack(t, db, "t0010")
	for i := range 2 {
		logs := sighup(t, &stderr, "on=SIGHUP")
		if n := strings.Count(logs, "\n"); n != 1 || !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "still serving the previous one") || !strings.Contains(logs, "t0010") {
			t.Errorf("SIGHUP %d over a corrupt record logged %d records:\n%s\nwant one error saying the previous snapshot still serves, naming the track", i+1, n, logs)
		}
	}

	release := holdDB(t, db, "soundalike import")
	logs := sighup(t, &stderr, "on=SIGHUP")
	if n := strings.Count(logs, "\n"); n != 1 || !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "still serving the previous snapshot") || !strings.Contains(logs, "send SIGHUP again") {
		t.Errorf("SIGHUP with the database held logged %d records:\n%s\nwant one warning saying the previous snapshot still serves and to send SIGHUP again", n, logs)
	}
	release()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve = %v after its context was done, want nil", err)
	}
}

// tracksDB writes a database of n synthetic tracks, no model: its load,
// and the derived indexes' builds after it, take a while (tenths of a
// second at 100,000).
func tracksDB(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tracks.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		var tr soundalike.Track
		for i := range n {
			synth.Track(1, i, &tr)
			if _, _, err := tx.PutTrack(&tr); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return path
}

// Given serve loading a database that takes a while, when it is stopped
// during that first load, expect it to stop the load, not wait for it:
// return nil promptly, and say that it stopped before serving and what it
// was doing.
func TestServeStoppedDuringTheFirstLoad(t *testing.T) {
	db := tracksDB(t, 100_000)
	var stderr syncbuf.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, done := startServe(t, ctx, db, 503, &stderr, "--prefault-heap=false")
	cancel()
	stopped := time.Now()
	waitStopped(t, done, "during its first load")
	took := time.Since(stopped)
	logs := stderr.String()
	if !strings.Contains(logs, "stopped before serving") || !strings.Contains(logs, "stopped while") || strings.Contains(logs, "msg=serving") {
		t.Errorf("serve stopped during its first load (returned after %v) logged:\n%s\nwant \"stopped before serving\" saying what the load was doing, and no \"serving\"", took, logs)
	}
}

// Given serve shutting down while a client sends its body slowly (so the
// shutdown waits for the read timeout), when a second SIGINT comes,
// expect serve to return at once with an error saying so, and the log to
// have said that it was stopping.
func TestServeSecondSignalStopsAtOnce(t *testing.T) {
	db := testDB(t, 50)
	var stderr syncbuf.Buffer
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
	var stderr syncbuf.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, done := startServe(t, ctx, db, 503, &stderr)
	cancel()
	waitStopped(t, done, "while waiting for the lock")
	if logs := stderr.String(); strings.Contains(logs, "msg=serving") || !strings.Contains(logs, "stopped before serving") {
		t.Errorf("serve's log = %s, want \"stopped before serving\" and no \"serving\"", logs)
	}
}

// Given --log off, expect no access log but warnings and errors still on
// standard error: a failed reload or a panic must not go unlogged.
func TestServeLogOffKeepsWarnings(t *testing.T) {
	var stderr syncbuf.Buffer
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
	var stderr syncbuf.Buffer
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

// serve --addr unix:PATH answers on the socket, says so in its serving
// line, and removes the socket when it stops.
func TestServeOnUnixSocket(t *testing.T) {
	db := testDB(t, 50)
	sock := filepath.Join(t.TempDir(), "sa.sock")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var errw syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--addr", "unix:" + sock, "--log", "json"}, strings.NewReader(""), io.Discard, &errw)
	}()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://soundalike/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve on unix:%s not ready after 10s (%v); stderr: %s", sock, err, errw.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The serving line may come after the first answers (startServe).
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(errw.String(), `"msg":"serving"`) },
		func() string { return "serve never logged that it serves; stderr: " + errw.String() })
	if !strings.Contains(errw.String(), `"addr":"unix:`+sock+`"`) {
		t.Errorf("stderr: %s\nwant the serving line's addr unix:%s", errw.String(), sock)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v; stderr: %s", err, errw.String())
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket after serve stopped: %v, want it removed", err)
	}
}

// waitStopped waits for serve, stopped when (a phase: "during its first
// load"), to return nil within 5 s: a stop that waits for what it
// interrupts fails.
func waitStopped(t *testing.T, done <-chan error, when string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve stopped %s = %v, want nil", when, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("serve stopped %s had not returned 5s later", when)
	}
}
