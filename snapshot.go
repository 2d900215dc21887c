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
	"strings"
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
// Reindex, Open, or the queries waiting for an attached engine's first
// load), logged, and recorded in Stats (ReloadFailures, ReloadError),
// which the server exports in /metrics. The refresh after an import or
// a new model has no caller to return to: its failure is logged and
// recorded the same way, and the next Reload tries again. An engine that
// never loaded a snapshot answers queries with the load's error, never
// with ErrNoModel.
//
// A load stopped by its ctx (Open's, Reload's) publishes nothing either,
// but is no failure: the file is not at fault, so nothing is logged or
// recorded, and the caller gets ctx's error naming what the load was
// doing. The load checks ctx between its phases and every few thousand
// records (stopEvery) within them: a record costs a counter, not a check.
// An attached engine's first load is shared by the queries that wait for
// it (firstLoad): a query whose ctx ends stops waiting at once, and the
// load stops only when no query waits for it any more, so that one
// query's stop neither fails the others nor throws away the work they
// wait for.
//
// A failed load is logged once (loadFailed), naming what asked for it
// (on): Open, a Reload, Watch's tick, a query, the refresh after a write,
// Reindex, or what a ReloadFor caller names (serve's SIGHUP). A load that
// published is logged (logReloaded) when a Reload, Watch's tick or a
// ReloadFor caller asked for it: the other askers see what came of it in
// what they asked for (Open returns, a query answers).

// snapshot is what an Engine serves. What queries read is immutable once
// published, but for the parts built once on first use, each behind its
// own synchronisation (words, facets, mapPoints); running and times are
// the load's record of how the snapshot was made.
type snapshot struct {
	gen uint64
	// file is the file the snapshot was read from: the open's
	// (storage.DB.File), whatever the path named. With gen, it tells
	// whether a later load reads on from the same file (continues).
	file os.FileInfo
	// running is the load's work on goroutines of their own (the index's
	// check, the histories' order, the derived builds of a reload), which
	// a stop leaves to finish: the Engine's next load waits for it.
	running sync.WaitGroup
	cat     catalog // the tracks by node (catalog.go)
	byID    idTable // track id → node, over cat
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
	histories    *histories
	model        *embedder.Model
	modelInfo    ModelInfo
	graph        *index.HNSW
	vectorSource VectorSource // Options.VectorSource; when set, graph stays nil
	indexID      uint64       // storage's id of the index that graph was read from
	indexMeta    indexMeta
	mapLayout    *mapLayout // the index's map layout (map.go); nil when it has none
	// mapPoints counts mapLayout's nodes that hold one of this snapshot's
	// tracks, once a Map asks (mapLayout.points): a layout is shared by
	// the snapshots of one index, whose catalogues may differ.
	mapPoints struct {
		once sync.Once
		n    int
	}
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

// fileStamp is what the engine's path names, as a stat found it: which
// file, and the cheap change check an engine that does not hold the file
// polls (Engine.stamp).
type fileStamp struct {
	file  os.FileInfo // nil when the stat failed
	size  int64
	mtime time.Time
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	// Windows reads a stat's file id at its first SameFile, from the path:
	// read it now, while the path names the file stat found.
	os.SameFile(st, st)
	return fileStamp{st, st.Size(), st.ModTime()}
}

// of returns a when it found file (sameFile), else the stamp of no file:
// a stamp recorded for a load must describe the file the load read, and
// the path may have named another by the time of the stat (a rename).
func (a fileStamp) of(file os.FileInfo) fileStamp {
	if !sameFile(a.file, file) {
		return fileStamp{}
	}
	return a
}

// unchanged reports whether a and b found the same file at the same size
// and mtime: a reload that finds the stamp it last recorded skips opening
// the file. A stamp of no file is never unchanged: the open says why.
func (a fileStamp) unchanged(b fileStamp) bool {
	return sameFile(a.file, b.file) && a.size == b.size && a.mtime.Equal(b.mtime)
}

// sameFile reports whether a and b are stats of one file (os.SameFile:
// device and inode on Unix), false when either is nil. A file renamed into
// place (a restored backup, a copy) is another file, whatever its
// generation; one written in place by bbolt's commits stays the same.
func sameFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b)
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
// which an Engine's snapshot changes. The caller holds loadMu. on names
// what asked for the load, for its log lines. built, when set, is the
// index Reindex has just stored, used instead of decoding the stored copy.
// release, when set, releases db; load calls it once the read transaction
// has copied what the snapshot needs out of the file, before decoding and
// checking the copy, so that a batch job waiting for the file's lock waits
// for the copy only. A failure publishes nothing, nor does a stop (ctx
// done): see the discipline above.
func (e *Engine) load(ctx context.Context, on string, db *storage.DB, built *index.HNSW, release func()) error {
	return e.loadFound(ctx, on, db, built, release, stampOf(e.path))
}

// loadFound is load with found, a stamp of the path: once the snapshot is
// published, Engine.stamp, if found names db's file (fileStamp.of). The
// snapshot's file is db's own (storage.DB.File), not the stamp's: with a
// rename between the stat and the open, the stat found another file than
// the one read. Taken before db was opened, as reload takes it, a
// commit meanwhile costs one more load (the next reload finds another
// mtime); load, whose db is open already (Open's, a write's), takes it at
// once.
func (e *Engine) loadFound(ctx context.Context, on string, db *storage.DB, built *index.HNSW, release func(), found fileStamp) error {
	if release == nil {
		release = func() {}
	}
	failed := func(err error, reloadGeneration uint64) error {
		err = e.loadError(err)
		if stopped(ctx, err) {
			return err
		}
		return e.loadFailed(err, reloadGeneration, on)
	}
	if err := e.awaitUnfinished(ctx); err != nil {
		release()
		return failed(err, 0)
	}
	keep := e.snap.Load()
	start := time.Now()
	var s *snapshot
	var graph *index.Unchecked
	var read *historiesRead
	err := db.View(func(tx *storage.Tx) (err error) {
		s, graph, read, err = readSnapshot(ctx, tx, db.File(), built, keep, &e.opts)
		return err
	})
	if err != nil {
		// What the load failed to read: 0, unknown, when the generation
		// cannot be read either (loadStatus.reloadGeneration).
		reloadGeneration, _ := db.Generation()
		release()
		return failed(err, reloadGeneration)
	}
	release()
	s.times.read = time.Since(start)
	if graph != nil && graph.PoolError() != nil {
		e.opts.Logger.Warn("the index's layer 0 is on the heap, not the hugetlb pool that Options.HugeTLB asked for", "err", graph.PoolError())
	}
	pops, err := s.decode(ctx, e.path, graph, read)
	if err != nil {
		e.leaveUnfinished(ctx, err, s)
		return failed(err, s.gen)
	}
	decoded := time.Now()
	s.times.decode = decoded.Sub(start) - s.times.read
	s.derive(keep, pops)
	if keep != nil {
		// keep answers meanwhile; the swap must not leave the queries that
		// follow it waiting for these builds (seconds at 1M tracks).
		if err := s.buildDerivedContext(ctx); err != nil {
			e.leaveUnfinished(ctx, err, s)
			return failed(err, s.gen)
		}
		s.times.derive = time.Since(decoded)
	}
	s.times.loaded = time.Now()
	e.publish(s, found.of(s.file))
	if keep == nil {
		// The first load serves at once (a server calls Prepare), with the
		// builds side by side; a reload's run one after the other, beside
		// the queries keep answers.
		go s.words()
		go s.facets()
	}
	return nil
}

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
// index only: s continues keep's file at its catalogue sequence), else new
// ones, built on first use (buildDerived). pops is the popularity column
// decode returned.
func (s *snapshot) derive(keep *snapshot, pops []uint8) {
	if s.continues(keep) && keep.catalogSeq == s.catalogSeq && keep.cat.len() == s.cat.len() {
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
		if c.holdsTrack(uint32(node)) {
			o.off[p+1]++
		}
	}
	for p := 1; p < len(o.off); p++ {
		o.off[p] += o.off[p-1]
	}
	o.nodes = make([]uint32, o.off[maxPopularity+1])
	next := o.off
	for node, p := range pops {
		if c.holdsTrack(uint32(node)) {
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

// buildDerivedContext is buildDerived for a load that ctx may stop: it
// returns ctx's error as soon as ctx is done. The builds run inside
// sync.OnceValue, which nothing can interrupt, so a stop leaves them to
// finish on their own goroutine (s.running, which the next load waits
// for), and s, which is never published, is dropped when they have.
func (s *snapshot) buildDerivedContext(ctx context.Context) error {
	const doing = "building the track search and filter indexes"
	if err := checkStop(ctx, doing); err != nil {
		return err
	}
	if ctx.Done() == nil { // never stops
		s.buildDerived()
		return nil
	}
	built := make(chan struct{})
	s.running.Go(func() { s.buildDerived(); close(built) })
	select {
	case <-built:
		return nil
	case <-ctx.Done():
		return checkStop(ctx, doing)
	}
}

// leaveUnfinished records, when err is ctx's stop, the work s's load left
// running, for the next load to wait for (awaitUnfinished). The caller
// holds loadMu.
func (e *Engine) leaveUnfinished(ctx context.Context, err error, s *snapshot) {
	if stopped(ctx, err) {
		e.unfinished = &s.running
	}
}

// awaitUnfinished waits, until ctx is done, for the work a stopped load
// left running: a second stopped load would otherwise hold a second
// snapshot's memory (docs/benchmarks.md gives its bytes a track) beside
// the first's. The caller holds loadMu.
func (e *Engine) awaitUnfinished(ctx context.Context) error {
	if e.unfinished == nil {
		return nil
	}
	done := make(chan struct{})
	go func(wg *sync.WaitGroup) { wg.Wait(); close(done) }(e.unfinished)
	select {
	case <-done:
		e.unfinished = nil
		return nil
	case <-ctx.Done():
		return checkStop(ctx, "waiting for the work of a stopped load to end")
	}
}

// stopEvery is how many records a load reads or decodes between two
// checks of its ctx: within a phase a stop waits for that many records'
// work (milliseconds), and no record pays for a check of its own.
const stopEvery = 4096

// checkStop returns ctx's error, saying what the load was doing, once ctx
// is done, and nil before.
func checkStop(ctx context.Context, doing string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped while %s: %w", doing, err)
	}
	return nil
}

// stopped reports whether err is ctx's end (checkStop's) rather than a
// failure of the load.
func stopped(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	done := ctx.Err()
	return done != nil && errors.Is(err, done)
}

// stopReader is a load's reader of the stored index: it checks ctx before
// each read (ReadUnchecked reads a frame of at most 64 KiB at a time), so
// that a stop does not wait for the whole index (hundreds of MB at 1M
// tracks). It passes on r's Len, by which ReadUnchecked sizes its arrays.
type stopReader struct {
	ctx context.Context
	r   lenReader
}

// lenReader is storage's chunk reader as ReadUnchecked uses it.
type lenReader interface {
	io.Reader
	Len() int
}

func (r stopReader) Read(p []byte) (int, error) {
	if err := checkStop(r.ctx, "reading the index"); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r stopReader) Len() int { return r.r.Len() }

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

// What asks for a load, as the on attribute of its log lines names it.
// ReloadFor's callers name their own (serve's "SIGHUP").
const (
	onOpen    = "Open"    // Open of a Detached engine
	onReload  = "Reload"  // a call of Reload
	onWatch   = "watch"   // a tick of Watch
	onQuery   = "query"   // the first query (or Model, Stats) of an attached engine
	onRefresh = "refresh" // the refresh after this engine's own write
	onReindex = "Reindex" // Reindex's swap to the index it built
)

// repeatsQuietly reports whether a failed load that on asked for, when it
// repeats the last failure, is logged at debug level: it is when on is
// one of the engine's own askers, which ask again whatever came of the
// last load (Watch every tick, every query of an attached engine whose
// first load failed) or have the error otherwise (returned to Reload,
// Open and Reindex; in Stats after a refresh). A name that a ReloadFor
// caller gives (serve's "SIGHUP") is an asker who reads the answer in the
// log, and gets it at error level every time.
func repeatsQuietly(on string) bool {
	switch on {
	case onOpen, onReload, onWatch, onQuery, onRefresh, onReindex:
		return true
	}
	return false
}

// loadFailed records and logs a failed load, keeping the served snapshot,
// and returns err. reloadGeneration is the generation on disk the load
// tried to read, 0 if unknown; on is what asked for it. The caller holds
// loadMu. A failure is logged once, here, at error level, except that one
// which repeats the last failure is logged at debug level when its asker
// would otherwise fill the log (repeatsQuietly: Watch retrying a broken
// file every tick), so the log says when the failure began, not every
// retry.
func (e *Engine) loadFailed(err error, reloadGeneration uint64, on string) error {
	prev := e.loadStatus()
	st := loadStatus{failures: prev.failures + 1, err: err, reloadGeneration: reloadGeneration}
	e.status.Store(&st)
	level := slog.LevelError
	if repeatsQuietly(on) && prev.err != nil && prev.err.Error() == err.Error() {
		level = slog.LevelDebug
	}
	msg := "loading a new snapshot failed; still serving the previous one"
	var gen uint64
	if s := e.snap.Load(); s != nil {
		gen = s.gen
	} else {
		msg = "loading a new snapshot failed; none is served yet"
	}
	e.opts.Logger.Log(context.Background(), level, msg, "on", on, "err", err, "generation", gen, "failures", st.failures)
	return err
}

// logReloaded logs a reload that published s, asked for by Reload,
// ReloadFor or Watch (on): the one "reloaded" line, with what an operator checks after a reload
// (what is served now, and what the load cost).
func (e *Engine) logReloaded(on string, s *snapshot) {
	var st Stats
	s.describe(&st)
	e.opts.Logger.Info("reloaded", "on", on, "generation", st.Generation, "model", st.ModelVersion, "tracks", st.Tracks, "indexed", st.Indexed,
		"read_under_lock", st.LoadRead.Round(time.Millisecond), "decode", st.LoadDecode.Round(time.Millisecond),
		"derive", st.LoadDerive.Round(time.Millisecond))
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
// follows has committed. Nothing stops it: the write's ctx asked for the
// write, which is done, and a stopped refresh would leave the engine
// serving a catalogue older than its own write until the next Reload.
func (e *Engine) refresh(db *storage.DB) {
	if e.snap.Load() == nil {
		return
	}
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	e.load(context.Background(), onRefresh, db, nil, nil)
}

// Reload loads a new snapshot if the database changed since the last one,
// and reports whether it did. Queries keep running on the old snapshot
// until the new one is complete, then switch atomically. When the load
// fails, the old snapshot keeps serving and the error is returned (and
// recorded in Stats); a database locked by a writer (ErrLocked) is not a
// failure, just a reason to try again later.
//
// ctx stops the load (seconds at 1M tracks) between its phases and every
// few thousand records within them: Reload then returns ctx's error,
// naming what the load was doing, and the old snapshot keeps serving. A
// stopped load is no failure: Stats does not count it. ctx also stops a
// wait for a writer's lock, which Options.LockTimeout bounds.
//
// The engine logs what came of it (Options.Logger), as ReloadFor does,
// naming "Reload" as what asked.
func (e *Engine) Reload(ctx context.Context) (bool, error) {
	return e.ReloadFor(ctx, onReload)
}

// ReloadFor is Reload on behalf of an asker who reads the answer in the
// log, such as an operator's signal: on names it ("SIGHUP") in the lines
// the reload writes, which are the only ones it needs. A reload that
// changed the snapshot is logged once, as "reloaded", with on, what is
// served now (generation, model, tracks, indexed) and what the load cost
// (read_under_lock, decode, derive); a failed one once, at error level
// even when it repeats the last failure, saying that the previous
// snapshot still serves. Neither ErrLocked nor a stop by ctx is logged:
// the caller gets them to act on. Reload and Watch's ticks write the same
// lines, naming "Reload" and "watch", but log a failure that repeats the
// last one at debug level.
func (e *Engine) ReloadFor(ctx context.Context, on string) (bool, error) {
	if err := checkCtx(ctx); err != nil {
		return false, fmt.Errorf("reload: %w", err)
	}
	s, err := e.reload(ctx, on)
	if s != nil {
		e.logReloaded(on, s)
	}
	return s != nil, err
}

// reload loads a new snapshot if the database changed since the last one,
// and returns the snapshot it published: nil when it published none
// (unchanged, or an error). on names what asked for it.
func (e *Engine) reload(ctx context.Context, on string) (*snapshot, error) {
	if e == nil {
		return nil, errNotOpened
	}
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	if err := checkStop(ctx, "starting"); err != nil {
		return nil, fmt.Errorf("load %s: %w", e.path, err)
	}
	if e.db != nil {
		// A ReadOnly engine reads the file it holds, whatever the path
		// names now: no stamp describes it.
		return e.reloadFrom(ctx, on, e.db, nil, fileStamp{})
	}
	if e.writing != nil {
		// This engine's own write holds the file; the stamp is kept only
		// if the path still names it (fileStamp.of).
		return e.reloadFrom(ctx, on, e.writing, nil, stampOf(e.path))
	}
	// Unchanged since the served snapshot was loaded: nothing to read,
	// unless the last load failed, which only an open that succeeds
	// clears (a file moved away and back unchanged). The stamp is taken
	// before the open: see loadFound.
	found := stampOf(e.path)
	if e.snap.Load() != nil && found.unchanged(e.stamp) && e.loadStatus().err == nil {
		return nil, nil
	}
	db, err := e.openDB(ctx, true)
	if errors.Is(err, ErrLocked) || stopped(ctx, err) {
		return nil, err
	}
	if err != nil {
		return nil, e.loadFailed(err, 0, on)
	}
	var once sync.Once
	release := func() { once.Do(func() { db.Close() }) }
	defer release()
	return e.reloadFrom(ctx, on, db, release, found)
}

// loadError is err, the failure of a load of e's file, said to be one:
// naming the file, unless err begins with it as storage's errors (such as
// ErrDamaged's) do, and would then repeat it.
func (e *Engine) loadError(err error) error {
	if strings.HasPrefix(err.Error(), e.path+": ") {
		return fmt.Errorf("load: %w", err)
	}
	return fmt.Errorf("load %s: %w", e.path, err)
}

// reloadFrom loads from db unless the served snapshot is of its file and
// generation already, and returns the snapshot it published, if any;
// release, when set, releases db (see load), and found is a stamp of the
// path (loadFound), recorded only if it names db's file. The caller holds
// loadMu.
//
// The generation alone does not tell: it counts the commits to one file,
// and another file renamed into place (a restored backup, then a write)
// may have reached the served one's. So a file that is not the served
// snapshot's (sameFile) is loaded whatever its generation. The file's
// identity and generation together are the smallest rule that tells
// every replacement by rename, which is how a backup or a repaired copy
// is put in place whole; size and mtime tell less (a copy keeps both
// with cp -p) and change without a commit (a writer's open dropping what
// a failed import left), and no id in the meta bucket tells a file from
// its backup. A ReadOnly engine reads the one file it holds (e.db),
// whatever the path names now.
func (e *Engine) reloadFrom(ctx context.Context, on string, db *storage.DB, release func(), found fileStamp) (*snapshot, error) {
	old := e.snap.Load()
	g, err := db.Generation()
	if err != nil {
		return nil, e.loadFailed(e.loadError(err), 0, on)
	}
	if old == nil || g != old.gen || !sameFile(db.File(), old.file) {
		if err := e.loadFound(ctx, on, db, nil, release, found); err != nil {
			return nil, err
		}
		return e.snap.Load(), nil
	}
	if e.db == nil {
		// Touched but unchanged: remember the stamp to skip the next
		// open. It is the one taken before the open, so that a commit
		// since (after db is released) changes it again.
		e.stamp = found.of(db.File())
		e.clearLoadError()
	}
	return nil, nil
}

// Watch calls ReloadFor(ctx, "watch") every interval until ctx is done or
// the engine is closed: ReloadFor logs what came of each tick that
// changed or failed. A writer holding the lock just means "try again next
// tick". A nil ctx, or an interval that is not positive, returns at once.
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	if e.checkOpen() != nil {
		return // no engine to watch for: nil, zero, or closed
	}
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
			if _, err := e.ReloadFor(ctx, onWatch); errors.Is(err, ErrClosed) {
				return
			}
		}
	}
}

// Stats describes the snapshot being served and how loading went. It
// does not wait: before the first load has published a snapshot, it
// describes none (no tracks, no model) and does not start the load, so
// that a metrics scrape or a status page never waits for one.
func (e *Engine) Stats() Stats {
	if e == nil {
		return Stats{}
	}
	ls := e.loadStatus()
	st := Stats{ReloadFailures: ls.failures, ReloadError: ls.err}
	if ls.err != nil {
		st.ReloadGeneration = ls.reloadGeneration
	}
	if s := e.snap.Load(); s != nil {
		s.describe(&st)
	}
	return st
}

// describe sets the fields of st that describe s: what it serves and what
// its load cost.
func (s *snapshot) describe(st *Stats) {
	st.Tracks, st.Generation, st.Loaded = s.byID.len(), s.gen, s.times.loaded
	st.LoadRead, st.LoadDecode, st.LoadDerive = s.times.read, s.times.decode, s.times.derive
	if s.model != nil {
		st.ModelVersion = s.modelInfo.Version
	}
	switch {
	case s.graph != nil:
		st.Indexed = s.graph.Len()
		st.HugeTLB = s.graph.Stats().PoolBytes
	case s.vectorSource != nil && s.hasIndex():
		// The source holds the vectors the index was built with: as
		// many as its metadata counted (Publish sends them all).
		st.Indexed = s.indexMeta.Tracks
	}
}

// Ready reports whether the engine can answer similarity queries: nil,
// ErrNoModel or ErrNoIndex, or the error of a first load that failed. As
// a query does, it runs an attached engine's first load when none has,
// and stops waiting for it (and for a VectorSource's answer) when ctx
// ends.
func (e *Engine) Ready(ctx context.Context) error {
	if err := checkCtx(ctx); err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	s, err := e.ready(ctx)
	if err != nil {
		return err
	}
	return s.readySource(ctx)
}

// Prepare returns once the served snapshot's track-search and filter
// indexes are built. The first load publishes its snapshot first and
// builds them in the background, so that it serves at once; a server that
// calls Prepare before it takes queries keeps those builds (hundreds of MB
// of short-lived memory at 1M tracks) from competing with its first
// queries for the CPU and the collector. A later load, which replaces a
// served snapshot, builds them before the swap. Prepare takes no ctx: the
// first load has started the builds on goroutines of their own, so a
// caller that must be able to stop meanwhile (serve) waits for Prepare on
// a goroutine and leaves it there, and the builds end by themselves.
func (e *Engine) Prepare() {
	if e == nil {
		return
	}
	if s := e.snap.Load(); s != nil {
		s.buildDerived()
	}
}

// current is currentContext for Embed, which has no ctx to stop the first
// load with.
func (e *Engine) current() (*snapshot, error) { return e.currentContext(context.Background()) }

// ready returns the published snapshot (currentContext) when it can answer
// similarity queries, else why not: ErrNoModel or ErrNoIndex.
func (e *Engine) ready(ctx context.Context) (*snapshot, error) {
	s, err := e.currentContext(ctx)
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

// currentContext returns the published snapshot. An attached engine loads
// it on first use (waitFirstLoad), so commands that never query (import,
// train) never pay for decoding the index; ctx stops the wait, and when
// the load fails, currentContext returns its error.
func (e *Engine) currentContext(ctx context.Context) (*snapshot, error) {
	if e == nil {
		return nil, errNotOpened
	}
	if s := e.snap.Load(); s != nil {
		return s, nil
	}
	return e.waitFirstLoad(ctx)
}

// waitFirstLoad waits for the first load in flight (firstLoad), starting
// it if none is, and returns what came of it. When ctx ends first, it
// returns ctx's error at once, even while the load waits for loadMu (a
// Reload, a write), and leaves the load to the queries still waiting for
// it.
func (e *Engine) waitFirstLoad(ctx context.Context) (*snapshot, error) {
	if err := e.checkOpen(); err != nil {
		return nil, err // no load to start after Close
	}
	if err := checkStop(ctx, "starting"); err != nil {
		return nil, fmt.Errorf("load %s: %w", e.path, err)
	}
	f := e.joinFirstLoad()
	select {
	case <-f.done:
		return f.s, f.err
	case <-ctx.Done():
		e.leaveFirstLoad(f)
		return nil, fmt.Errorf("load %s: %w", e.path, checkStop(ctx, "waiting for the first load"))
	}
}

// firstLoad is an attached engine's first load, shared by the queries
// waiting for it (waitFirstLoad). It runs on a goroutine of its own,
// under a ctx of its own that ends when the last of its waiters stops
// waiting: one query's ctx neither stops the load that others wait for
// nor hands them its error, and a load that nobody waits for any more
// stops (a stop, no failure: see the discipline above).
type firstLoad struct {
	done chan struct{} // closed once s and err are set
	s    *snapshot     // the snapshot published; nil when err is set
	err  error
	// waiters are the queries waiting for done; guarded by
	// firstLoads.mu. cancel ends the load's ctx.
	waiters int
	cancel  context.CancelFunc
}

// firstLoads is an Engine's first load in flight, if any (Engine.first).
type firstLoads struct {
	mu     sync.Mutex // taken only while no snapshot is published
	flight *firstLoad // nil when no first load runs, or none has waiters
}

// joinFirstLoad returns the first load in flight, starting one if none
// is, with the caller counted among its waiters.
func (e *Engine) joinFirstLoad() *firstLoad {
	e.first.mu.Lock()
	defer e.first.mu.Unlock()
	f := e.first.flight
	if f == nil {
		ctx, cancel := context.WithCancel(context.Background())
		f = &firstLoad{done: make(chan struct{}), cancel: cancel}
		e.first.flight = f
		go e.runFirstLoad(ctx, f)
	}
	f.waiters++
	return f
}

// leaveFirstLoad takes a waiter whose ctx ended off f; the last one to
// leave stops the load, and the next query starts a new one.
func (e *Engine) leaveFirstLoad(f *firstLoad) {
	e.first.mu.Lock()
	defer e.first.mu.Unlock()
	if f.waiters--; f.waiters == 0 && e.first.flight == f {
		e.first.flight = nil
		f.cancel()
	}
}

// runFirstLoad runs f's load and hands its outcome to f's waiters.
func (e *Engine) runFirstLoad(ctx context.Context, f *firstLoad) {
	f.s, f.err = e.loadFirst(ctx)
	e.first.mu.Lock()
	if e.first.flight == f {
		e.first.flight = nil
	}
	e.first.mu.Unlock()
	f.cancel()
	close(f.done)
}

// loadFirst loads the snapshot of an engine that has none, unless another
// load published one meanwhile, and returns it.
func (e *Engine) loadFirst(ctx context.Context) (*snapshot, error) {
	if _, err := e.reload(ctx, onQuery); err != nil {
		return nil, err
	}
	if s := e.snap.Load(); s != nil {
		return s, nil
	}
	// A successful reload publishes: only a Close since takes it away.
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s: no snapshot loaded", e.path)
}

// Model describes the model being served. An attached engine that has not
// loaded its snapshot yet loads it first, and ctx stops the wait for that
// load, as it does a query's.
func (e *Engine) Model(ctx context.Context) (ModelInfo, error) {
	if err := checkCtx(ctx); err != nil {
		return ModelInfo{}, fmt.Errorf("model: %w", err)
	}
	s, err := e.currentContext(ctx)
	if err != nil {
		return ModelInfo{}, err
	}
	if s.model == nil {
		return ModelInfo{}, ErrNoModel
	}
	return s.modelInfo, nil
}

// continues reports whether s was read from the file keep was read from
// (sameFile), at keep's generation or a later one: then what keep holds
// of the file is s's too wherever the counters and ids that describe it
// are the same (the catalogue sequence, the interaction counters, the
// index id), as within one file they only ever grow, each write moving
// them on. Another file renamed into place (a restored backup, a damaged
// copy), or this one written back to an earlier generation (a backup
// copied over it), may hold anything under the same counters and ids, so
// nothing of keep is reused. Only a file rewritten in place at the same
// or a later generation goes unseen: no stamp tells its bytes from a
// commit's. False for nil keep, and for a file of unknown identity.
func (s *snapshot) continues(keep *snapshot) bool {
	return keep != nil && sameFile(s.file, keep.file) && s.gen >= keep.gen
}

// readSnapshot copies a complete snapshot out of one read transaction:
// the catalogue's records, the users' interactions, the current index's
// arrays and the model that built it. What it returns refers to no byte
// of the file, so the caller may release the file before decode finishes
// it: the catalogue's records are copied but not decoded, graph is the
// index read but not checked (nil when there is none to check), and read
// the interactions not yet ordered (nil when s reuses keep's histories).
// file is the file tx reads (snapshot.file). built, when set, is the
// current index already in memory (Reindex has just written it): it is
// used instead of reading the stored copy. keep, when set, is a previous
// snapshot; when s continues it (the same file, a generation no earlier),
// keep's graph is reused if the current index is still the one it was
// read from (a catalogue change does not touch the index), and its
// histories if the file's interactions are still the ones they hold.
// ctx stops it (checkStop).
func readSnapshot(ctx context.Context, tx *storage.Tx, file os.FileInfo, built *index.HNSW, keep *snapshot, opts *Options) (s *snapshot, graph *index.Unchecked, read *historiesRead, err error) {
	s = &snapshot{gen: tx.Generation(), file: file, byID: newIDTable(tx.Counts().Tracks), catalogSeq: tx.CatalogSeq(), vectorSource: opts.VectorSource}
	if !s.continues(keep) {
		keep = nil // another file's, or an earlier generation's: reuse nothing
	}
	if err := s.readTracks(ctx, tx); err != nil {
		return nil, nil, nil, err
	}
	if keep != nil && keep.histories.holds(tx.Counts()) {
		s.histories = keep.histories
	} else if read, err = readHistories(ctx, tx); err != nil {
		return nil, nil, nil, err
	}
	graph, err = s.readIndex(ctx, tx, built, keep, &index.ReadOptions{HugeTLB: opts.HugeTLB})
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
	if err := checkStop(ctx, "reading the model"); err != nil {
		return nil, nil, nil, err
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
// from the file and returned unchecked. No index is not an error. ctx
// stops the read (stopReader).
func (s *snapshot) readIndex(ctx context.Context, tx *storage.Tx, built *index.HNSW, keep *snapshot, ro *index.ReadOptions) (*index.Unchecked, error) {
	var graph *index.Unchecked
	err := tx.ReadIndex(func(ii storage.IndexInfo, r io.Reader) error {
		meta, err := decodeIndexMeta(ii.Meta)
		if err != nil {
			return err
		}
		s.indexMeta, s.indexID = meta, ii.ID
		if s.vectorSource != nil {
			return nil // the source holds the vectors: no graph in memory
		}
		if built == nil && keep != nil && keep.graph != nil && keep.indexID == ii.ID {
			built = keep.graph
		}
		if built != nil {
			s.graph = built
			return nil
		}
		if err := checkStop(ctx, "reading the index"); err != nil {
			return err
		}
		if lr, ok := r.(lenReader); ok && ctx.Done() != nil {
			r = stopReader{ctx, lr}
		}
		graph, err = index.ReadUnchecked(r, ro)
		switch {
		case stopped(ctx, err):
			return err // not damage: no rebuild to advise
		case err != nil:
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
		s.mapLayout = keep.mapLayout
		return graph, nil
	}
	s.mapLayout, err = loadMapLayout(tx)
	return graph, err
}

// indexDamaged is the error of a stored index that fails to read or check.
func indexDamaged(err error) error { return &IndexDamagedError{Err: err} }

// readTracks copies the tracks bucket's records into s's catalog, in id
// order; decodeTracks decodes them once the file is released. ctx stops
// it, checked every stopEvery records. A record whose node is beyond the
// catalogue or another track's is damage (storage.ErrDamaged: the
// transaction names the file and the remedy); the ids, which came from
// the file, are quoted and clipped.
func (s *snapshot) readTracks(ctx context.Context, tx *storage.Tx) error {
	n := int(tx.NodeLimit())
	s.cat = newCatalog(n)
	w := catalogWriter{c: &s.cat}
	read := 0
	return tx.ForEachTrack(func(en storage.TrackEntry) error {
		if read++; read%stopEvery == 0 {
			if err := checkStop(ctx, "reading the tracks"); err != nil {
				return err
			}
		}
		if int(en.Node) >= n {
			return fmt.Errorf("%w: track %q: node %d beyond the catalogue's %d", storage.ErrDamaged, clip(en.ID), en.Node, n)
		}
		if s.cat.holdsTrack(en.Node) {
			return fmt.Errorf("%w: track %q: node %d is track %q's too", storage.ErrDamaged, clip(en.ID), en.Node, clip(string(s.cat.id(en.Node))))
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
// (storage.Protect), as it is inside a transaction. ctx stops the
// decoding workers (decodeTracks); the graph's check and the histories'
// order cannot be stopped, so a stop returns without waiting for them
// (s.running, which the next load waits for), and they finish into s,
// which is never published.
func (s *snapshot) decode(ctx context.Context, path string, graph *index.Unchecked, read *historiesRead) (pops []uint8, err error) {
	if err := checkStop(ctx, "decoding the tracks"); err != nil {
		return nil, err
	}
	var graphErr error
	if graph != nil {
		s.running.Go(func() {
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
		s.running.Go(func() { s.histories, historiesErr = read.order() })
	}
	pops, err = s.decodeTracks(ctx, path)
	if stopped(ctx, err) {
		return nil, err
	}
	s.running.Wait()
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
// workers decode and hash blocks of nodes (decoding is most of the
// work). ctx stops the workers between blocks.
func (s *snapshot) decodeTracks(ctx context.Context, path string) ([]uint8, error) {
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
			errs[w] = storage.Protect(path, "decoding the tracks", func() error { return s.decodeBlocks(ctx, &next, pops, &found[w]) })
			if errs[w] != nil {
				next.Store(int64(n)) // the others stop too
			}
		})
	}
	for node := range uint32(n) {
		if s.cat.holdsTrack(node) {
			s.byID.insert(&s.cat, node)
		}
	}
	wg.Wait()
	if err := checkStop(ctx, "decoding the tracks"); err != nil {
		return nil, err // once, not once per worker that stopped
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.packArtistKeys(n, found)
	s.indexSpotifyIDs(found)
	return pops, nil
}

// decodeBlock is how many nodes a decoding worker takes at a time: it
// checks its ctx once a block.
const decodeBlock = stopEvery

// decodeBlocks is one decoding worker: it decodes and hashes the records
// of the blocks of nodes it takes from next into s's keys and pops,
// appending artist keys and Spotify ids to found. It stops at the first
// corrupt record and returns its error, or before a block once ctx is
// done.
func (s *snapshot) decodeBlocks(ctx context.Context, next *atomic.Int64, pops []uint8, found *workerFinds) error {
	n := int64(s.cat.len())
	var t Track
	for {
		first := next.Add(decodeBlock) - decodeBlock
		if first >= n {
			return nil
		}
		if err := checkStop(ctx, "decoding the tracks"); err != nil {
			return err
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
