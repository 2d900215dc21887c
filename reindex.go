package soundalike

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/storage"
)

// ReindexOptions configure Reindex. The zero value means: the current
// model, incremental when possible, index.DefaultOptions().
type ReindexOptions struct {
	// Model is the model version to embed with ("" = the current one).
	Model string
	// Full rebuilds from scratch even when an incremental update would do.
	Full bool
	// Index are the HNSW parameters (M, EfConstruction, EfSearch, Workers).
	// Changing M or EfConstruction forces a full rebuild.
	Index index.Options
	// Progress, when set, is called with the stage ("embed", "insert",
	// "save") and how far it is.
	Progress func(stage string, done, total int)
}

// ReindexSummary is what a reindex did. Its JSON form is what `soundalike
// reindex --json` prints.
type ReindexSummary struct {
	Tracks   int    // tracks in the catalogue
	Embedded int    // tracks embedded by this run
	Inserted int    // vectors inserted or updated in the index
	Deleted  int    // vectors removed from the index
	Full     bool   // whether the index was rebuilt from scratch
	Model    string // the model version the index now matches
	Took     time.Duration
}

// Reindex embeds the catalogue with the model and stores a new index. By
// default it is incremental: only tracks added, changed or deleted since the
// last reindex are embedded and re-linked, unless the model or the index
// parameters changed. The new index replaces the old one in one atomic
// switch: a crash at any moment leaves the previous index intact. This
// engine's own queries move to the new index when it is stored.
func (e *Engine) Reindex(ctx context.Context, opts *ReindexOptions) (ReindexSummary, error) {
	start := time.Now()
	var o ReindexOptions
	if opts != nil {
		o = *opts
	}
	if err := o.Index.Validate(); err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	db, err := e.writable()
	if err != nil {
		return ReindexSummary{}, err
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()

	version, err := ParseModelVersion(o.Model)
	if err != nil {
		return ReindexSummary{}, err
	}

	// One read transaction: the model, the previous index, and the tracks to
	// embed, all as of the same catalogue seq.
	var (
		model    *embedder.Model
		info     ModelInfo
		prev     *index.HNSW
		prevMeta indexMeta
		seq      uint64
		nodes    []uint32
		raws     []float32
		deleted  []uint32
		sum      ReindexSummary
	)
	params := o.Index
	err = db.View(func(tx *storage.Tx) error {
		var err error
		if model, info, err = loadModelTx(tx, version); err != nil {
			return err
		}
		seq = tx.CatalogSeq()
		sum.Tracks = tx.Counts().Tracks
		since := uint64(0)
		if !o.Full {
			err := tx.ReadIndex(func(ii storage.IndexInfo, r io.Reader) error {
				if err := json.Unmarshal(ii.Meta, &prevMeta); err != nil {
					return nil // unreadable metadata: rebuild
				}
				if prevMeta.Model != info.Version || prevMeta.Dim != model.Dim() || !sameBuild(prevMeta.Params, params) {
					return nil
				}
				g, err := index.Read(r)
				if err != nil {
					e.opts.Logger.Warn("previous index unreadable; rebuilding", "err", err)
					return nil
				}
				prev, since = g, ii.CatalogSeq
				return nil
			})
			if err != nil && !errors.Is(err, storage.ErrNoIndex) {
				return err
			}
		}
		names := model.Inputs()
		var t Track
		var rerr error
		err = tx.ForEachTrack(func(en storage.TrackEntry) error {
			if prev != nil && en.Seq <= since && prev.Contains(en.Node) {
				return nil
			}
			t = Track{ID: TrackID(en.ID)}
			if err := decodeTrack(en.Data, &t); err != nil {
				return fmt.Errorf("track %s: %w", en.ID, err)
			}
			raws, rerr = RawInputs(&t, names, raws)
			nodes = append(nodes, en.Node)
			return rerr
		})
		if err != nil {
			return err
		}
		if prev != nil {
			return tx.ForEachDeleted(since, func(n uint32) error { deleted = append(deleted, n); return nil })
		}
		return nil
	})
	if err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	sum.Model, sum.Full = info.Version, prev == nil

	// Embed in batches so progress moves and ctx is honoured.
	dim, ni := model.Dim(), len(model.Inputs())
	vecs := make([]float32, len(nodes)*dim)
	const batch = 16384
	for lo := 0; lo < len(nodes); lo += batch {
		if err := ctx.Err(); err != nil {
			return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
		}
		hi := min(lo+batch, len(nodes))
		model.EmbedBatch(raws[lo*ni:hi*ni], vecs[lo*dim:hi*dim])
		progress("embed", hi, len(nodes))
	}
	raws = nil
	sum.Embedded = len(nodes)

	g := prev
	if g == nil {
		if params.Workers == 0 {
			params.Workers = runtime.GOMAXPROCS(0)
		}
		if g, err = index.New(dim, &params); err != nil {
			return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
		}
	}
	for lo := 0; lo < len(nodes); lo += batch {
		if err := ctx.Err(); err != nil {
			return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
		}
		hi := min(lo+batch, len(nodes))
		if err := g.AddBatch(nodes[lo:hi], vecs[lo*dim:hi*dim]); err != nil {
			return ReindexSummary{}, fmt.Errorf("reindex: insert: %w", err)
		}
		progress("insert", hi, len(nodes))
	}
	sum.Inserted = len(nodes)
	for _, n := range deleted {
		if g.Delete(n) {
			sum.Deleted++
		}
	}
	if g.NeedsCompact() {
		g.Compact()
	}

	meta, err := json.Marshal(indexMeta{Model: info.Version, Dim: dim, Params: g.Options(),
		Tracks: g.Len(), Created: time.Now().UTC(), CatalogSeq: seq})
	if err != nil {
		return ReindexSummary{}, err
	}
	if err := ctx.Err(); err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	progress("save", 0, 1)
	if _, err := db.WriteIndex(meta, seq, func(w io.Writer) error {
		_, err := g.WriteTo(w)
		return err
	}); err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	progress("save", 1, 1)
	if e.snap.Load() != nil {
		// Queries move to the new index now; an engine that has not served
		// yet loads it on first use.
		if err := e.loadFrom(db, g); err != nil {
			return ReindexSummary{}, err
		}
	}
	sum.Took = time.Since(start)
	return sum, nil
}

// sameBuild reports whether an index built with a can be updated in place
// under b (zero fields mean the defaults).
func sameBuild(a, b index.Options) bool {
	d := index.DefaultOptions()
	pick := func(x, def int) int {
		if x == 0 {
			return def
		}
		return x
	}
	return pick(a.M, d.M) == pick(b.M, d.M) && pick(a.EfConstruction, d.EfConstruction) == pick(b.EfConstruction, d.EfConstruction)
}

// IndexState describes the stored index, as `soundalike info` shows it.
type IndexState struct {
	Model   string        // the model version it was built with
	Tracks  int           // live vectors
	Created time.Time     // when the reindex stored it
	Params  index.Options // the HNSW parameters it was built with
	// Stale is true when tracks were imported, changed or deleted since,
	// or a newer model exists: `soundalike reindex` would change it.
	Stale bool
}

// IndexState reads the stored index's description (not the index itself).
// It fails with ErrNoIndex when no index has been built.
func (e *Engine) IndexState(ctx context.Context) (IndexState, error) {
	var st IndexState
	err := e.view(func(tx *storage.Tx) error {
		ii, ok := tx.CurrentIndex()
		if !ok {
			return ErrNoIndex
		}
		var meta indexMeta
		if err := json.Unmarshal(ii.Meta, &meta); err != nil {
			return fmt.Errorf("index metadata: %w", err)
		}
		st = IndexState{Model: meta.Model, Tracks: meta.Tracks, Created: meta.Created, Params: meta.Params,
			Stale: tx.CatalogSeq() > ii.CatalogSeq || formatVersion(tx.CurrentModel()) != meta.Model}
		return nil
	})
	return st, err
}
