package storage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike/storage"
)

// Given a process holding the database, when another Open waits for it,
// expect it told once who holds the lock, and the timeout error to name
// the holder; the record goes with Close.
func TestOpenLockedNamesTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	holder, err := storage.Open(path, &storage.Options{Command: "soundalike import"})
	if err != nil {
		t.Fatal(err)
	}
	var waits []string
	_, err = storage.Open(path, &storage.Options{Timeout: 300 * time.Millisecond, ReadOnly: true,
		OnWait: func(h string) { waits = append(waits, h) }})
	want := fmt.Sprintf("soundalike import (pid %d, writing since ", os.Getpid())
	if !errors.Is(err, storage.ErrLocked) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a held file = %v, want ErrLocked naming %s and %q", err, path, want)
	}
	if len(waits) != 1 || !strings.Contains(waits[0], want) {
		t.Errorf("OnWait calls = %q, want one naming %q", waits, want)
	}
	if hs := storage.Holders(path); len(hs) != 1 || hs[0].Command != "soundalike import" || !hs[0].Writing || hs[0].PID != os.Getpid() {
		t.Errorf("Holders = %+v, want this process writing as soundalike import", hs)
	}
	holder.Close()
	if hs := storage.Holders(path); len(hs) != 0 {
		t.Errorf("Holders after Close = %+v, want none", hs)
	}
	if m, _ := filepath.Glob(path + ".lock-info.*"); len(m) != 0 {
		t.Errorf("lock-info files after Close = %v, want none", m)
	}
}

// Given a process holding the database, when an OpenContext waiting for
// it (for up to 10s) has its ctx cancelled, expect it to stop at once with
// ctx's error naming the file and the holder, not ErrLocked; the lock, once
// free, is taken.
func TestOpenContextStopsWaitingForTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	holder, err := storage.Open(path, &storage.Options{Command: "soundalike import"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	opts := &storage.Options{Timeout: 10 * time.Second, ReadOnly: true, OnWait: func(string) { cancel() }}
	start := time.Now()
	_, err = storage.OpenContext(ctx, path, opts)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("OpenContext returned %v after it started waiting and its ctx was cancelled, want at once", d)
	}
	want := fmt.Sprintf("soundalike import (pid %d, writing since ", os.Getpid())
	if !errors.Is(err, context.Canceled) || errors.Is(err, storage.ErrLocked) ||
		!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("OpenContext of a held file, cancelled = %v, want context.Canceled (not ErrLocked) naming %s and %q", err, path, want)
	}
	holder.Close()
	db, err := storage.OpenContext(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("OpenContext of the released file = %v", err)
	}
	db.Close()
}

// A record left by a process killed before Close is skipped and removed.
func TestHoldersSkipsTheDead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	stale := writeDeadRecord(t, path)
	if hs := storage.Holders(path); len(hs) != 0 {
		t.Errorf("Holders = %+v, want none: the recorded process is gone", hs)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale record still there (%v), want it removed", err)
	}
}

// Given a record left by a process killed before Close, when the database
// is opened (for reading, as check and info open it), expect the record
// removed: the lock-info files of dead processes do not pile up beside a
// database that no process ever waits for.
func TestOpenRemovesTheRecordsOfTheDead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	stale := writeDeadRecord(t, path)
	db, err = storage.Open(path, &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale record still there after an open (%v), want it removed", err)
	}
}

// writeDeadRecord writes a lock-info record for path of a process that
// has exited, as one killed before Close leaves it, and returns its name.
func writeDeadRecord(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	stale := fmt.Sprintf("%s.lock-info.%d.1", path, cmd.Process.Pid)
	if err := os.WriteFile(stale, []byte("soundalike reindex\twriting\t2026-01-01T00:00:00Z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return stale
}
