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

	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/index"
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
	// words is the track search's inverted index (tracksearch.go), built
	// once per catalogue (buildDerived): before load publishes a snapshot
	// that replaces another, in the background after the first load.
	words func() *wordIndex
	// facets are the columns and posting lists filters read (filter.go),
	// built like words.
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
	// same tracks, so the later one reuses the earlier one's word index.
	catalogSeq uint64
	fileStamp  fileStamp
	loaded     time.Time // when load published it
	// loadRead is how long load held the file (its read transaction);
	// loadDecode how long it then decoded and checked what it copied;
	// loadDerive how long it built the derived indexes before publishing.
	loadRead, loadDecode, loadDerive time.Duration
}

// nodeKeys are a node's song key (hash of normalised name + artists, 0 =
// unknown) and feature key (hash of the eleven features, never 0 for a
// track; 0 where the node has no track).
type nodeKeys struct{ song, feat uint64 }

// fileStamp is the cheap change check a Detached engine polls.
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
	failures int    // loads that failed since Open
	err      error  // the last load's error; nil once a load succeeds
	failedAt uint64 // the generation the last failed load read; 0 if unknown
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
	err := db.View(func(tx *storage.Tx) (err error) {
		s, graph, err = readSnapshot(tx, built, keep, &e.opts)
		return err
	})
	if err != nil {
		onDisk, _ := db.Generation() // for Stats: what the load failed to read
		release()
		return e.loadFailedAt(fmt.Errorf("load %s: %w", e.path, err), onDisk)
	}
	release()
	s.loadRead = time.Since(start)
	if graph != nil && graph.PoolError() != nil {
		e.opts.Logger.Warn("the index's layer 0 is on the heap, not the hugetlb pool that Options.HugeTLB asked for", "err", graph.PoolError())
	}
	if err := s.decode(e.path, graph); err != nil {
		return e.loadFailedAt(fmt.Errorf("load %s: %w", e.path, err), s.gen)
	}
	decoded := time.Now()
	s.fileStamp, s.loadDecode = stamp, decoded.Sub(start)-s.loadRead
	if keep != nil {
		// keep answers meanwhile; the swap must not leave the queries that
		// follow it waiting for these builds (seconds at 1M tracks).
		s.buildDerived()
		s.loadDerive = time.Since(decoded)
	}
	s.loaded = time.Now()
	e.publish(s)
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

// publish makes s the served snapshot. The caller holds loadMu.
func (e *Engine) publish(s *snapshot) {
	e.snap.Store(s)
	e.status.Store(&loadStatus{failures: e.loadStatus().failures})
}

// loadFailed records and logs a failed load, keeping the served snapshot,
// and returns err. The caller holds loadMu. A failure that repeats the
// last one (Watch retrying a broken file every tick) is logged at debug
// level, so the log says when the failure began, not every retry.
func (e *Engine) loadFailed(err error) error { return e.loadFailedAt(err, 0) }

// loadFailedAt is loadFailed of a load that read generation onDisk.
func (e *Engine) loadFailedAt(err error, onDisk uint64) error {
	prev := e.loadStatus()
	st := loadStatus{failures: prev.failures + 1, err: err, failedAt: onDisk}
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
	if old := e.snap.Load(); old != nil && stampOf(e.path) == old.fileStamp {
		return false, nil
	}
	db, err := e.openDB(true)
	if errors.Is(err, ErrLocked) {
		return false, err
	}
	if err != nil {
		return false, e.loadFailed(err)
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
		return false, e.loadFailed(fmt.Errorf("load %s: %w", e.path, err))
	}
	if old == nil || g != old.gen {
		if err := e.load(db, nil, release); err != nil {
			return false, err
		}
		return true, nil
	}
	if e.db == nil {
		// Touched but unchanged: remember the stamp to skip the next open.
		cp := *old
		cp.fileStamp = stampOf(e.path)
		e.publish(&cp)
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
		st.ReloadGeneration = ls.failedAt
	}
	s, _ := e.current()
	if s == nil {
		return st
	}
	st.Tracks, st.Generation, st.Loaded = s.byID.len(), s.gen, s.loaded
	st.LoadRead, st.LoadDecode, st.LoadDerive = s.loadRead, s.loadDecode, s.loadDerive
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
// the catalogue's records, the current index's arrays and the model that
// built it. What it returns refers to no byte of the file, so the caller
// may release the file before decode finishes it: the catalogue's records
// are copied but not decoded, and graph is the index read but not checked
// (nil when there is none to check). built, when set, is the current
// index already in memory (Reindex has just written it): it is used
// instead of reading the stored copy. keep, when set, is a previous
// snapshot whose graph is reused if the current index is still the one it
// was read from (a catalogue change does not touch the index).
func readSnapshot(tx *storage.Tx, built *index.HNSW, keep *snapshot, opts *Options) (*snapshot, *index.Unchecked, error) {
	s := &snapshot{gen: tx.Generation(), byID: newIDTable(tx.Counts().Tracks), catalogSeq: tx.CatalogSeq(), vectors: opts.VectorSource}
	if err := s.readTracks(tx); err != nil {
		return nil, nil, err
	}
	var kept *histories
	if keep != nil {
		kept = keep.histories
	}
	var err error
	if s.histories, err = readHistories(tx, kept); err != nil {
		return nil, nil, err
	}
	if keep != nil && keep.catalogSeq == s.catalogSeq && keep.cat.len() == s.cat.len() {
		s.words, s.facets = keep.words, keep.facets // the same tracks: a new model or index only
	}
	graph, err := s.readIndex(tx, built, keep, &index.ReadOptions{HugeTLB: opts.HugeTLB})
	if err != nil {
		return nil, nil, err
	}
	// Serve the index with the model that built it, even when a newer model
	// has been trained since: the next reindex moves both forward together.
	var version uint64
	if graph != nil || s.hasIndex() {
		var err error
		if version, err = ParseModelVersion(s.indexMeta.Model); err != nil {
			return nil, nil, fmt.Errorf("index metadata: %w", err)
		}
	}
	m, info, err := loadModelTx(tx, version)
	switch {
	case errors.Is(err, ErrNoModel):
		s.graph = nil
		return s, nil, nil
	case err != nil:
		return nil, nil, err
	}
	s.model, s.modelInfo = m, info
	return s, graph, nil
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
// path: it checks the index graph on one goroutine and sorts the
// histories on another while the others decode the catalogue. The bytes
// came from the file, so a panic decoding them is damage
// (storage.Protect), as it is inside a transaction.
func (s *snapshot) decode(path string, graph *index.Unchecked) error {
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
	wg.Go(func() { historiesErr = s.histories.order() })
	err := s.decodeTracks(path)
	wg.Wait()
	if err := errors.Join(err, graphErr, historiesErr); err != nil {
		return err
	}
	if s.model != nil && s.graph != nil {
		s.modelInfo.IndexSize = s.graph.Len()
	}
	return nil
}

// artistKeys are the artist keys one worker found, in order: (node, key)
// pairs.
type artistKeys struct {
	nodes []uint32
	keys  []uint64
}

// decodeTracks decodes the catalog's records into s: byID, and the
// per-node keys the search filters use. This goroutine fills byID while
// workers decode and hash blocks of nodes (decoding is most of the work:
// at 1M tracks, about a CPU-second).
func (s *snapshot) decodeTracks(path string) error {
	n := s.cat.len()
	s.keys = make([]nodeKeys, n)
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	found := make([]artistKeys, workers)
	errs := make([]error, workers)
	var next atomic.Int64 // the first node of the next block to decode
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			errs[w] = storage.Protect(path, "decoding the tracks", func() error { return s.decodeBlocks(&next, &found[w]) })
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
		return err
	}
	s.packArtistKeys(n, found)
	s.indexSpotifyIDs()
	if s.words == nil { // else the previous snapshot's, of the same tracks
		// The closures hold s until they have run (sync.OnceValue then
		// drops them), and a reload runs them before it publishes
		// (buildDerived), so a successor that reuses them does not keep s.
		s.words = sync.OnceValue(func() *wordIndex { return buildWordIndex(&s.cat) })
		s.facets = sync.OnceValue(func() *facets { return buildFacets(s) })
	}
	return nil
}

// decodeBlock is how many nodes a decoding worker takes at a time.
const decodeBlock = 4096

// decodeBlocks is one decoding worker: it decodes and hashes the records
// of the blocks of nodes it takes from next into s, appending artist keys
// to ak. It stops at the first corrupt record and returns its error.
func (s *snapshot) decodeBlocks(next *atomic.Int64, ak *artistKeys) error {
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
			for _, a := range t.Artists {
				if k := artistKeyOf(a); k != 0 {
					ak.nodes = append(ak.nodes, node)
					ak.keys = append(ak.keys, k)
				}
			}
		}
	}
}

// packArtistKeys packs the workers' artist keys by node, each node's in its
// artists' order.
func (s *snapshot) packArtistKeys(n int, found []artistKeys) {
	s.artistOff = make([]uint32, n+1)
	total := 0
	for _, ak := range found {
		for _, node := range ak.nodes {
			s.artistOff[node+1]++
		}
		total += len(ak.keys)
	}
	for i := range n {
		s.artistOff[i+1] += s.artistOff[i]
	}
	s.artistKey = make([]uint64, total)
	next := slices.Clone(s.artistOff[:n])
	for _, ak := range found {
		for i, node := range ak.nodes {
			s.artistKey[next[node]] = ak.keys[i]
			next[node]++
		}
	}
}
