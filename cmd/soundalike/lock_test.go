package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike/storage"
)

// holdDB holds path's lock as a batch job would, recorded as command,
// until the returned func is called.
func holdDB(t *testing.T, path, command string) func() {
	t.Helper()
	db, err := storage.Open(path, &storage.Options{Command: command})
	if err != nil {
		t.Fatal(err)
	}
	var closed bool
	release := func() {
		if !closed {
			closed = true
			db.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// Given a database held by another job, when a command's --lock-timeout
// runs out, expect a line saying what it waited for and an error naming
// the holder and the flag, for each command that reads the database.
func TestLockTimeoutNamesTheHolder(t *testing.T) {
	db := testDB(t, 20)
	holdDB(t, db, "soundalike reindex")
	holder := fmt.Sprintf("soundalike reindex (pid %d, writing since", os.Getpid())
	for _, args := range [][]string{{"info"}, {"recommend", "--positive", "t0000"}, {"publish", "--weaviate", "http://127.0.0.1:1"}} {
		var stderr strings.Builder
		start := time.Now()
		err := run(t.Context(), append(args, "--db", db, "--lock-timeout", "400ms"), strings.NewReader(""), io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error(), holder) || !strings.Contains(err.Error(), "--lock-timeout") {
			t.Fatalf("%s on a held database = %v, want an error naming %q and --lock-timeout", args[0], err, holder)
		}
		if !strings.Contains(stderr.String(), "waiting up to 400ms") || !strings.Contains(stderr.String(), holder) {
			t.Errorf("%s: stderr = %q, want a line saying it waits up to 400ms for %s", args[0], stderr.String(), holder)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s gave up after %v, want about --lock-timeout", args[0], d)
		}
	}
}

// Given a database held for a moment, when a batch command starts,
// expect it to wait its turn and succeed.
func TestCommandsWaitTheirTurn(t *testing.T) {
	db := testDB(t, 20)
	for _, args := range [][]string{{"info"}, {"similar", "--track", "t0000"}, {"reindex"}} {
		t.Run(args[0], func(t *testing.T) {
			release := holdDB(t, db, "soundalike import")
			time.AfterFunc(700*time.Millisecond, release)
			var stderr strings.Builder
			err := run(t.Context(), append(args, "--db", db), strings.NewReader(""), io.Discard, &stderr)
			if err != nil {
				t.Fatalf("%s beside a 0.7s job = %v, want success after waiting", args[0], err)
			}
			if !strings.Contains(stderr.String(), "soundalike import (pid") {
				t.Errorf("stderr = %q, want a line naming the job it waited for", stderr.String())
			}
		})
	}
}

// Given --lock-timeout 0 or a negative duration, when a command runs,
// expect a usage error naming the flag and what it accepts: the database
// cannot be opened without waiting, and a negative wait means nothing.
func TestLockTimeoutMustBePositive(t *testing.T) {
	db := testDB(t, 20)
	for _, v := range []string{"0", "0s", "-1s", "-5m"} {
		_, _, err := runCmd(t.Context(), "info", "--db", db, "--lock-timeout", v)
		if err == nil || !strings.Contains(err.Error(), "-lock-timeout") || !strings.Contains(err.Error(), "want a positive duration such as 60s") || exitCode(err, io.Discard) != 2 {
			t.Errorf("info --lock-timeout %s = %v, want a usage error naming --lock-timeout and a positive duration", v, err)
		}
	}
	if _, _, err := runCmd(t.Context(), "info", "--db", db, "--lock-timeout", "2s"); err != nil {
		t.Errorf("info --lock-timeout 2s = %v, want success", err)
	}
}
