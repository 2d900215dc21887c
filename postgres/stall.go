package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultStallTimeout is how long the source waits for a server that sends
// nothing when Options.StallTimeout is 0. It is long enough for the work a
// healthy server does before its first row (a sort or a hash join over
// millions of rows, the distinct actions of a large table), and ends the
// wait for one that is gone (a host that went down, a firewall that drops
// the connection's packets) or stuck (a query queued behind a migration's
// lock).
const DefaultStallTimeout = 10 * time.Minute

// errStalled is the cause of a context a stallWatch cancelled.
var errStalled = errors.New("the server stopped answering")

// stallWatch cancels a context once a request to the server has waited
// its timeout without hearing anything. Every answer, each row of a FETCH
// included, restarts the wait, so the timeout bounds silence, not a query
// or an import: a long import that keeps receiving rows is never cut off.
// Only the time a request is outstanding counts, so the time the caller
// spends away from the server (writing a batch to the soundalike
// database) is no silence of the server's.
type stallWatch struct {
	d      time.Duration // ≤ 0: never fires
	start  time.Time
	last   atomic.Int64 // when a request began or was last answered: ns since start
	busy   atomic.Bool  // a request is outstanding
	cancel context.CancelCauseFunc

	mu      sync.Mutex // held by the timer's function and by stop: a stopped timer stays stopped
	timer   *time.Timer
	stopped bool
}

// watch returns a context derived from ctx that w cancels, with cause
// errStalled, when a request waits d without an answer.
func watch(ctx context.Context, d time.Duration) (context.Context, *stallWatch) {
	wctx, cancel := context.WithCancelCause(ctx)
	w := &stallWatch{d: d, start: time.Now(), cancel: cancel}
	if d > 0 {
		w.timer = time.AfterFunc(d, w.check)
	}
	return wctx, w
}

// begin marks a request sent; heard, an answer or a row received; end,
// the last of the request's answers received.
func (w *stallWatch) begin() { w.heard(); w.busy.Store(true) }
func (w *stallWatch) heard() { w.last.Store(int64(time.Since(w.start))) }
func (w *stallWatch) end()   { w.busy.Store(false) }

// check runs when the timer fires: it sets the timer again for when the
// wait would reach d, or, when it has, cancels the context. pgx then
// breaks the connection off, having asked the server to cancel the query
// (pgconn's asyncClose), so that a backend that is still there does not
// go on holding its locks.
func (w *stallWatch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if !w.busy.Load() {
		w.timer.Reset(w.d)
		return
	}
	if idle := time.Since(w.start) - time.Duration(w.last.Load()); idle < w.d {
		w.timer.Reset(w.d - idle)
		return
	}
	w.cancel(errStalled)
}

// stop stops the watch and releases its context.
func (w *stallWatch) stop() {
	w.mu.Lock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	w.cancel(context.Canceled)
}

// stalled reports whether ctx, from watch, ended because the server
// stopped answering.
func stalled(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errStalled)
}
