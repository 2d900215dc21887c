package soundalike_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/storage"
)

// Given a database held by another writer, when a call that opens it waits
// for the lock (LockTimeout 10s) and its ctx is cancelled, expect each to
// stop at once with ctx's error naming the holder, not ErrLocked, and a
// stopped Reload not to count as a failed load.
func TestCtxStopsTheLockWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	eng, _ := fixture(t, path, 30)
	eng.Close()

	// cancel is the ctx of the call under test: the engine's OnLockWait
	// cancels it once the call waits.
	var cancel context.CancelFunc
	opts := func(o soundalike.Options) *soundalike.Options {
		o.LockTimeout, o.NoSync = 10*time.Second, true
		o.OnLockWait = func(string) { cancel() }
		return &o
	}
	attached, err := soundalike.Open(path, opts(soundalike.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer attached.Close()

	holder, err := storage.Open(path, &storage.Options{Command: "soundalike import"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() }) // closing twice is harmless
	want := fmt.Sprintf("soundalike import (pid %d, writing since ", os.Getpid())

	for _, c := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"OpenContext ReadOnly", func(ctx context.Context) error {
			_, err := soundalike.OpenContext(ctx, path, opts(soundalike.Options{ReadOnly: true}))
			return err
		}},
		{"OpenContext Detached", func(ctx context.Context) error {
			_, err := soundalike.OpenContext(ctx, path, opts(soundalike.Options{Detached: true}))
			return err
		}},
		{"Reload", func(ctx context.Context) error { _, err := attached.Reload(ctx); return err }},
		{"Models", func(ctx context.Context) error { _, err := attached.Models(ctx); return err }},
		{"Check", func(ctx context.Context) error { _, err := attached.Check(ctx); return err }},
		{"Backup", func(ctx context.Context) error {
			_, err := attached.Backup(ctx, filepath.Join(t.TempDir(), "copy.db"))
			return err
		}},
		{"Import", func(ctx context.Context) error {
			return attached.Import(ctx, func(*soundalike.ImportTx) error { return nil })
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ctx context.Context
			ctx, cancel = context.WithCancel(t.Context())
			defer cancel()
			start := time.Now()
			err := c.call(ctx)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("%s returned %v after it started waiting and its ctx was cancelled, want at once", c.name, d)
			}
			if !errors.Is(err, context.Canceled) || errors.Is(err, soundalike.ErrLocked) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s, cancelled while waiting = %v, want context.Canceled (not ErrLocked) naming %q", c.name, err, want)
			}
		})
	}
	// Stats does not wait for the held lock (nor start a load): a
	// metrics scrape answers at once. Ready waits for the first load, as a
	// query does, until its ctx ends.
	start := time.Now()
	if st := attached.Stats(); time.Since(start) > 3*time.Second || st.Tracks != 0 {
		t.Errorf("Stats() while another process writes took %v and describes %d tracks, want at once and none loaded", time.Since(start), st.Tracks)
	}
	ctx, stop := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer stop()
	start = time.Now()
	if err := attached.Ready(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("Ready(ctx of 200 ms) while another process writes = %v after %v, want context.DeadlineExceeded at once", err, time.Since(start))
	}
	holder.Close()
	if err := attached.Ready(t.Context()); err != nil {
		t.Errorf("Ready once the writer is gone = %v, want nil", err)
	}
	if st := attached.Stats(); st.ReloadFailures != 0 {
		t.Errorf("Stats().ReloadFailures = %d (%v) after stopped loads, want 0: a stop is no failure", st.ReloadFailures, st.ReloadError)
	}
}
