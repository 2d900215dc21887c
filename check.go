package soundalike

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/internal/paths"
	"github.com/audotics/soundalike/storage"
)

// CheckReport is what Engine.Check found in the database file.
type CheckReport struct {
	Tracks       int // track records read and decoded
	Interactions int // interactions read and decoded, counted as Counts counts them: a record of count 2 is two
	Models       int // model versions read and decoded
	Indexed      int // nodes of the current index, 0 when there is none or IndexUnreadable
	// IndexUnreadable is set when the current index could not be read
	// through (a problem says why): Indexed then counts nothing.
	IndexUnreadable bool
	// Problems says what is wrong, each naming where; empty when the file
	// is sound. At most maxProblems are kept; Omitted counts the rest.
	Problems []string
	Omitted  int
}

// OK reports whether the check found nothing wrong.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

// maxProblems bounds CheckReport.Problems: a badly damaged file has a
// problem on every page.
const maxProblems = 1000

func (r *CheckReport) add(err error) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, err.Error())
	} else {
		r.Omitted++
	}
}

// Check verifies the database file, in phases that each read it in a
// transaction of their own: bbolt's two meta pages (a damaged one is
// damage, though the file opens: bbolt reads the other, and the last
// write may be lost), the page structure (read from the file, so that a
// page out of bounds is found without faulting), then bbolt's page
// check; the schema (storage's
// buckets, counters and track headers); every track's and interaction's
// decoding; every model's chunk checksums and decoding; the current index's
// chunk checksums, metadata and decoding, and that its model is stored.
// Damage is a problem in the report, never an error; a phase that meets
// damage it cannot read past reports it and the next phase goes on. The
// error is for a check that could not run: the file locked, ctx done.
func (e *Engine) Check(ctx context.Context) (CheckReport, error) {
	var r CheckReport
	if err := checkCtx(ctx); err != nil {
		return r, fmt.Errorf("check: %w", err)
	}
	if err := e.checkOpen(); err != nil {
		return r, err
	}
	phases := []func(tx *storage.Tx) error{
		func(tx *storage.Tx) error {
			tx.CheckMetaPages(r.add)
			if tx.CheckStructure(r.add) {
				tx.CheckPages(r.add)
			}
			return nil
		},
		func(tx *storage.Tx) error { tx.CheckSchema(r.add); return nil },
		func(tx *storage.Tx) error { return r.checkTracks(ctx, tx) },
		func(tx *storage.Tx) error { return r.checkInteractions(ctx, tx) },
		r.checkModels,
		r.checkIndex,
	}
	// Until checkIndex has read the index, or found none: a phase that
	// fails before (a damaged page faulting the read) read nothing of it.
	r.IndexUnreadable = true
	for _, phase := range phases {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		err := e.view(ctx, phase)
		switch {
		case err == nil:
		case errors.Is(err, ErrLocked), errors.Is(err, ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return r, err
		default:
			r.add(err)
		}
	}
	return r, nil
}

func (r *CheckReport) checkTracks(ctx context.Context, tx *storage.Tx) error {
	return tx.ForEachTrack(func(en storage.TrackEntry) error {
		if r.Tracks++; r.Tracks%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		t := Track{ID: TrackID(en.ID)}
		if err := decodeTrack(en.Data, &t); err != nil {
			r.add(fmt.Errorf("track %q: %w", clip(string(en.ID)), err))
		}
		return nil
	})
}

func (r *CheckReport) checkInteractions(ctx context.Context, tx *storage.Tx) error {
	n := 0
	sum, err := tx.CheckInteractions(r.add, func() error {
		if n++; n%4096 == 0 {
			return ctx.Err()
		}
		return nil
	})
	r.Interactions = sum
	return err
}

func (r *CheckReport) checkModels(tx *storage.Tx) error {
	return tx.ForEachModelBlob(func(v uint64, blob []byte, err error) {
		r.Models++
		if err == nil {
			_, err = embedder.Unmarshal(blob)
		}
		if err != nil {
			r.add(fmt.Errorf("model %s: %w", formatVersion(v), err))
		}
	})
}

// checkIndex reads the current index. An index that does not read is an
// IndexDamagedError, as a load's is: its remedy is a full reindex, which
// rebuilds it from the tracks and the model, not a backup (the storage's
// remedy for the damaged file it would otherwise be).
func (r *CheckReport) checkIndex(tx *storage.Tx) error {
	err := tx.ReadIndex(func(ii storage.IndexInfo, rd io.Reader) error {
		meta, err := decodeIndexMeta(ii.Meta)
		if err != nil {
			return fmt.Errorf("index %d: %w", ii.ID, err)
		}
		if v, err := ParseModelVersion(meta.Model); err != nil {
			r.add(fmt.Errorf("index %d: metadata: %w", ii.ID, err))
		} else if _, _, ok, err := tx.Model(v); err != nil {
			r.add(fmt.Errorf("index %d: built with model %s, whose record cannot be read: %w", ii.ID, meta.Model, err))
		} else if !ok {
			r.add(fmt.Errorf("index %d: built with model %s, which is not stored", ii.ID, meta.Model))
		}
		g, err := index.Read(rd)
		if err != nil {
			return fmt.Errorf("index %d: %w", ii.ID, err)
		}
		r.Indexed, r.IndexUnreadable = g.Len(), false
		return nil
	})
	if errors.Is(err, ErrNoIndex) {
		r.IndexUnreadable = false
		return nil
	}
	if err != nil {
		return indexDamaged(err)
	}
	// The map layout stored with it (none is no damage: reindex adds it),
	// rebuilt with the index as a load's error says (loadMapLayout).
	if _, err := readLayoutTx(tx); err != nil && !errors.Is(err, ErrNoLayout) {
		r.add(indexDamaged(fmt.Errorf("index map layout: %w", err)))
	}
	return nil
}

// Backup writes a consistent copy of the database file to path, as of one
// read transaction: bbolt's hot copy, so that this engine's writes go on
// meanwhile (another process's writer holds the file's lock, and the
// backup of an engine that is not ReadOnly waits for it up to
// Options.LockTimeout, or until ctx is done). It returns the copy's size.
//
// The copy lands as a shell's > or cp would leave it, but never
// half-written: through a symlink, on the file it points to, the link
// kept; over a file, with that file's permission; as a new file, with the
// database file's, under the umask (it holds every user's listening
// history). It is written to a temporary file beside that file and
// renamed over it. path must not be the database itself, nor a directory
// or a device. A ctx that ends stops the copy, leaving path as it was and
// no temporary file.
func (e *Engine) Backup(ctx context.Context, path string) (int64, error) {
	return e.BackupVerified(ctx, path, nil)
}

// BackupVerified is Backup that calls verify (when not nil) with the
// temporary file's name once the copy is written and synced, before it is
// renamed over path: an error from verify leaves path as it was, and
// BackupVerified returns it as it is. A backup that checks the copy
// (opening it as a database, say) before it replaces the last good one
// needs no temporary file of its own. The engine releases the database
// file before it calls verify, so that a writer waiting for it may go on,
// unless it is ReadOnly (it holds the file until Close).
func (e *Engine) BackupVerified(ctx context.Context, path string, verify func(copy string) error) (int64, error) {
	if err := checkCtx(ctx); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := e.checkOpen(); err != nil {
		return 0, err
	}
	if paths.Same(path, e.path) {
		return 0, fmt.Errorf("backup to %s: that is the database itself; name another file", path)
	}
	if e.db != nil {
		n, err := e.db.Backup(ctx, path, verify)
		return n, e.closedErr(err)
	}
	db, err := e.openDB(ctx, true)
	if err != nil {
		return 0, err
	}
	var once sync.Once
	release := func() { once.Do(func() { db.Close() }) }
	defer release()
	if verify != nil {
		check := verify
		verify = func(copy string) error { release(); return check(copy) }
	}
	return db.Backup(ctx, path, verify)
}

// CheckQueryTrack reports a track to search by (cold start: Query.Track,
// Example.Features) that an import would refuse (CheckTrack): features or
// metadata out of their ranges, a release date that is no date. Its id may
// be empty, as the track is searched by, not stored: an empty id is
// checked as "query", one every store accepts. The error wraps
// ErrInvalidQuery and CheckTrack's *FieldError, whose Named lets a caller
// that took the track from fields of its own name the field as it does
// (the server: features.duration_ms). A nil track is refused, not a
// panic. SimilarTo, Recommend and Embed check their query tracks with it.
func CheckQueryTrack(t *Track) error {
	if t == nil {
		return fmt.Errorf("%w: track is nil", ErrInvalidQuery)
	}
	q := *t
	if q.ID == "" {
		q.ID = "query"
	}
	if err := CheckTrack(&q); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	return nil
}

// CheckSeeds reports the first of a query's seed references
// (Query.Tracks) that no stored track id could be: a *TrackRefError
// naming it Query.Tracks[i], which wraps ErrInvalidQuery. A seed that
// names no track is the snapshot's to report (ErrNotFound). CheckSimilarTo
// checks a query's seeds with it; a caller that checks a query's other
// parts where it reads them (the server) checks its seeds with it alone.
func CheckSeeds(seeds []TrackID) error {
	return checkRefs("Query.Tracks", seeds)
}
