package soundalike

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// Index are the parameters of the new index; zero fields mean the
	// defaults. They describe the index as a whole: a changed M,
	// EfConstruction or Seed rebuilds it from scratch; a changed EfSearch
	// or MaxTombstoneRatio applies to the updated index too (EfSearch is
	// the beam of every search that sets none). Workers only says how many
	// goroutines build it and is not stored.
	Index index.Options
	// Progress, when set, is called with the stage ("embed", "insert",
	// "layout", "save") and how far it is.
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

// reindexBatch is how many tracks are embedded, or at least how many are
// inserted, between progress reports and context checks.
const reindexBatch = 16384

// insertBatches bounds how many batches a build inserts in. Each batch
// linked on more than one worker ends with a single-threaded walk of the
// whole graph (the index's reachability repair), so batches of
// reindexBatch would walk a 1M graph 62 times. With at most this many, progress still moves every sixteenth
// of the build.
const insertBatches = 16

// Reindex embeds the catalogue with the model and stores a new index. By
// default it is incremental: only tracks added, changed or deleted since the
// last reindex are embedded and re-linked, unless the model or the index's
// build parameters changed. The new index replaces the old one in one
// atomic switch: a crash at any moment leaves the previous index intact.
// This engine's own queries move to the new index when it is stored; if
// loading it fails, they keep the previous one and Reindex returns the
// error (the new index is stored all the same).
//
// Its phases: plan (one read transaction: the model, the previous index,
// the tracks to embed), embed, build (insert, delete, compact), layout
// (the map: the previous one updated when the index is, else a fresh one;
// layout.go), save, and swap. Each phase returns what it produces and
// Reindex adds it to the summary. A buffer that only one phase reads (the
// raw inputs for embed, the vectors for build, the live nodes and the
// previous map for layout) is a local here, passed to that phase and not
// used after it, so that the collector frees it once that phase is done
// with it rather than holding it to the end of the reindex.
//
// The engine's writes (Import, SaveModel, PromoteModel, Reindex) run one
// at a time: Reindex waits for the one in progress until ctx ends, and
// then returns ctx's error naming the write it waited for. A write called
// from inside Progress therefore waits for this Reindex, which waits for
// Progress: it returns only when its ctx ends. Close, which has no ctx,
// called from inside Progress never returns.
func (e *Engine) Reindex(ctx context.Context, opts *ReindexOptions) (ReindexSummary, error) {
	if err := checkCtx(ctx); err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	start := time.Now()
	o, err := opts.withDefaults()
	if err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	unlock, err := e.lockWrite(ctx, "reindex")
	if err != nil {
		return ReindexSummary{}, err
	}
	defer unlock()
	if err := e.needDatabase(ctx); err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	db, release, err := e.writable(ctx)
	if err != nil {
		return ReindexSummary{}, err
	}
	defer release()

	p, raws, live, prevMap, err := planReindex(db, o, e.opts.Logger)
	if err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	sum := ReindexSummary{Tracks: p.tracks, Full: p.prev == nil, Model: p.info.Version}
	vecs, err := p.embed(ctx, raws, o.Progress)
	var bad *degenerateNode
	if errors.As(err, &bad) {
		err = p.nameDegenerate(db, bad)
	}
	if err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	sum.Embedded = len(p.nodes)
	g, deleted, err := p.build(ctx, vecs, o.Index.Workers, o.Progress)
	if err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	sum.Inserted, sum.Deleted = len(p.nodes), deleted
	lay, err := p.layout(ctx, g, live, prevMap, o.Progress)
	if err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	if err := p.save(ctx, db, g, lay, o.Progress); err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: %w", err)
	}
	if err := e.swapIndex(db, g); err != nil {
		return ReindexSummary{}, fmt.Errorf("reindex: the new index is stored, but this engine still serves the previous one: %w", err)
	}
	sum.Took = time.Since(start)
	return sum, nil
}

// withDefaults returns a copy of o (which may be nil), checked, with a
// Progress that does nothing when none is given.
func (o *ReindexOptions) withDefaults() (ReindexOptions, error) {
	var r ReindexOptions
	if o != nil {
		r = *o
	}
	if err := r.Index.Validate(); err != nil {
		return r, err
	}
	if _, err := ParseModelVersion(r.Model); err != nil {
		return r, err
	}
	if r.Progress == nil {
		r.Progress = func(string, int, int) {}
	}
	return r, nil
}

// reindexPlan is what the plan phase read, all as of one catalogue seq.
// planReindex fills it; the later phases only read it. The index prev
// points to is the exception: build updates it in place into the new one.
type reindexPlan struct {
	model   *embedder.Model
	info    ModelInfo
	params  indexParams // the new index's
	prev    *index.HNSW // the index to update; nil for a full build
	since   uint64      // prev's catalogue seq
	seq     uint64      // the catalogue seq the new index matches
	tracks  int         // tracks in the catalogue
	nodes   []uint32    // tracks to embed, by node
	deleted []uint32    // nodes deleted since prev
}

// planReindex reads, in one read transaction, the model, the previous
// index (unless the update must be full) and the tracks to embed.
//
// Beside the plan it returns what a single later phase reads, for the
// caller to pass to that phase and then drop: raws, the raw model inputs
// of p.nodes (len(model.Inputs()) each), for embed; live, every track's
// node (the map's points), and prevMap, prev's map layout when it has
// one, for layout.
func planReindex(db *storage.DB, o ReindexOptions, log *slog.Logger) (p *reindexPlan, raws []float32, live []uint32, prevMap *layout, err error) {
	version, _ := ParseModelVersion(o.Model) // checked by withDefaults
	p = &reindexPlan{params: paramsOf(o.Index)}
	err = db.View(func(tx *storage.Tx) error {
		var err error
		if p.model, p.info, err = loadModelTx(tx, version); err != nil {
			return err
		}
		p.seq = tx.CatalogSeq()
		p.tracks = tx.Counts().Tracks
		if !o.Full {
			if prevMap, err = p.readPrevious(tx, log); err != nil {
				return err
			}
		}
		if raws, live, err = p.readTracks(tx); err != nil {
			return err
		}
		if p.prev == nil {
			return nil
		}
		return tx.ForEachDeleted(p.since, func(n uint32) error { p.deleted = append(p.deleted, n); return nil })
	})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return p, raws, live, prevMap, nil
}

// readPrevious decodes the stored index into p.prev when it can be
// updated in place: built with this model, at this dimension, with the
// same build parameters. Otherwise p.prev stays nil and the build is full.
// With p.prev it returns its map layout, or nil when it has none (or an
// unreadable one): the layout phase then computes a fresh map.
func (p *reindexPlan) readPrevious(tx *storage.Tx, log *slog.Logger) (*layout, error) {
	err := tx.ReadIndex(func(ii storage.IndexInfo, r io.Reader) error {
		meta, err := decodeIndexMeta(ii.Meta)
		if err != nil {
			log.Warn("previous index metadata unreadable; rebuilding", "err", err)
			return nil
		}
		if meta.Model != p.info.Version || meta.Dim != p.model.Dim() || !meta.Params.sameBuild(p.params) {
			return nil
		}
		g, err := index.Read(r)
		if err != nil {
			log.Warn("previous index unreadable; rebuilding", "err", err)
			return nil
		}
		// The graph keeps its own shape, which build cannot change: one
		// that differs from what its metadata says (damaged or edited
		// metadata) is rebuilt rather than refused.
		if own := paramsOf(g.Options()); !own.sameBuild(p.params) || g.Dim() != p.model.Dim() {
			log.Warn("previous index's graph was built with other parameters than its metadata says; rebuilding",
				"graph_m", own.M, "graph_ef_construction", own.EfConstruction, "graph_seed", own.Seed, "graph_dim", g.Dim())
			return nil
		}
		p.prev, p.since = g, ii.CatalogSeq
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNoIndex) {
			return nil, nil
		}
		return nil, err
	}
	if p.prev == nil {
		return nil, nil
	}
	prevMap, err := readLayoutTx(tx)
	if err != nil {
		if !errors.Is(err, ErrNoLayout) {
			log.Warn("previous map layout unreadable; computing a new one", "err", err)
		}
		return nil, nil
	}
	return prevMap, nil
}

// readTracks lists the tracks to embed in p.nodes (all of them for a full
// build, else those added or changed since p.since or missing from
// p.prev) and returns their raw inputs, and every track's node.
func (p *reindexPlan) readTracks(tx *storage.Tx) (raws []float32, live []uint32, err error) {
	names := p.model.Inputs()
	var t Track
	err = tx.ForEachTrack(func(en storage.TrackEntry) error {
		live = append(live, en.Node)
		if p.prev != nil && en.Seq <= p.since && p.prev.Contains(en.Node) {
			return nil
		}
		t = Track{ID: TrackID(en.ID)}
		if err := decodeTrack(en.Data, &t); err != nil {
			return fmt.Errorf("track %s: %w", en.ID, err)
		}
		var err error
		raws, err = RawInputs(&t, names, raws)
		p.nodes = append(p.nodes, en.Node)
		return err
	})
	return raws, live, err
}

// embed embeds the planned tracks, whose raw inputs are raws, in batches,
// so that progress moves and ctx is honoured. It returns their vectors,
// model.Dim() each, in the order of p.nodes.
func (p *reindexPlan) embed(ctx context.Context, raws []float32, progress func(string, int, int)) ([]float32, error) {
	dim, ni := p.model.Dim(), len(p.model.Inputs())
	vecs := make([]float32, len(p.nodes)*dim)
	for lo := 0; lo < len(p.nodes); lo += reindexBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+reindexBatch, len(p.nodes))
		if _, err := p.model.EmbedBatch(raws[lo*ni:hi*ni], vecs[lo*dim:hi*dim]); err != nil {
			var bad *embedder.DegenerateError
			if errors.As(err, &bad) {
				return nil, &degenerateNode{node: p.nodes[lo+bad.Track]}
			}
			return nil, err
		}
		progress("embed", hi, len(p.nodes))
	}
	return vecs, nil
}

// degenerateNode is the embed phase's error for a track, known by its
// node, that the model cannot embed (embedder.ErrDegenerate).
type degenerateNode struct{ node uint32 }

func (e *degenerateNode) Error() string {
	return fmt.Sprintf("track node %d: %v", e.node, embedder.ErrDegenerate)
}

func (e *degenerateNode) Unwrap() error { return embedder.ErrDegenerate }

// nameDegenerate returns bad's error naming the track by its id, which
// the plan does not keep: the catalogue is read again to find it. The id
// is quoted: it is the operator's to correct or delete, and a catalogue's
// id may hold spaces, colons or control characters (any byte but NUL),
// which the command line prints as the error says them.
func (p *reindexPlan) nameDegenerate(db *storage.DB, bad *degenerateNode) error {
	found := errors.New("found")
	id := ""
	err := db.View(func(tx *storage.Tx) error {
		return tx.ForEachTrack(func(en storage.TrackEntry) error {
			if en.Node == bad.node {
				id = en.ID
				return found
			}
			return nil
		})
	})
	if !errors.Is(err, found) {
		return bad
	}
	return fmt.Errorf("track %q: model %s cannot embed it: %w (the network overflows or outputs zeros for its inputs): retrain the model, or correct or delete the track",
		id, p.info.Version, embedder.ErrDegenerate)
}

// build inserts the vectors of p.nodes into the previous index, given the
// new parameters (its shape is theirs: sameBuild), or into a new one, drops
// the deleted nodes, and compacts when tombstones exceed the new index's
// MaxTombstoneRatio. It returns the new index, which holds its own copy of
// the vectors, and how many deleted nodes it dropped from it.
func (p *reindexPlan) build(ctx context.Context, vecs []float32, workers int, progress func(string, int, int)) (g *index.HNSW, deleted int, err error) {
	dim := p.model.Dim()
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	opts := p.params.options(workers)
	if g = p.prev; g != nil {
		err = g.SetOptions(&opts)
	} else {
		g, err = index.New(dim, &opts)
	}
	if err != nil {
		return nil, 0, err
	}
	batch := max(reindexBatch, (len(p.nodes)+insertBatches-1)/insertBatches)
	for lo := 0; lo < len(p.nodes); lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		hi := min(lo+batch, len(p.nodes))
		if err := g.AddBatch(p.nodes[lo:hi], vecs[lo*dim:hi*dim]); err != nil {
			return nil, 0, fmt.Errorf("insert: %w", err)
		}
		progress("insert", hi, len(p.nodes))
	}
	for _, n := range p.deleted {
		if g.Delete(n) {
			deleted++
		}
	}
	if g.NeedsCompact() {
		g.Compact()
	}
	return g, deleted, nil
}

// layout computes the map layout (layout.go) of the nodes of live that g
// holds: an update of prevMap, the previous index's layout, when there is
// one and it is still worth keeping, else a fresh one. Neither live nor
// prevMap is read once it has served, so that neither outlasts its use.
func (p *reindexPlan) layout(ctx context.Context, g *index.HNSW, live []uint32, prevMap *layout, progress func(string, int, int)) (*layout, error) {
	progress("layout", 0, 1)
	nodes := make([]uint32, 0, len(live))
	for _, n := range live {
		if g.Contains(n) {
			nodes = append(nodes, n)
		}
	}
	var l *layout
	var err error
	if prevMap != nil {
		changed := make(map[uint32]bool, len(p.nodes))
		for _, n := range p.nodes {
			changed[n] = true
		}
		if l, err = updateLayout(ctx, g, prevMap, nodes, changed, layoutSample); err != nil {
			return nil, err
		}
	}
	if l == nil {
		if l, err = computeLayout(ctx, g, nodes, layoutSample); err != nil {
			return nil, err
		}
	}
	progress("layout", 1, 1)
	return l, nil
}

// save stores g with its metadata, and its map layout, as the current
// index.
func (p *reindexPlan) save(ctx context.Context, db *storage.DB, g *index.HNSW, lay *layout, progress func(string, int, int)) error {
	meta, err := json.Marshal(indexMeta{Model: p.info.Version, Dim: p.model.Dim(), Params: p.params,
		Tracks: g.Len(), Created: time.Now().UTC(), CatalogSeq: p.seq})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	progress("save", 0, 1)
	if _, err := db.WriteIndex(meta, p.seq, func(w io.Writer) error {
		_, err := g.WriteTo(w)
		return err
	}, storage.IndexPart{Name: layoutPart, Write: lay.writeTo}); err != nil {
		return err
	}
	progress("save", 1, 1)
	return nil
}

// swapIndex publishes a snapshot serving g, the index just stored. An
// engine that has not served yet loads it on first use instead. Reindex's
// ctx does not stop it: the index is committed, and the engine should
// serve what it stored.
func (e *Engine) swapIndex(db *storage.DB, g *index.HNSW) error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	if e.snap.Load() == nil {
		return nil
	}
	return e.load(context.Background(), onReindex, db, g, nil)
}

// IndexState describes the stored index, as `soundalike info` shows it.
type IndexState struct {
	Model   string        // the model version it was built with
	Tracks  int           // live vectors
	Created time.Time     // when the reindex stored it
	Params  index.Options // the parameters it was built with (Workers is not stored: 0)
	// Stale is true when tracks were imported, changed or deleted since,
	// or when the current model is not the one it was built with (a newer
	// one, or an older one promoted back): Reindex would change it.
	Stale bool
}

// IndexState reads the stored index's description (not the index itself).
// It fails with ErrNoIndex when no index has been built.
func (e *Engine) IndexState(ctx context.Context) (IndexState, error) {
	if err := checkCtx(ctx); err != nil {
		return IndexState{}, fmt.Errorf("index state: %w", err)
	}
	var st IndexState
	err := e.view(ctx, func(tx *storage.Tx) error {
		ii, ok := tx.CurrentIndex()
		if !ok {
			return errNoIndexYet
		}
		meta, err := decodeIndexMeta(ii.Meta)
		if err != nil {
			return err
		}
		st = IndexState{Model: meta.Model, Tracks: meta.Tracks, Created: meta.Created, Params: meta.Params.options(0),
			Stale: tx.CatalogSeq() > ii.CatalogSeq || formatVersion(tx.CurrentModel()) != meta.Model}
		return nil
	})
	return st, err
}
