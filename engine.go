package soundalike

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/audotics/soundalike/storage"
)

// ErrReadOnly: a write was attempted on an engine opened ReadOnly or
// Detached.
var ErrReadOnly = errors.New("engine is read-only")

// Engine is soundalike's library entry point: a catalogue database plus the
// model and index loaded from it, made by Open. It is safe for concurrent
// use. An Engine Open did not make (the zero Engine, a nil *Engine) is
// not usable: its calls fail with an error wrapping ErrClosed, and its
// Close returns nil. Queries
// read an immutable snapshot through an atomic pointer, so a reload or
// reindex never blocks or fails a query in flight.
type Engine struct {
	path string
	opts Options

	// db is open for the engine's lifetime when it is ReadOnly; otherwise
	// it is nil, each load opens the file briefly, and each write opens it
	// for the write (see Open).
	db *storage.DB

	// writes is the engine's write slot (lockWrite): Import,
	// SaveModelVersion, PromoteModel, Reindex and Close each hold it, one
	// at a time. Open makes it; it is nil in an Engine Open did not make,
	// which checkOpen refuses.
	writes *writeSlot
	// loadMu is held by every load and publish of a snapshot (snapshot.go):
	// one path, one at a time. Taken after writes, never before it.
	loadMu sync.Mutex
	// unfinished is the work a stopped load left running (snapshot.go's
	// snapshot.running), which the next load waits for, so that stopped
	// loads never pile up snapshots in memory. Guarded by loadMu.
	unfinished *sync.WaitGroup
	// first is the first load in flight of an attached engine, which the
	// queries before it share and wait for (snapshot.go's currentContext).
	first firstLoads
	// writing is the database a write of this engine holds open, which a
	// load reads from meanwhile (a second open would wait for the write's
	// lock); nil between writes. Guarded by loadMu.
	writing *storage.DB
	// stamp is which file the path named, and its size and mtime, when
	// it was last found at the served snapshot's generation (loaded, or
	// checked unchanged): Reload skips opening a file whose stamp is
	// still that (fileStamp.unchanged). Guarded by loadMu.
	stamp  fileStamp
	snap   atomic.Pointer[snapshot]
	status atomic.Pointer[loadStatus] // how the loads since Open went
	// closed is set by Close, holding writes and loadMu: no write or
	// load starts after it, and every method returns ErrClosed.
	closed atomic.Bool
}

// Open opens the engine on the database at path. What it holds depends on
// opts:
//
//   - By default (nil opts, neither ReadOnly nor Detached) the engine
//     holds the file only while it uses it: it loads the catalogue, model
//     and index on its first query (Reload and Watch pick up later
//     changes), and each write (Import, SaveModel, PromoteModel, Reindex)
//     opens the file for that write, creating it the first time (but
//     Reindex, which needs a model, refuses a missing file). Between
//     them the soundalike commands and other processes can use the file,
//     so this is the mode to embed in a process that serves. Open itself
//     creates nothing: it checks a file that exists, and a mistyped path
//     fails at the first query with ErrNoDatabase naming it.
//   - ReadOnly holds a shared lock until Close: other readers may share
//     the file, writers wait for Close. The file must exist.
//   - Detached loads everything at once and releases the file; writes
//     fail. The file must exist.
//
// Waiting for another process's lock is bounded by Options.LockTimeout;
// the error names the process holding it. OpenContext's ctx also ends it.
//
// Open is OpenContext with context.Background(): nothing stops its load.
func Open(path string, opts *Options) (*Engine, error) {
	return OpenContext(context.Background(), path, opts)
}

// OpenContext is Open with a ctx that stops the load of a Detached engine
// (seconds at 1M tracks), between its phases and every few thousand
// records within them: OpenContext then returns ctx's error, naming the
// file and what the load was doing, and no engine. ctx is checked before
// the file is opened, and stops a wait for another process's lock (as
// Options.LockTimeout does) with ctx's error naming the process holding
// it. The other modes load nothing at Open: their first load is their
// first query's, or Reload's, which takes its own ctx.
func OpenContext(ctx context.Context, path string, opts *Options) (*Engine, error) {
	if path == "" {
		return nil, errors.New("open: path is empty: name the database file")
	}
	if err := checkCtx(ctx); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := checkStop(ctx, "starting"); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	e := &Engine{path: path, opts: o, writes: newWriteSlot()}
	if !o.ReadOnly && !o.Detached {
		if err := e.checkFile(ctx); err != nil {
			return nil, err
		}
		return e, nil
	}
	db, err := e.openDB(ctx, true)
	if err != nil {
		return nil, err
	}
	if !o.Detached {
		e.db = db // the snapshot loads on first query
		return e, nil
	}
	e.loadMu.Lock()
	err = e.load(ctx, onOpen, db, nil, func() { db.Close() }) // released before decoding
	e.loadMu.Unlock()
	if err != nil {
		return nil, err
	}
	return e, nil
}

// openDB opens the engine's file, waiting for another process's lock up
// to Options.LockTimeout or until ctx, the ctx of the call that opens, is
// done.
func (e *Engine) openDB(ctx context.Context, readOnly bool) (*storage.DB, error) {
	return storage.OpenContext(ctx, e.path, &storage.Options{
		Timeout:     e.opts.LockTimeout,
		ReadOnly:    readOnly,
		NoSync:      e.opts.NoSync,
		WriteBuffer: e.opts.ImportBuffer,
		OnWait:      e.opts.OnLockWait,
	})
}

// checkFile refuses, at Open, a file at the engine's path that is no
// soundalike database (or is damaged). A regular file or path that holds
// no database yet (a reader's ErrNoDatabase: none, or an empty file; also
// one that an import in another process created and, committing nothing,
// removed as this open read it) is not checked: the first write creates
// the database in it.
func (e *Engine) checkFile(ctx context.Context) error {
	db, err := e.openDB(ctx, true)
	if errors.Is(err, storage.ErrNoDatabase) && !specialFile(e.path) {
		return nil
	}
	if err != nil {
		return err
	}
	return db.Close()
}

// specialFile reports whether path names something other than a regular
// file (a device, a FIFO), which no write could lay a database out in.
func specialFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.Mode().IsRegular()
}

// noDatabaseYet reports whether path holds no database yet: no file, or
// an empty one, in which the first write lays the database out.
func noDatabaseYet(path string) bool {
	st, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist) || err == nil && st.Mode().IsRegular() && st.Size() == 0
}

// needDatabase refuses, with ErrNoDatabase naming the path, a write that
// needs what a database holds (Reindex needs a model) when the path holds
// none (a missing or empty file), rather than lay a new database out at a
// mistyped path.
func (e *Engine) needDatabase(ctx context.Context) error {
	if err := e.checkOpen(); err != nil {
		return err
	}
	if noDatabaseYet(e.path) {
		db, err := e.openDB(ctx, true) // refuses it with storage's ErrNoDatabase
		if err == nil {
			db.Close()
		}
		return err
	}
	return nil
}

// Close releases the database and the snapshot the engine serves. It
// waits for a write in progress (Import, SaveModel, Reindex, …) to finish:
// cancel its context to end it sooner. Calling Close from inside a
// write's callback (Import's fn, ReindexOptions.Progress) therefore never
// returns: that write waits for its callback, and Close for the write.
// Queries already running finish on their snapshot; every call after
// Close returns an error wrapping ErrClosed. Closing a closed engine does
// nothing and returns nil, and so does Close of a nil *Engine or of one
// Open did not make, so that `defer eng.Close()` is harmless even after
// Open failed.
func (e *Engine) Close() error {
	if e == nil || e.writes == nil {
		return nil
	}
	e.writes.wait("close")
	defer e.writes.release()
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	if e.closed.Swap(true) {
		return nil
	}
	e.snap.Store(nil)
	if e.db == nil {
		return nil
	}
	return e.db.Close()
}

// errNotOpened is checkOpen's error for an Engine Open did not make: it
// wraps ErrClosed, as the engine's calls after Close do, since a caller
// treats both alike (open an engine, and use that one).
var errNotOpened = fmt.Errorf("%w: this Engine was not made by Open (a zero or nil Engine): use the one Open or OpenContext returns", ErrClosed)

// checkOpen returns an error wrapping ErrClosed once Close has begun, or
// when Open did not make e: a nil *Engine, or the zero Engine, whose
// calls would otherwise panic (some on a goroutine of a load, out of the
// caller's reach).
func (e *Engine) checkOpen() error {
	if e == nil || e.writes == nil {
		return errNotOpened
	}
	if e.closed.Load() {
		return fmt.Errorf("%s: %w", e.path, ErrClosed)
	}
	return nil
}

// writeSlot is an engine's one slot for its writes: a write waits for the
// write in progress, until its ctx ends (lockWrite), and Close waits for
// it however long it takes. A one-token channel rather than a mutex, so
// that a wait can end with a ctx.
type writeSlot struct {
	token chan struct{} // holds the token while a write or Close runs
	// holder names what holds the token (as lockWrite's op), for the
	// error of a write that stopped waiting for it; nil while nothing
	// holds it, and for the moment after a write takes the token and
	// before it stores its name.
	holder atomic.Pointer[string]
}

func newWriteSlot() *writeSlot { return &writeSlot{token: make(chan struct{}, 1)} }

// wait takes the token on behalf of op, however long that takes.
func (w *writeSlot) wait(op string) {
	w.token <- struct{}{}
	w.holder.Store(&op)
}

// waitContext takes the token on behalf of op, or returns ctx's error
// naming what holds it once ctx ends. A free token is taken even when ctx
// has ended, as storage.OpenContext takes a free file lock: ctx ends a
// wait, and what else it stops is the write's to say.
func (w *writeSlot) waitContext(ctx context.Context, op string) error {
	select {
	case w.token <- struct{}{}:
	default:
		select {
		case w.token <- struct{}{}:
		case <-ctx.Done():
			holder := "write in progress"
			if h := w.holder.Load(); h != nil {
				holder = *h
			}
			return fmt.Errorf("stopped waiting for this engine's %s to finish: %w", holder, ctx.Err())
		}
	}
	w.holder.Store(&op)
	return nil
}

// release gives the token back: the holder's name is cleared first, so
// that a waiter names only the write that holds it, or none.
func (w *writeSlot) release() {
	w.holder.Store(nil)
	<-w.token
}

// lockWrite waits for this engine's write in progress, if any, to finish
// and takes the write slot for op (the write's name in its errors:
// "import", "reindex"), returning the func that releases it. When ctx
// ends first it returns ctx's error, naming op, the file and the write
// waited for; a write called from inside another's callback (the two
// can never both run) waits so until its ctx ends. A nil ctx, or an
// engine Open did not make, is refused before any wait.
func (e *Engine) lockWrite(ctx context.Context, op string) (func(), error) {
	if err := e.checkOpen(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkCtx(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := e.writes.waitContext(ctx, op); err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, e.path, err)
	}
	return e.writes.release, nil
}

// closedErr returns err, or ErrClosed in its place when the engine was
// closed meanwhile (a read of a ReadOnly engine's file racing with Close
// fails with bbolt's "database not open").
func (e *Engine) closedErr(err error) error {
	if err != nil && e.closed.Load() {
		return fmt.Errorf("%s: %w", e.path, ErrClosed)
	}
	return err
}

// checkCtx refuses a nil ctx, which would panic where it is first used.
func checkCtx(ctx context.Context) error {
	if ctx == nil {
		return errors.New("ctx is nil: pass context.Background() when there is no other context")
	}
	return nil
}

// Path returns the database file's path ("" for a nil *Engine).
func (e *Engine) Path() string {
	if e == nil {
		return ""
	}
	return e.path
}

// writable opens the database for a write, and returns the func that
// closes it; ctx stops a wait for another process's lock. The caller
// holds the write slot (lockWrite), so the engine's own writes never wait
// for each other's lock.
func (e *Engine) writable(ctx context.Context) (*storage.DB, func(), error) {
	if err := e.checkOpen(); err != nil {
		return nil, nil, err
	}
	if e.opts.ReadOnly || e.opts.Detached {
		return nil, nil, fmt.Errorf("%s: %w", e.path, ErrReadOnly)
	}
	// Open under loadMu, so that a load of this engine either finished
	// with its own open before, or reads from this one.
	e.loadMu.Lock()
	db, err := e.openDB(ctx, false)
	if err == nil {
		e.writing = db
	}
	e.loadMu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	return db, func() {
		e.loadMu.Lock()
		e.writing = nil
		e.loadMu.Unlock()
		db.Close()
	}, nil
}

// view runs fn on a read transaction: of the file the engine holds
// (ReadOnly), of the one its own write holds open (a read inside an Import
// callback, say: a second open would wait for that write's lock), or of
// the file opened briefly; ctx stops a wait for another process's lock.
func (e *Engine) view(ctx context.Context, fn func(tx *storage.Tx) error) error {
	if err := e.checkOpen(); err != nil {
		return err
	}
	if e.db != nil {
		return e.closedErr(e.db.View(fn))
	}
	e.loadMu.Lock()
	if err := e.checkOpen(); err != nil {
		e.loadMu.Unlock()
		return err
	}
	if w := e.writing; w != nil {
		defer e.loadMu.Unlock() // the write closes w under loadMu
		return w.View(fn)
	}
	e.loadMu.Unlock()
	db, err := e.openDB(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(fn)
}

// Counts are the catalogue's sizes.
type Counts struct {
	Tracks       int // tracks in the catalogue
	Users        int // users with at least one interaction
	Interactions int // stored interactions
}

// Counts returns the catalogue's sizes, read from the database.
func (e *Engine) Counts() (Counts, error) {
	var c Counts
	err := e.view(context.Background(), func(tx *storage.Tx) error {
		sc := tx.Counts()
		c = Counts{Tracks: sc.Tracks, Users: sc.Users, Interactions: sc.Interactions}
		return nil
	})
	return c, err
}

// ForEachTrack calls fn for every catalogue track, in id order. The track
// is fn's to keep.
//
// fn runs inside one read transaction of the database file, which holds
// the file's shared lock until the last call returns: every writer, this
// engine's and other processes', waits for it. A write of this engine
// from inside fn (Import, SaveModel, Reindex) therefore fails after
// Options.LockTimeout with ErrLocked, naming this very process as the
// holder: collect what to write, and write it once ForEachTrack returns.
//
// A panic in fn is fn's own: it reaches the caller as a panic, not as an
// error (the read transaction is released first).
func (e *Engine) ForEachTrack(ctx context.Context, fn func(t *Track) error) error {
	if err := checkCtx(ctx); err != nil {
		return fmt.Errorf("for each track: %w", err)
	}
	if fn == nil {
		return errors.New("for each track: fn is nil: pass the func to call for each track")
	}
	return e.view(ctx, func(tx *storage.Tx) error {
		i := 0
		return tx.ForEachTrack(func(en storage.TrackEntry) error {
			if i++; i%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			t := &Track{ID: TrackID(en.ID)}
			if err := decodeTrack(en.Data, t); err != nil {
				return fmt.Errorf("track %s: %w", en.ID, err)
			}
			return storage.RunCaller(func() error { return fn(t) })
		})
	})
}

// Tracks returns the whole catalogue, in id order.
func (e *Engine) Tracks(ctx context.Context) ([]Track, error) {
	var out []Track
	err := e.ForEachTrack(ctx, func(t *Track) error { out = append(out, *t); return nil })
	return out, err
}

// Track returns one catalogue track, from the loaded snapshot when there is
// one, else from the database. id is a track reference (see the package
// doc): a stored id, whatever its form, or one ParseTrackRef accepts; a
// Spotify id kept in Track.SpotifyID is found once a snapshot is loaded.
// One that names no track wraps ErrNotFound, one that no stored id could
// be is a *TrackRefError. The track is the caller's: a copy, sharing
// nothing mutable with the engine.
func (e *Engine) Track(ctx context.Context, id TrackID) (*Track, error) {
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	if s := e.snap.Load(); s != nil {
		n, err := s.resolve(id)
		if err != nil {
			return nil, err
		}
		return s.cat.track(n), nil
	}
	// As snapshot.resolve looks a reference up: the id as stored first,
	// even one that looks like a URI, then the id it names.
	var t *Track
	err := e.view(ctx, func(tx *storage.Tx) error {
		key := id
		_, data, ok := tx.Track(string(key))
		if !ok {
			ref, p, err := refID(id)
			if err != nil {
				return err
			}
			key = ref
			if _, data, ok = tx.Track(string(key)); !ok {
				return notFound(id, p)
			}
		}
		t = &Track{ID: key}
		return decodeTrack(data, t)
	})
	return t, err
}

// Interactions returns every stored interaction whose action is in actions
// (all of them when actions is empty), grouped by user.
func (e *Engine) Interactions(ctx context.Context, actions []string) ([]Interaction, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, fmt.Errorf("interactions: %w", err)
	}
	var out []Interaction
	err := e.view(ctx, func(tx *storage.Tx) error {
		return tx.ForEachInteraction(func(user, track, action string, ts int64) error {
			if len(actions) > 0 && !slices.Contains(actions, action) {
				return nil
			}
			out = append(out, Interaction{User: user, Track: TrackID(track), Action: action, Time: unixNanoTime(ts)})
			return nil
		})
	})
	return out, err
}
