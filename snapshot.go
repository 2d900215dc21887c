package soundalike

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/internal/prefetch"
	"github.com/audotics/soundalike/storage"
)

// The snapshot discipline.
//
// An Engine answers every query from one immutable snapshot: the
// catalogue, the model and the index it built, as of one database
// generation. A query loads the pointer once and uses nothing else, so
// whatever it returns (Results) comes from that one snapshot.
//
// Snapshots change by one path, always under loadMu: Engine.load reads a
// complete new snapshot in one read transaction and Engine.publish swaps
// the pointer. Every publish goes through it: Open of a Detached engine,
// the first query of an attached one, Reload and Watch, the refresh after
// Import and SaveModel, and Reindex's swap to the index it built. Queries
// in flight finish on the old snapshot, new ones see the new one, nobody
// waits.
//
// A load that fails publishes nothing. The last good snapshot keeps
// serving; the error is returned to whoever asked for the load (Reload,
// Reindex, Open, or the first query of an attached engine), logged, and
// recorded in Stats (ReloadFailures, ReloadError), which the server
// exports in /metrics. The refresh after an import or a new model has no
// caller to return to: its failure is logged and recorded the same way,
// and the next Reload tries again. An engine that never loaded a snapshot
// answers queries with the load's error, never with ErrNoModel.

// snapshot is what an Engine serves: immutable once published.
type snapshot struct {
	gen  uint64
	cat  catalog // the tracks by node (catalog.go)
	byID idTable // track id → node, over cat
	// bySpotify maps Track.SpotifyID to the node where it differs from
	// the id (nil when no track has one): track references resolve
	// through it.
	bySpotify map[string]uint32
	// words is the track search's inverted index (tracksearch.go): one
	// per catalogue (derive), built (buildDerived) before load publishes
	// a snapshot that replaces another, in the background after the
	// first load.
	words func() *wordIndex
	// facets are the columns and posting lists filters read (filter.go),
	// set up and built like words.
	facets func() *facets
	// keys are by node: what the search filter reads for every candidate,
	// in one 16-byte entry so that a candidate costs one cache miss.
	keys []nodeKeys
	// Artist keys (hashes of normalised artist names) by node, packed:
	// node n's are artistKey[artistOff[n]:artistOff[n+1]].
	artistOff []uint32
	artistKey []uint64
	// histories are the users' interactions (histories.go).
	histories *histories
	model     *embedder.Model
	modelInfo ModelInfo
	graph     *index.HNSW
	vectors   VectorSource // Options.VectorSource; when set, graph stays nil
	indexID   uint64       // storage's id of the index that graph was read from
	indexMeta indexMeta
	maps      *mapCache // the index's map layout (map.go); nil when it has none
	// catalogSeq is the catalogue's change sequence the tracks were read
	// at: two snapshots of one database with the same sequence hold the
	// same tracks, so the later one reuses the earlier one's word index
	// and facets.
	catalogSeq uint64
	times      loadTimes
}

// loadTimes are when and how fast load made a snapshot (Stats).
type loadTimes struct {
	loaded time.Time // when load published the snapshot
	// read is how long load held the file (its read transaction);
	// decode how long it then decoded and checked what it copied; derive
	// how long it built the derived indexes before publishing.
	read, decode, derive time.Duration
}

// nodeKeys are a node's song key (hash of normalised name + artists, 0 =
// unknown) and feature key (hash of the eleven features, never 0 for a
// track; 0 where the node has no track).
type nodeKeys struct{ song, feat uint64 }

// fileStamp is the cheap change check a Detached engine polls
// (Engine.stamp).
type fileStamp struct {
	size  int64
	mtime time.Time
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{st.Size(), st.ModTime()}
}

// loadStatus is how the loads since Open went. It is replaced whole
// (under loadMu) and read without a lock by Stats.
type loadStatus struct {
	failures int   // loads that failed since Open
	err      error // the last load's error; nil once a load succeeds
	// reloadGeneration is the generation on disk that the last failed
	// load tried to read (Stats.ReloadGeneration); 0 if unknown.
	reloadGeneration uint64
}

// load reads a new snapshot from db and publishes it: the one path by
// which an Engine's snapshot changes. The caller holds loadMu. built, when
// set, is the index Reindex has just stored, used instead of decoding the
// stored copy. release, when set, releases db; load calls it once the read
// transaction has copied what the snapshot needs out of the file, before
// decoding and checking the copy, so that a batch job waiting for the
// file's lock waits for the copy only. A failure publishes nothing (see
// the discipline above).
func (e *Engine) load(db *storage.DB, built *index.HNSW, release func()) error {
	if release == nil {
		release = func() {}
	}
	stamp := stampOf(e.path)
	keep := e.snap.Load()
	start := time.Now()
	var s *snapshot
	var graph *index.Unchecked
	var read *historiesRead
	err := db.View(func(tx *storage.Tx) (err error) {
		s, graph, read, err = readSnapshot(tx, built, keep, &e.opts)
		return err
	})
	if err != nil {
		reloadGeneration, _ := db.Generation() // what the load failed to read
		release()
		return e.loadFailed(fmt.Errorf("load %s: %w", e.path, err), reloadGeneration)
	}
	release()
	s.times.read = time.Since(start)
	if graph != nil && graph.PoolError() != nil {
		e.opts.Logger.Warn("the index's layer 0 is on the heap, not the hugetlb pool that Options.HugeTLB asked for", "err", graph.PoolError())
	}
	pops, err := s.decode(e.path, graph, read)
	if err != nil {
		return e.loadFailed(fmt.Errorf("load %s: %w", e.path, err), s.gen)
	}
	decoded := time.Now()
	s.times.decode = decoded.Sub(start) - s.times.read
	s.derive(keep, pops)
	if keep != nil {
		// keep answers meanwhile; the swap must not leave the queries that
		// follow it waiting for these builds (seconds at 1M tracks).
		s.buildDerived()
		s.times.derive = time.Since(decoded)
	}
	s.times.loaded = time.Now()
	e.publish(s, stamp)
	if keep == nil {
		// The first load serves at once (a server calls Prepare), with the
		// builds side by side; a reload's run one after the other, beside
		// the queries keep answers.
		go s.words()
		go s.facets()
	}
	return nil
}

// holdsTrack reports whether node is a track of the catalogue: an index
// node whose track was deleted since has no keys.
func (s *snapshot) holdsTrack(node int) bool { return s.keys[node].feat != 0 }

// prefetchKeys brings the keys of rs's nodes towards the cache, so that
// their misses overlap rather than come one at a time in a loop whose
// every read waits on the branches of the one before.
func (s *snapshot) prefetchKeys(rs []index.Result) {
	for _, r := range rs {
		if int(r.ID) < len(s.keys) {
			prefetch.Line(unsafe.Pointer(&s.keys[r.ID]))
		}
	}
}

// derive sets s's derived indexes, the track search's word index and the
// filters' facets: keep's when keep holds the same tracks (a new model or
// index only), else new ones, built on first use (buildDerived). pops is
// the popularity column decode returned.
func (s *snapshot) derive(keep *snapshot, pops []uint8) {
	if keep != nil && keep.catalogSeq == s.catalogSeq && keep.cat.len() == s.cat.len() {
		s.words, s.facets = keep.words, keep.facets
		return
	}
	// The closures hold s until they have run (sync.OnceValue then drops
	// them), and a reload runs them before it publishes (buildDerived),
	// so a successor that reuses them does not keep s. Both read the one
	// popularity order, sorted by whichever runs first.
	byPop := sync.OnceValue(func() *popularityOrder { return orderByPopularity(&s.cat, pops) })
	s.words = sync.OnceValue(func() *wordIndex { return buildWordIndex(&s.cat, byPop()) })
	s.facets = sync.OnceValue(func() *facets { return buildFacets(s, byPop()) })
}

// popularityOrder is the tracks' order by popularity that the word index
// and the facets sort by.
type popularityOrder struct {
	pops []uint8 // by node: the popularity, clamped (clampPopularity)
	// nodes are the nodes holding a track by popularity, ascending, then
	// by node: nodes[off[p]:off[p+1]] have popularity p.
	nodes []uint32
	off   [maxPopularity + 2]uint32
}

// orderByPopularity sorts c's tracks by their popularity, pops (a counting
// sort).
func orderByPopularity(c *catalog, pops []uint8) *popularityOrder {
	o := &popularityOrder{pops: pops}
	for node, p := range pops {
		if c.loc[node] != locFree {
			o.off[p+1]++
		}
	}
	for p := 1; p < len(o.off); p++ {
		o.off[p] += o.off[p-1]
	}
	o.nodes = make([]uint32, o.off[maxPopularity+1])
	next := o.off
	for node, p := range pops {
		if c.loc[node] != locFree {
			o.nodes[next[p]] = uint32(node)
			next[p]++
		}
	}
	return o
}

// clampPopularity is a track's popularity as the derived indexes hold it:
// Track.Popularity is 0..maxPopularity, but a record may hold any int.
func clampPopularity(p int) uint8 { return uint8(min(max(p, 0), maxPopularity)) }

// buildDerived returns once s's track-search and filter indexes are built.
func (s *snapshot) buildDerived() {
	if s.words == nil {
		return
	}
	if hook := testHookBuildDerived.Load(); hook != nil {
		(*hook)(s)
	}
	s.words()
	s.facets()
}

// testHookBuildDerived, set by tests only, runs as buildDerived starts.
var testHookBuildDerived atomic.Pointer[func(*snapshot)]

// publish makes s, loaded from the file when it had stamp, the served
// snapshot. The caller holds loadMu.
func (e *Engine) publish(s *snapshot, stamp fileStamp) {
	e.snap.Store(s)
	e.stamp = stamp
	e.clearLoadError()
}

// clearLoadError records that the served snapshot is of the file's
// generation: the last failure, if any, no longer describes the file. The
// caller holds loadMu.
func (e *Engine) clearLoadError() {
	prev := e.loadStatus()
	e.status.Store(&loadStatus{failures: prev.failures})
	if prev.err != nil {
		// The failure was logged when it began (loadFailed): say when it
		// ends, so that the log does not leave it open.
		var gen uint64
		if s := e.snap.Load(); s != nil {
			gen = s.gen
		}
		e.opts.Logger.Info("the database loads again: the last failure to load it is over", "generation", gen, "failures", prev.failures)
	}
}

// loadFailed records and logs a failed load, keeping the served snapshot,
// and returns err. reloadGeneration is the generation on disk the load
// tried to read, 0 if unknown. The caller holds loadMu. A failure that
// repeats the last one (Watch retrying a broken file every tick) is logged
// at debug level, so the log says when the failure began, not every retry.
func (e *Engine) loadFailed(err error, reloadGeneration uint64) error {
	prev := e.loadStatus()
	st := loadStatus{failures: prev.failures + 1, err: err, reloadGeneration: reloadGeneration}
	e.status.Store(&st)
	var gen uint64
	if s := e.snap.Load(); s != nil {
		gen = s.gen
	}
	level := slog.LevelError
	if prev.err != nil && prev.err.Error() == err.Error() {
		level = slog.LevelDebug
	}
	e.opts.Logger.Log(context.Background(), level, "loading a new snapshot failed; still serving the previous one",
		"err", err, "generation", gen, "failures", st.failures)
	return err
}

func (e *Engine) loadStatus() loadStatus {
	if st := e.status.Load(); st != nil {
		return *st
	}
	return loadStatus{}
}

// refresh follows a committed write (import, new model). An engine that
// serves queries reloads now, so that the next query does not wait for it;
// queries meanwhile use the previous snapshot. An unchanged index's graph is
// reused rather than decoded. An engine that has not served yet stays lazy.
// A failure is logged and recorded in Stats, not returned: the write it
// follows has committed.
func (e *Engine) refresh(db *storage.DB) {
	if e.snap.Load() == nil {
		return
	}
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	e.load(db, nil, nil)
}

// Reload loads a new snapshot if the database changed since the last one,
// and reports whether it did. Queries keep running on the old snapshot
// until the new one is complete, then switch atomically. When the load
// fails, the old snapshot keeps serving and the error is returned (and
// recorded in Stats); a database locked by a writer (ErrLocked) is not a
// failure, just a reason to try again later.
func (e *Engine) Reload(ctx context.Context) (bool, error) {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	if err := e.checkOpen(); err != nil {
		return false, err
	}
	if e.db != nil {
		return e.reloadFrom(e.db, nil)
	}
	if e.writing != nil {
		return e.reloadFrom(e.writing, nil) // this engine's own write holds the file
	}
	if e.snap.Load() != nil && stampOf(e.path) == e.stamp {
		return false, nil
	}
	db, err := e.openDB(true)
	if errors.Is(err, ErrLocked) {
		return false, err
	}
	if err != nil {
		return false, e.loadFailed(err, 0)
	}
	var once sync.Once
	release := func() { once.Do(func() { db.Close() }) }
	defer release()
	return e.reloadFrom(db, release)
}

// reloadFrom loads from db unless the served snapshot is of its
// generation already; release, when set, releases db (see load). The
// caller holds loadMu.
func (e *Engine) reloadFrom(db *storage.DB, release func()) (bool, error) {
	old := e.snap.Load()
	g, err := db.Generation()
	if err != nil {
		return false, e.loadFailed(fmt.Errorf("load %s: %w", e.path, err), 0)
	}
	if old == nil || g != old.gen {
		if err := e.load(db, nil, release); err != nil {
			return false, err
		}
		return true, nil
	}
	if e.db == nil {
		// Touched but unchanged: remember the stamp to skip the next open.
		e.stamp = stampOf(e.path)
		e.clearLoadError()
	}
	return false, nil
}

// Watch calls Reload every interval until ctx is done or the engine is
// closed. Reload logs and records its failures; a writer holding the lock
// just means "try again next tick". A nil ctx, or an interval that is not
// positive, returns at once.
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	if ctx == nil || interval <= 0 {
		e.opts.Logger.Error("watch: want a non-nil ctx and a positive interval", "interval", interval)
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := e.Reload(ctx)
			if errors.Is(err, ErrClosed) {
				return
			}
			if err == nil && changed {
				st := e.Stats()
				e.opts.Logger.Info("reloaded", "generation", st.Generation, "model", st.ModelVersion, "indexed", st.Indexed,
					"read_under_lock", st.LoadRead.Round(time.Millisecond), "decode", st.LoadDecode.Round(time.Millisecond),
					"derive", st.LoadDerive.Round(time.Millisecond))
			}
		}
	}
}

// Stats describes the snapshot being served and how loading went.
func (e *Engine) Stats() Stats {
	ls := e.loadStatus()
	st := Stats{ReloadFailures: ls.failures, ReloadError: ls.err}
	if ls.err != nil {
		st.ReloadGeneration = ls.reloadGeneration
	}
	s, _ := e.current()
	if s == nil {
		return st
	}
	st.Tracks, st.Generation, st.Loaded = s.byID.len(), s.gen, s.times.loaded
	st.LoadRead, st.LoadDecode, st.LoadDerive = s.times.read, s.times.decode, s.times.derive
	if s.model != nil {
		st.ModelVersion = s.modelInfo.Version
	}
	switch {
	case s.graph != nil:
		st.Indexed = s.graph.Len()
		st.HugeTLB = s.graph.Stats().PoolBytes
	case s.vectors != nil && s.hasIndex():
		// The source holds the vectors the index was built with: as
		// many as its metadata counted (Publish sends them all).
		st.Indexed = s.indexMeta.Tracks
	}
	return st
}

// Ready reports whether the engine can answer similarity queries: nil,
// ErrNoModel or ErrNoIndex, or the error of a first load that failed.
func (e *Engine) Ready() error {
	s, err := e.ready()
	if err != nil {
		return err
	}
	return s.readySource()
}

// Prepare returns once the served snapshot's track-search and filter
// indexes are built. The first load publishes its snapshot first and
// builds them in the background, so that it serves at once; a server that
// calls Prepare before it takes queries keeps those builds (hundreds of MB
// of short-lived memory at 1M tracks) from competing with its first
// queries for the CPU and the collector. A later load, which replaces a
// served snapshot, builds them before the swap.
func (e *Engine) Prepare() {
	if s := e.snap.Load(); s != nil {
		s.buildDerived()
	}
}

func (e *Engine) ready() (*snapshot, error) {
	s, err := e.current()
	switch {
	case err != nil:
		return nil, err
	case s.model == nil:
		return nil, ErrNoModel
	case !s.hasIndex():
		return nil, errNoIndexYet
	}
	return s, nil
}

// current returns the published snapshot. An attached engine loads it on
// first use, so commands that never query (import, train) never pay for
// decoding the index; when that load fails, current returns its error.
func (e *Engine) current() (*snapshot, error) {
	if s := e.snap.Load(); s != nil {
		return s, nil
	}
	if _, err := e.Reload(context.Background()); err != nil {
		return nil, err
	}
	if s := e.snap.Load(); s != nil {
		return s, nil
	}
	// A successful Reload publishes: only a Close since takes it away.
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s: no snapshot loaded", e.path)
}

// Model describes the model being served.
func (e *Engine) Model(ctx context.Context) (ModelInfo, error) {
	s, err := e.current()
	if err != nil {
		return ModelInfo{}, err
	}
	if s.model == nil {
		return ModelInfo{}, ErrNoModel
	}
	return s.modelInfo, nil
}

// readSnapshot copies a complete snapshot out of one read transaction:
// the catalogue's records, the users' interactions, the current index's
// arrays and the model that built it. What it returns refers to no byte
// of the file, so the caller may release the file before decode finishes
// it: the catalogue's records are copied but not decoded, graph is the
// index read but not checked (nil when there is none to check), and read
// the interactions not yet ordered (nil when s reuses keep's histories).
// built, when set, is the current index already in memory (Reindex has
// just written it): it is used instead of reading the stored copy. keep,
// when set, is a previous snapshot whose graph is reused if the current
// index is still the one it was read from (a catalogue change does not
// touch the index), and whose histories are reused if the file's
// interactions are still the ones they hold.
func readSnapshot(tx *storage.Tx, built *index.HNSW, keep *snapshot, opts *Options) (s *snapshot, graph *index.Unchecked, read *historiesRead, err error) {
	s = &snapshot{gen: tx.Generation(), byID: newIDTable(tx.Counts().Tracks), catalogSeq: tx.CatalogSeq(), vectors: opts.VectorSource}
	if err := s.readTracks(tx); err != nil {
		return nil, nil, nil, err
	}
	if keep != nil && keep.histories.holds(tx.Counts()) {
		s.histories = keep.histories
	} else if read, err = readHistories(tx); err != nil {
		return nil, nil, nil, err
	}
	graph, err = s.readIndex(tx, built, keep, &index.ReadOptions{HugeTLB: opts.HugeTLB})
	if err != nil {
		return nil, nil, nil, err
	}
	// Serve the index with the model that built it, even when a newer model
	// has been trained since: the next reindex moves both forward together.
	var version uint64
	if graph != nil || s.hasIndex() {
		var err error
		if version, err = ParseModelVersion(s.indexMeta.Model); err != nil {
			return nil, nil, nil, fmt.Errorf("index metadata: %w", err)
		}
	}
	m, info, err := loadModelTx(tx, version)
	switch {
	case errors.Is(err, ErrNoModel):
		s.graph = nil
		return s, nil, read, nil
	case err != nil:
		return nil, nil, nil, err
	}
	s.model, s.modelInfo = m, info
	return s, graph, read, nil
}

// readIndex reads the current index's metadata into s, and its graph:
// built or keep's graph when they are that index (set in s), else read
// from the file and returned unchecked. No index is not an error.
func (s *snapshot) readIndex(tx *storage.Tx, built *index.HNSW, keep *snapshot, ro *index.ReadOptions) (*index.Unchecked, error) {
	var graph *index.Unchecked
	err := tx.ReadIndex(func(ii storage.IndexInfo, r io.Reader) error {
		meta, err := decodeIndexMeta(ii.Meta)
		if err != nil {
			return err
		}
		s.indexMeta, s.indexID = meta, ii.ID
		if s.vectors != nil {
			return nil // the source holds the vectors: no graph in memory
		}
		if built == nil && keep != nil && keep.graph != nil && keep.indexID == ii.ID {
			built = keep.graph
		}
		if built != nil {
			s.graph = built
			return nil
		}
		if graph, err = index.ReadUnchecked(r, ro); err != nil {
			return indexDamaged(err)
		}
		return nil
	})
	if errors.Is(err, ErrNoIndex) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if keep != nil && keep.indexID == s.indexID {
		s.maps = keep.maps
		return graph, nil
	}
	s.maps, err = loadMap(tx, s.indexID)
	return graph, err
}

// indexDamaged is the error of a stored index that fails to read or check.
func indexDamaged(err error) error {
	return fmt.Errorf("index: %w; rebuild it with Engine.Reindex and ReindexOptions.Full", err)
}

// readTracks copies the tracks bucket's records into s's catalog, in id
// order; decodeTracks decodes them once the file is released.
func (s *snapshot) readTracks(tx *storage.Tx) error {
	n := int(tx.NodeLimit())
	s.cat = newCatalog(n)
	w := catalogWriter{c: &s.cat}
	return tx.ForEachTrack(func(en storage.TrackEntry) error {
		if int(en.Node) >= n {
			return fmt.Errorf("track %s: node %d beyond the catalogue's %d", en.ID, en.Node, n)
		}
		if s.cat.loc[en.Node] != locFree {
			return fmt.Errorf("track %s: node %d is track %s's too", en.ID, en.Node, s.cat.id(en.Node))
		}
		return w.add(en.Node, en.ID, en.Data)
	})
}

// decode finishes a snapshot that readSnapshot copied from the file at
// path: it checks the index graph on one goroutine and orders the
// interactions read into s's histories on another while the others decode
// the catalogue. It returns the tracks' popularity by node, clamped to
// 0..maxPopularity, which the derived indexes sort by (derive). The bytes
// came from the file, so a panic decoding them is damage
// (storage.Protect), as it is inside a transaction.
func (s *snapshot) decode(path string, graph *index.Unchecked, read *historiesRead) (pops []uint8, err error) {
	var wg sync.WaitGroup
	var graphErr error
	if graph != nil {
		wg.Go(func() {
			graphErr = storage.Protect(path, "checking the index", func() error {
				g, err := graph.Check()
				if err != nil {
					return indexDamaged(err)
				}
				s.graph = g
				return nil
			})
		})
	}
	var historiesErr error
	if read != nil {
		wg.Go(func() { s.histories, historiesErr = read.order() })
	}
	pops, err = s.decodeTracks(path)
	wg.Wait()
	if err := errors.Join(err, graphErr, historiesErr); err != nil {
		return nil, err
	}
	if s.model != nil && s.graph != nil {
		s.modelInfo.IndexSize = s.graph.Len()
	}
	return pops, nil
}

// workerFinds are what one decoding worker found besides the per-node
// columns, in node order within each of its blocks.
type workerFinds struct {
	// artistNodes[i] has artist key artistKeys[i].
	artistNodes []uint32
	artistKeys  []uint64
	// spotifyNodes[i] is a track whose Spotify id, spotifyIDs[i], differs
	// from its id.
	spotifyNodes []uint32
	spotifyIDs   []string
}

// decodeTracks decodes the catalog's records into s: byID, the per-node
// keys the search filters use and the map of Spotify ids. It returns the
// tracks' popularity by node (decode). This goroutine fills byID while
// workers decode and hash blocks of nodes (decoding is most of the work:
// at 1M tracks, about a CPU-second).
func (s *snapshot) decodeTracks(path string) ([]uint8, error) {
	n := s.cat.len()
	s.keys = make([]nodeKeys, n)
	pops := make([]uint8, n)
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	found := make([]workerFinds, workers)
	errs := make([]error, workers)
	var next atomic.Int64 // the first node of the next block to decode
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			errs[w] = storage.Protect(path, "decoding the tracks", func() error { return s.decodeBlocks(&next, pops, &found[w]) })
			if errs[w] != nil {
				next.Store(int64(n)) // the others stop too
			}
		})
	}
	for node := range uint32(n) {
		if s.cat.loc[node] != locFree {
			s.byID.insert(&s.cat, node)
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.packArtistKeys(n, found)
	s.indexSpotifyIDs(found)
	return pops, nil
}

// decodeBlock is how many nodes a decoding worker takes at a time.
const decodeBlock = 4096

// decodeBlocks is one decoding worker: it decodes and hashes the records
// of the blocks of nodes it takes from next into s's keys and pops,
// appending artist keys and Spotify ids to found. It stops at the first
// corrupt record and returns its error.
func (s *snapshot) decodeBlocks(next *atomic.Int64, pops []uint8, found *workerFinds) error {
	n := int64(s.cat.len())
	var t Track
	for {
		first := next.Add(decodeBlock) - decodeBlock
		if first >= n {
			return nil
		}
		for node := uint32(first); int64(node) < min(n, first+decodeBlock); node++ {
			id, data, ok := s.cat.record(node)
			if !ok {
				continue
			}
			t.ID = TrackID(id)
			if err := decodeTrackAliased(data, &t); err != nil {
				return fmt.Errorf("track %s: %w", id, err)
			}
			s.keys[node] = nodeKeys{songKeyOf(&t), featKeyOf(&t.Features)}
			pops[node] = clampPopularity(t.Popularity)
			for _, a := range t.Artists {
				if k := artistKeyOf(a); k != 0 {
					found.artistNodes = append(found.artistNodes, node)
					found.artistKeys = append(found.artistKeys, k)
				}
			}
			if t.SpotifyID != "" && t.SpotifyID != id {
				found.spotifyNodes = append(found.spotifyNodes, node)
				found.spotifyIDs = append(found.spotifyIDs, t.SpotifyID)
			}
		}
	}
}

// packArtistKeys packs the workers' artist keys by node, each node's in its
// artists' order.
func (s *snapshot) packArtistKeys(n int, found []workerFinds) {
	s.artistOff = make([]uint32, n+1)
	total := 0
	for _, f := range found {
		for _, node := range f.artistNodes {
			s.artistOff[node+1]++
		}
		total += len(f.artistKeys)
	}
	for i := range n {
		s.artistOff[i+1] += s.artistOff[i]
	}
	s.artistKey = make([]uint64, total)
	next := slices.Clone(s.artistOff[:n])
	for _, f := range found {
		for i, node := range f.artistNodes {
			s.artistKey[next[node]] = f.artistKeys[i]
			next[node]++
		}
	}
}
