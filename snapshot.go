package soundalike

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/storage"
)

// snapshot is what an Engine serves: immutable once published.
type snapshot struct {
	gen    uint64
	tracks []Track // by node id; a zero Track (empty ID) where a node is free
	byID   map[TrackID]uint32
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
	indexID   uint64 // storage's id of the index that graph was read from
	indexMeta indexMeta
	fileStamp fileStamp
}

// nodeKeys are a node's song key (hash of normalised name + artists, 0 =
// unknown) and feature key (hash of the eleven features, never 0 for a
// track; 0 where the node has no track).
type nodeKeys struct{ song, feat uint64 }

// indexMeta is the metadata document stored with every index.
type indexMeta struct {
	Model      string        `json:"model"`
	Dim        int           `json:"dim"`
	Params     index.Options `json:"params"`
	Tracks     int           `json:"tracks"`
	Created    time.Time     `json:"created"`
	CatalogSeq uint64        `json:"catalog_seq"`
}

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

var hashSeed = maphash.MakeSeed()

// normalizeText folds case, drops punctuation and collapses spaces, so that
// "Don't Start Now" and "dont start now" compare equal.
func normalizeText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-' || r == '_' || r == '/':
			space = true
		}
	}
	return b.String()
}

func songKeyOf(t *Track) uint64 {
	name := normalizeText(t.Name)
	if name == "" {
		return 0
	}
	var h maphash.Hash
	h.SetSeed(hashSeed)
	h.WriteString(name)
	for _, a := range t.Artists {
		h.WriteByte(0)
		h.WriteString(normalizeText(a))
	}
	return h.Sum64() | 1 // never 0
}

// artistKeyOf hashes a normalised artist name; 0 for an empty one.
func artistKeyOf(a string) uint64 {
	n := normalizeText(a)
	if n == "" {
		return 0
	}
	return maphash.String(hashSeed, n) | 1
}

func featKeyOf(f *Features) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	var buf [8]byte
	for _, v := range f.Values() {
		bits := math.Float64bits(v)
		for i := range buf {
			buf[i] = byte(bits >> (8 * i))
		}
		h.Write(buf[:])
	}
	return h.Sum64() | 1 // never 0: 0 marks a node without a track
}

// loadSnapshot reads a complete snapshot in one read transaction: the
// catalogue, the current index and the model that built it. built, when
// set, is the current index already in memory (Reindex has just written
// it): it is used instead of decoding the stored copy. keep, when set, is a
// previous snapshot whose graph is reused if the current index is still
// the one it was read from (a catalogue change does not touch the index).
func loadSnapshot(tx *storage.Tx, built *index.HNSW, keep *snapshot) (*snapshot, error) {
	s := &snapshot{gen: tx.Generation(), byID: make(map[TrackID]uint32, tx.Counts().Tracks)}
	if err := s.loadTracks(tx); err != nil {
		return nil, err
	}
	// Serve the index with the model that built it, even when a newer model
	// has been trained since: the next reindex moves both forward together.
	err := tx.ReadIndex(func(ii storage.IndexInfo, r io.Reader) error {
		if err := json.Unmarshal(ii.Meta, &s.indexMeta); err != nil {
			return fmt.Errorf("index metadata: %w", err)
		}
		s.indexID = ii.ID
		if built == nil && keep != nil && keep.graph != nil && keep.indexID == ii.ID {
			built = keep.graph
		}
		if built != nil {
			s.graph = built
			return nil
		}
		g, err := index.Read(r)
		if err != nil {
			return fmt.Errorf("index: %w; run `soundalike reindex --full`", err)
		}
		s.graph = g
		return nil
	})
	if err != nil && !errors.Is(err, storage.ErrNoIndex) {
		return nil, err
	}
	var version uint64
	if s.graph != nil {
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
	if s.graph == nil {
		return s, nil
	}
	s.modelInfo.IndexSize = s.graph.Len()
	return s, nil
}

// refresh follows a committed write (import, new model). An engine that
// serves queries reloads now, so that the next query does not wait for it;
// queries meanwhile use the previous snapshot. An unchanged index's graph is
// reused rather than decoded. An engine that has not served yet stays lazy.
func (e *Engine) refresh(db *storage.DB) {
	if e.snap.Load() == nil {
		return
	}
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	if err := e.loadFrom(db, nil); err != nil {
		e.snap.Store(nil) // the next query retries, and reports the failure
	}
}

// loadTracks decodes the catalogue into s: tracks by node, byID, and the
// per-node keys the search filters use. This goroutine walks the bucket and
// fills byID while workers decode and hash batches of records (decoding
// is most of the work: at 1M tracks, seconds).
func (s *snapshot) loadTracks(tx *storage.Tx) error {
	n := int(tx.NodeLimit())
	s.tracks = make([]Track, n)
	s.keys = make([]nodeKeys, n)

	type record struct {
		node uint32
		id   string
		data []byte // valid for the transaction, which outlives the workers
	}
	// artist keys found by one worker, in order: (node, key) pairs.
	type artistKeys struct {
		nodes []uint32
		keys  []uint64
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	batches := make(chan []record, 2*workers)
	found := make([]artistKeys, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ak := &found[w]
			for b := range batches {
				if errs[w] != nil {
					continue // drain
				}
				for _, r := range b {
					t := &s.tracks[r.node]
					t.ID = TrackID(r.id)
					if err := decodeTrack(r.data, t); err != nil {
						errs[w] = fmt.Errorf("track %s: %w", r.id, err)
						break
					}
					s.keys[r.node] = nodeKeys{songKeyOf(t), featKeyOf(&t.Features)}
					for _, a := range t.Artists {
						if k := artistKeyOf(a); k != 0 {
							ak.nodes = append(ak.nodes, r.node)
							ak.keys = append(ak.keys, k)
						}
					}
				}
			}
		})
	}
	const batchSize = 512
	batch := make([]record, 0, batchSize)
	err := tx.ForEachTrack(func(en storage.TrackEntry) error {
		if int(en.Node) >= n {
			return fmt.Errorf("track %s: node %d beyond the catalogue's %d", en.ID, en.Node, n)
		}
		s.byID[TrackID(en.ID)] = en.Node
		batch = append(batch, record{en.Node, en.ID, en.Data})
		if len(batch) == batchSize {
			batches <- batch
			batch = make([]record, 0, batchSize)
		}
		return nil
	})
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	if err != nil {
		return err
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}

	// Pack the artist keys by node, each node's in its artists' order.
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
	return nil
}

// loadFrom loads and publishes a snapshot from an open database.
func (e *Engine) loadFrom(db *storage.DB, built *index.HNSW) error {
	stamp := stampOf(e.path)
	var s *snapshot
	keep := e.snap.Load()
	err := db.View(func(tx *storage.Tx) (err error) {
		s, err = loadSnapshot(tx, built, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("load %s: %w", e.path, err)
	}
	s.fileStamp = stamp
	e.snap.Store(s)
	return nil
}

// Reload loads a new snapshot if the database changed since the last one,
// and reports whether it did. Queries keep running on the old snapshot
// until the new one is complete, then switch atomically.
func (e *Engine) Reload(ctx context.Context) (bool, error) {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	old := e.snap.Load()
	if e.db != nil {
		g, err := e.db.Generation()
		if err != nil {
			return false, err
		}
		if old != nil && g == old.gen {
			return false, nil
		}
		return true, e.loadFrom(e.db, nil)
	}
	if old != nil && stampOf(e.path) == old.fileStamp {
		return false, nil
	}
	db, err := e.openDB(true)
	if err != nil {
		return false, err
	}
	defer db.Close()
	g, err := db.Generation()
	if err != nil {
		return false, err
	}
	if old != nil && g == old.gen {
		// Touched but unchanged: remember the stamp to skip the next open.
		cp := *old
		cp.fileStamp = stampOf(e.path)
		e.snap.Store(&cp)
		return false, nil
	}
	return true, e.loadFrom(db, nil)
}

// Watch calls Reload every interval until ctx is done, logging failures
// (a writer holding the lock just means "try again next tick").
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := e.Reload(ctx)
			if err != nil {
				if !errors.Is(err, storage.ErrLocked) {
					e.opts.Logger.Warn("reload failed; still serving the previous snapshot", "err", err)
				}
				continue
			}
			if changed {
				st := e.Stats()
				e.opts.Logger.Info("reloaded", "generation", st.Generation, "model", st.ModelVersion, "indexed", st.Indexed)
			}
		}
	}
}

// Stats describes the snapshot being served.
func (e *Engine) Stats() Stats {
	s := e.current()
	if s == nil {
		return Stats{}
	}
	st := Stats{Tracks: len(s.byID), Generation: s.gen}
	if s.model != nil {
		st.ModelVersion = s.modelInfo.Version
	}
	if s.graph != nil {
		st.Indexed = s.graph.Len()
	}
	return st
}

// Ready reports whether the engine can answer similarity queries: nil, or
// ErrNoModel / ErrNoIndex naming the command to run.
func (e *Engine) Ready() error {
	_, err := e.ready()
	return err
}

func (e *Engine) ready() (*snapshot, error) {
	s := e.current()
	switch {
	case s == nil || s.model == nil:
		return nil, ErrNoModel
	case s.graph == nil:
		return nil, ErrNoIndex
	}
	return s, nil
}

// current returns the published snapshot. An attached engine loads it on
// first use, so commands that never query (import, train) never pay for
// decoding the index.
func (e *Engine) current() *snapshot {
	if s := e.snap.Load(); s != nil || e.db == nil {
		return s
	}
	if _, err := e.Reload(context.Background()); err != nil {
		e.opts.Logger.Warn("loading the catalogue, model and index failed", "err", err)
	}
	return e.snap.Load()
}

// Model describes the model being served.
func (e *Engine) Model(ctx context.Context) (ModelInfo, error) {
	s := e.current()
	if s == nil || s.model == nil {
		return ModelInfo{}, ErrNoModel
	}
	return s.modelInfo, nil
}
