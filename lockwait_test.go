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

// returnsWithin runs call on a goroutine and reports whether it returned
// within d, so that a call that waits for ever fails the test rather than
// hanging it.
func returnsWithin(d time.Duration, call func()) bool {
	done := make(chan struct{})
	go func() { defer close(done); call() }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// engineWrite is one of an engine's writes: name is its method, op how
// its errors begin, call runs it with ctx.
type engineWrite struct {
	name, op string
	call     func(ctx context.Context) error
}

// engineWrites are each of eng's writes: an Import, a Reindex, a
// SaveModel and a PromoteModel (of v1).
func engineWrites(t *testing.T, eng *soundalike.Engine) []engineWrite {
	model := randomModel(t, 8)
	return []engineWrite{
		{"Import", "import", func(ctx context.Context) error {
			return eng.Import(ctx, func(tx *soundalike.ImportTx) error {
				_, _, err := tx.PutTrack(track("second", 0.5))
				return err
			})
		}},
		{"Reindex", "reindex", func(ctx context.Context) error { _, err := eng.Reindex(ctx, nil); return err }},
		{"SaveModel", "save model", func(ctx context.Context) error {
			_, err := eng.SaveModel(ctx, model, soundalike.ModelRun{})
			return err
		}},
		{"PromoteModel", "promote model", func(ctx context.Context) error {
			_, _, err := eng.PromoteModel(ctx, "v1")
			return err
		}},
	}
}

// Given an Import of an engine in progress, when each of the engine's
// writes waits for it with a ctx of 300 ms, expect each to stop when its
// ctx ends, with ctx's error naming the file and the import it waited
// for, and the import in progress to commit all the same.
func TestWritesStopWaitingForTheWriteInProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	eng, _ := fixture(t, path, 30)
	started, finish := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
			close(started)
			<-finish
			_, _, err := tx.PutTrack(track("first", 0.5))
			return err
		})
	}()
	<-started
	for _, w := range engineWrites(t, eng) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		var err error
		start := time.Now()
		if !returnsWithin(5*time.Second, func() { err = w.call(ctx) }) {
			cancel()
			close(finish) // lets the Import end, and the waiting write after it
			t.Fatalf("%s while an Import runs, with a ctx of 300 ms, had not returned after 5 s", w.name)
		}
		cancel()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s returned after %v, want once its ctx of 300 ms ended", w.name, d)
		}
		want := w.op + " " + path + ": stopped waiting for this engine's import to finish"
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s while an Import runs = %v, want context.DeadlineExceeded, with %q", w.name, err, want)
		}
	}
	close(finish)
	if err := <-first; err != nil {
		t.Fatalf("the Import the others waited for = %v", err)
	}
	if _, err := eng.Track(t.Context(), "first"); err != nil {
		t.Errorf("Track(first) = %v: the Import the others waited for did not commit", err)
	}
}

// Given a write called from inside another write's callback (an Import's
// fn, a Reindex's Progress), which can never run before that write ends,
// expect it to return ctx's error when its ctx of 200 ms ends, rather
// than hang, and the outer write to finish. (Without the ctx, the outer
// write and its callback would wait for each other for ever: the test
// does not close an engine left that way, as Close would wait too.)
func TestWriteInsideAWriteCallbackStopsWithCtx(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested.db")
	fixture(t, path, 30)
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	inner := func(outer string) {
		for _, w := range engineWrites(t, eng) {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			err := w.call(ctx)
			cancel()
			want := "stopped waiting for this engine's " + outer + " to finish"
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s inside a %s callback = %v, want context.DeadlineExceeded, with %q", w.name, outer, err, want)
			}
		}
	}
	var importErr, reindexErr error
	if !returnsWithin(10*time.Second, func() {
		importErr = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
			inner("import")
			_, _, err := tx.PutTrack(track("outer", 0.5))
			return err
		})
	}) {
		t.Fatal("an Import whose callback calls the engine's writes, each with a ctx of 200 ms, had not returned after 10 s")
	}
	var once bool
	if !returnsWithin(10*time.Second, func() {
		_, reindexErr = eng.Reindex(t.Context(), &soundalike.ReindexOptions{Progress: func(string, int, int) {
			if !once {
				once = true
				inner("reindex")
			}
		}})
	}) {
		t.Fatal("a Reindex whose Progress calls the engine's writes, each with a ctx of 200 ms, had not returned after 10 s")
	}
	if importErr != nil || reindexErr != nil {
		t.Errorf("outer Import = %v, outer Reindex = %v; want both nil", importErr, reindexErr)
	}
	if err := eng.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}
