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
	// once per snapshot on first use, or in the background after load
	// publishes the snapshot.
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
// stored copy. A failure publishes nothing (see the discipline above).
func (e *Engine) load(db *storage.DB, built *index.HNSW) error {
	stamp := stampOf(e.path)
	keep := e.snap.Load()
	var s *snapshot
	err := db.View(func(tx *storage.Tx) (err error) {
		s, err = loadSnapshot(tx, built, keep, e.opts.VectorSource)
		return err
	})
	if err != nil {
		onDisk, _ := db.Generation() // for Stats: what the load failed to read
		return e.loadFailedAt(fmt.Errorf("load %s: %w", e.path, err), onDisk)
	}
	s.fileStamp, s.loaded = stamp, time.Now()
	e.publish(s)
	go s.words() // ready for the first track search, off the load's path
	go s.facets()
	return nil
}

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
	e.load(db, nil)
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
	if e.db != nil {
		return e.reloadFrom(e.db)
	}
	if e.writing != nil {
		return e.reloadFrom(e.writing) // this engine's own write holds the file
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
	defer db.Close()
	return e.reloadFrom(db)
}

// reloadFrom loads from db unless the served snapshot is of its
// generation already. The caller holds loadMu.
func (e *Engine) reloadFrom(db *storage.DB) (bool, error) {
	old := e.snap.Load()
	g, err := db.Generation()
	if err != nil {
		return false, e.loadFailed(fmt.Errorf("load %s: %w", e.path, err))
	}
	if old == nil || g != old.gen {
		if err := e.load(db, nil); err != nil {
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

// Watch calls Reload every interval until ctx is done. Reload logs and
// records its failures; a writer holding the lock just means "try again
// next tick".
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if changed, err := e.Reload(ctx); err == nil && changed {
				st := e.Stats()
				e.opts.Logger.Info("reloaded", "generation", st.Generation, "model", st.ModelVersion, "indexed", st.Indexed)
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
	if s.model != nil {
		st.ModelVersion = s.modelInfo.Version
	}
	if s.graph != nil {
		st.Indexed = s.graph.Len()
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
	return nil, fmt.Errorf("%s: no snapshot loaded", e.path) // unreachable: a successful Reload publishes
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

// loadSnapshot reads a complete snapshot in one read transaction: the
// catalogue, the current index and the model that built it. built, when
// set, is the current index already in memory (Reindex has just written
// it): it is used instead of decoding the stored copy. keep, when set, is a
// previous snapshot whose graph is reused if the current index is still
// the one it was read from (a catalogue change does not touch the index).
func loadSnapshot(tx *storage.Tx, built *index.HNSW, keep *snapshot, vectors VectorSource) (*snapshot, error) {
	s := &snapshot{gen: tx.Generation(), byID: newIDTable(tx.Counts().Tracks), catalogSeq: tx.CatalogSeq(), vectors: vectors}
	if err := s.loadTracks(tx); err != nil {
		return nil, err
	}
	if keep != nil && keep.catalogSeq == s.catalogSeq && keep.cat.len() == s.cat.len() {
		s.words, s.facets = keep.words, keep.facets // the same tracks: a new model or index only
	}
	if err := s.loadIndex(tx, built, keep); err != nil {
		return nil, err
	}
	// Serve the index with the model that built it, even when a newer model
	// has been trained since: the next reindex moves both forward together.
	var version uint64
	if s.hasIndex() {
		var err error
		if version, err = ParseModelVersion(s.indexMeta.Model); err != nil {
			return nil, fmt.Errorf("index metadata: %w", err)
		}
	}
	m, info, err := loadModelTx(tx, version)
	switch {
	case errors.Is(err, ErrNoModel):
		s.graph = nil
		return s, nil
	case err != nil:
		return nil, err
	}
	s.model, s.modelInfo = m, info
	if s.graph != nil {
		s.modelInfo.IndexSize = s.graph.Len()
	}
	return s, nil
}

// loadIndex reads the current index's metadata and graph into s: built or
// keep's graph when they are that index, else decoded. No index is not an
// error (s.graph stays nil).
func (s *snapshot) loadIndex(tx *storage.Tx, built *index.HNSW, keep *snapshot) error {
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
		g, err := index.Read(r)
		if err != nil {
			return fmt.Errorf("index: %w; rebuild it with Engine.Reindex and ReindexOptions.Full", err)
		}
		s.graph = g
		return nil
	})
	if errors.Is(err, ErrNoIndex) {
		return nil
	}
	if err != nil {
		return err
	}
	if keep != nil && keep.indexID == s.indexID {
		s.maps = keep.maps
		return nil
	}
	s.maps, err = loadMap(tx, s.indexID)
	return err
}

// trackRecord is one stored track handed to a decoding worker: its id
// and data as copied into the catalog.
type trackRecord struct {
	node uint32
	id   string
	data []byte
}

// artistKeys are the artist keys one worker found, in order: (node, key)
// pairs.
type artistKeys struct {
	nodes []uint32
	keys  []uint64
}

// loadTracks decodes the catalogue into s: tracks by node, byID, and the
// per-node keys the search filters use. This goroutine walks the bucket and
// fills byID while workers decode and hash batches of records (decoding
// is most of the work: at 1M tracks, seconds).
func (s *snapshot) loadTracks(tx *storage.Tx) error {
	n := int(tx.NodeLimit())
	s.cat = newCatalog(n)
	s.keys = make([]nodeKeys, n)

	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	batches := make(chan []trackRecord, 2*workers)
	found := make([]artistKeys, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			// The records are the memory map's bytes: a worker needs the
			// protection from damage its transaction has, and after a
			// panic it drains the batches so that the walk can finish.
			errs[w] = tx.Guard("decoding the tracks bucket", func() error { return s.decodeBatches(batches, &found[w]) })
			for range batches {
			}
		})
	}
	err := s.walkTracks(tx, n, batches)
	close(batches)
	wg.Wait()
	if err := errors.Join(append([]error{err}, errs...)...); err != nil {
		return err
	}
	s.packArtistKeys(n, found)
	s.indexSpotifyIDs()
	s.words = sync.OnceValue(func() *wordIndex { return buildWordIndex(&s.cat) })
	s.facets = sync.OnceValue(func() *facets { return buildFacets(s) })
	return nil
}

// walkTracks reads the tracks bucket in key order, copies the records into
// the catalog, fills byID, and sends the records to the decoding workers in
// batches.
func (s *snapshot) walkTracks(tx *storage.Tx, n int, batches chan<- []trackRecord) error {
	const batchSize = 512
	batch := make([]trackRecord, 0, batchSize)
	w := catalogWriter{c: &s.cat}
	err := tx.ForEachTrack(func(en storage.TrackEntry) error {
		if int(en.Node) >= n {
			return fmt.Errorf("track %s: node %d beyond the catalogue's %d", en.ID, en.Node, n)
		}
		id, data, err := w.add(en.Node, en.ID, en.Data)
		if err != nil {
			return err
		}
		s.byID.insert(&s.cat, en.Node)
		batch = append(batch, trackRecord{en.Node, id, data})
		if len(batch) == batchSize {
			batches <- batch
			batch = make([]trackRecord, 0, batchSize)
		}
		return nil
	})
	if len(batch) > 0 {
		batches <- batch
	}
	return err
}

// decodeBatches is one decoding worker: it decodes and hashes the records
// of every batch into s, appending artist keys to ak. After the first
// corrupt record it drains the channel and returns that record's error.
func (s *snapshot) decodeBatches(batches <-chan []trackRecord, ak *artistKeys) error {
	var err error
	var t Track
	for b := range batches {
		for i := 0; i < len(b) && err == nil; i++ {
			r := &b[i]
			t.ID = TrackID(r.id)
			if derr := decodeTrackAliased(r.data, &t); derr != nil {
				err = fmt.Errorf("track %s: %w", r.id, derr)
				continue
			}
			s.keys[r.node] = nodeKeys{songKeyOf(&t), featKeyOf(&t.Features)}
			for _, a := range t.Artists {
				if k := artistKeyOf(a); k != 0 {
					ak.nodes = append(ak.nodes, r.node)
					ak.keys = append(ak.keys, k)
				}
			}
		}
	}
	return err
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
