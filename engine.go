package soundalike

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/audotics/soundalike/storage"
)

// ErrReadOnly: a write was attempted on an engine opened ReadOnly or
// Detached.
var ErrReadOnly = errors.New("engine is read-only")

// Engine is soundalike's library entry point: a catalogue database plus the
// model and index loaded from it. It is safe for concurrent use. Queries
// read an immutable snapshot through an atomic pointer, so a reload or
// reindex never blocks or fails a query in flight.
type Engine struct {
	path string
	opts Options

	// db is open for the engine's lifetime unless it is Detached, in which
	// case it is nil and each load opens the file briefly.
	db *storage.DB

	writeMu sync.Mutex // serialises Import, SaveModel, Reindex
	// loadMu is held by every load and publish of a snapshot (snapshot.go):
	// one path, one at a time. Taken after writeMu, never before it.
	loadMu sync.Mutex
	snap   atomic.Pointer[snapshot]
	status atomic.Pointer[loadStatus] // how the loads since Open went
}

// Open opens the engine on the database at path, creating the file when it
// does not exist (unless ReadOnly or Detached). A Detached engine loads the
// catalogue, model and index at once and releases the file; an attached one
// loads them on its first query.
func Open(path string, opts *Options) (*Engine, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	e := &Engine{path: path, opts: o}
	db, err := e.openDB(o.ReadOnly || o.Detached)
	if err != nil {
		return nil, err
	}
	if !o.Detached {
		e.db = db // the snapshot loads on first query
		return e, nil
	}
	e.loadMu.Lock()
	err = e.load(db, nil)
	e.loadMu.Unlock()
	db.Close()
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) openDB(readOnly bool) (*storage.DB, error) {
	return storage.Open(e.path, &storage.Options{
		Timeout:     e.opts.LockTimeout,
		ReadOnly:    readOnly,
		NoSync:      e.opts.NoSync,
		WriteBuffer: e.opts.ImportBuffer,
	})
}

// Close releases the database. Queries on a Detached engine keep working
// from memory until the engine is garbage.
func (e *Engine) Close() error {
	if e.db == nil {
		return nil
	}
	return e.db.Close()
}

// Path returns the database file's path.
func (e *Engine) Path() string { return e.path }

func (e *Engine) writable() (*storage.DB, error) {
	if e.db == nil || e.opts.ReadOnly {
		return nil, fmt.Errorf("%s: %w", e.path, ErrReadOnly)
	}
	return e.db, nil
}

// view runs fn on a read transaction, opening the file briefly when the
// engine is Detached.
func (e *Engine) view(fn func(tx *storage.Tx) error) error {
	if e.db != nil {
		return e.db.View(fn)
	}
	db, err := e.openDB(true)
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
	err := e.view(func(tx *storage.Tx) error {
		sc := tx.Counts()
		c = Counts{Tracks: sc.Tracks, Users: sc.Users, Interactions: sc.Interactions}
		return nil
	})
	return c, err
}

// ForEachTrack calls fn for every catalogue track, in id order. The track
// is fn's to keep.
func (e *Engine) ForEachTrack(ctx context.Context, fn func(t *Track) error) error {
	return e.view(func(tx *storage.Tx) error {
		i := 0
		return tx.ForEachTrack(func(en storage.TrackEntry) error {
			if i++; i%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			t := &Track{ID: TrackID(en.ID)}
			if err := decodeTrack(en.Data, t); err != nil {
				return fmt.Errorf("track %s: %w", en.ID, err)
			}
			return fn(t)
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
// one, else from the database. id may be any reference ParseTrackRef
// accepts; a Spotify id kept in Track.SpotifyID is found once a snapshot
// is loaded. The track is the caller's: a copy, sharing
// nothing with the engine.
func (e *Engine) Track(ctx context.Context, id TrackID) (*Track, error) {
	if s := e.snap.Load(); s != nil {
		n, err := s.resolve(id)
		if err != nil {
			return nil, err
		}
		return cloneTrack(&s.tracks[n]), nil
	}
	ref, err := ParseTrackRef(string(id))
	if err != nil {
		return nil, err
	}
	var t *Track
	err = e.view(func(tx *storage.Tx) error {
		key := id // an id as stored, even one that looks like a URI
		_, data, ok := tx.Track(string(key))
		if !ok {
			key = ref
			_, data, ok = tx.Track(string(key))
		}
		if !ok {
			return fmt.Errorf("track %q: %w", id, ErrNotFound)
		}
		t = &Track{ID: key}
		return decodeTrack(data, t)
	})
	return t, err
}

// Interactions returns every stored interaction whose action is in actions
// (all of them when actions is empty), grouped by user.
func (e *Engine) Interactions(ctx context.Context, actions []string) ([]Interaction, error) {
	var out []Interaction
	err := e.view(func(tx *storage.Tx) error {
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
