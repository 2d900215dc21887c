package soundalike

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audotics/soundalike/storage"
)

// openPutEngine opens an engine on a new database file and returns it with
// a function that imports one track of that id and name.
func openPutEngine(t *testing.T, file string) (*Engine, func(id TrackID, name string)) {
	t.Helper()
	eng, err := Open(filepath.Join(t.TempDir(), file), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	put := func(id TrackID, name string) {
		t.Helper()
		err := eng.Import(t.Context(), func(tx *ImportTx) error {
			_, _, err := tx.PutTrack(&Track{ID: id, Name: name, Features: Features{
				Danceability: 0.5, Energy: 0.5, Key: 1, Loudness: -6, Tempo: 120, Valence: 0.5}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return eng, put
}

// loadAgain loads a new snapshot of eng's file, of the same generation, as
// a reload of a changed file does.
func loadAgain(t *testing.T, eng *Engine) {
	t.Helper()
	db, err := storage.Open(eng.Path(), &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng.loadMu.Lock()
	defer eng.loadMu.Unlock()
	if err := eng.load(t.Context(), onReload, db, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestImportRefreshesLoadedSnapshot: after an import, an engine that has
// loaded its snapshot holds a fresh one at once (the next query does not
// reload), while an engine that has not served stays lazy.
func TestImportRefreshesLoadedSnapshot(t *testing.T) {
	eng, put := openPutEngine(t, "r.db")
	put("a", "a")
	if eng.snap.Load() != nil {
		t.Fatal("an engine that has not served loaded a snapshot on import")
	}
	mustLoad(t, eng)
	if st := eng.Stats(); st.Tracks != 1 {
		t.Fatalf("Stats = %+v, want 1 track", st)
	}
	put("b", "b")
	s := eng.snap.Load()
	if s == nil || s.byID.len() != 2 {
		t.Fatalf("snapshot after the import = %v, want one already holding both tracks", s)
	}
}

// TestFailedRefreshKeepsSnapshot: when the refresh after an import meets a
// corrupt record, the import stands, the engine keeps its snapshot, and the
// failure is recorded in Stats; it never serves nil.
func TestFailedRefreshKeepsSnapshot(t *testing.T) {
	ctx := t.Context()
	eng, err := Open(filepath.Join(t.TempDir(), "r.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	put := func(id TrackID) error {
		return eng.Import(ctx, func(tx *ImportTx) error {
			_, _, err := tx.PutTrack(&Track{ID: id, Name: string(id), Features: Features{
				Danceability: 0.5, Energy: 0.5, Key: 1, Loudness: -6, Tempo: 120, Valence: 0.5}})
			return err
		})
	}
	for _, id := range []TrackID{"a", "b"} {
		if err := put(id); err != nil {
			t.Fatal(err)
		}
	}
	mustLoad(t, eng)
	served := eng.Stats()
	// A corrupt record written below the engine, then an import.
	db, err := storage.Open(eng.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *storage.Tx) error {
		_, _, _, err := tx.PutTrack("b", []byte{trackCodecVersion, 1, 2})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := put("c"); err != nil {
		t.Fatalf("Import = %v, want nil: its write committed; only the refresh failed", err)
	}
	if s := eng.snap.Load(); s == nil || s.gen != served.Generation {
		t.Fatalf("snapshot after a failed refresh = %v, want the previous one (generation %d)", s, served.Generation)
	}
	st := eng.Stats()
	if st.ReloadFailures != 1 || st.ReloadError == nil || !strings.Contains(st.ReloadError.Error(), `track b`) {
		t.Errorf("Stats = %+v, want 1 failure naming track b", st)
	}
	if tr, err := eng.Track(ctx, "b"); err != nil || tr.Name != "b" {
		t.Errorf("Track(b) = %+v, %v; want the previous snapshot's track", tr, err)
	}
}

// TestReloadReusesWordIndex: a new snapshot of an unchanged catalogue (a
// new model or index) keeps the previous snapshot's track-search index;
// one after a track write builds a new one that finds the new track.
func TestReloadReusesWordIndex(t *testing.T) {
	ctx := t.Context()
	eng, err := Open(filepath.Join(t.TempDir(), "w.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	put := func(id TrackID) {
		t.Helper()
		err := eng.Import(ctx, func(tx *ImportTx) error {
			_, _, err := tx.PutTrack(&Track{ID: id, Name: "song " + string(id), Features: Features{
				Danceability: 0.5, Energy: 0.5, Key: 1, Loudness: -6, Tempo: 120, Valence: 0.5}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("a")
	mustLoad(t, eng)
	first := eng.snap.Load()
	loadAgain(t, eng)
	second := eng.snap.Load()
	if second == first || second.words() != first.words() {
		t.Fatalf("reload of an unchanged catalogue: snapshot %p → %p, word index %p → %p, want a new snapshot with the same index",
			first, second, first.words(), second.words())
	}
	put("b")
	third := eng.snap.Load()
	if third.words() == second.words() {
		t.Fatal("the snapshot after a track write kept the old word index")
	}
	got, err := eng.SearchTracks(ctx, "song b", 5)
	if err != nil || len(got) != 1 || got[0].ID != "b" {
		t.Fatalf("SearchTracks(song b) = %v, %v, want track b", got, err)
	}
}

// TestReloadReleasesTheOldSnapshot: a reload of an unchanged catalogue
// reuses the previous snapshot's word index and facets, and neither holds
// that snapshot, so the collector frees it (at 1M tracks, hundreds of
// megabytes); the reused facets' artist lists are the new snapshot's.
func TestReloadReleasesTheOldSnapshot(t *testing.T) {
	eng, _ := openPutEngine(t, "f.db")
	err := eng.Import(t.Context(), func(tx *ImportTx) error {
		_, _, err := tx.PutTrack(&Track{ID: "a", Name: "song a", Artists: []string{"Alpha"}, Features: Features{
			Danceability: 0.5, Energy: 0.5, Key: 1, Loudness: -6, Tempo: 120, Valence: 0.5}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustLoad(t, eng)
	eng.Prepare() // builds its word index and facets
	first := eng.snap.Load()
	fa := first.facets()
	freed := make(chan struct{})
	runtime.AddCleanup(first, func(ch chan struct{}) { close(ch) }, freed)
	first = nil

	loadAgain(t, eng)
	second := eng.snap.Load()
	if second.facets() != fa {
		t.Fatal("the reload of an unchanged catalogue built new facets, want the previous snapshot's")
	}
	deadline := time.Now().Add(10 * time.Second)
	for released := false; !released; {
		runtime.GC()
		select {
		case <-freed:
			released = true
		case <-time.After(10 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("10 s after the reload the previous snapshot is still reachable")
			}
		}
	}
	node, err := second.resolve("a")
	if err != nil {
		t.Fatal(err)
	}
	if got := fa.artistNodes(second)[artistKeyOf("Alpha")]; !slices.Equal(got, []uint32{node}) {
		t.Errorf("the reused facets' nodes of artist Alpha = %v, want track a's [%d]", got, node)
	}
}

// TestPrepareBuildsDerivedIndexes: Prepare waits for the track search's
// word index and the filters' facets of the served snapshot, and does
// nothing before a snapshot is loaded.
func TestPrepareBuildsDerivedIndexes(t *testing.T) {
	ctx := t.Context()
	eng, put := openPutEngine(t, "p.db")
	eng.Prepare() // nothing loaded yet: returns at once
	put("p1", "Prepared")
	s, err := eng.current()
	if err != nil {
		t.Fatal(err)
	}
	var nWords, nFacets int
	w, f := s.words, s.facets
	s.words = func() *wordIndex { nWords++; return w() }
	s.facets = func() *facets { nFacets++; return f() }
	eng.Prepare()
	if nWords != 1 || nFacets != 1 {
		t.Errorf("Prepare asked for the word index %d times and the facets %d times, want each once", nWords, nFacets)
	}
	if got, err := eng.SearchTracks(ctx, "prepared", 5); err != nil || len(got) != 1 {
		t.Errorf("SearchTracks after Prepare = %v, %v; want the one track", got, err)
	}
}

// TestReloadBuildsDerivedBeforeSwap: a load that replaces a served
// snapshot builds the new one's track-search and filter indexes while the
// old one still serves, so that no query after the swap waits for them.
func TestReloadBuildsDerivedBeforeSwap(t *testing.T) {
	ctx := t.Context()
	type build struct{ served, built uint64 } // generations
	var (
		mu     sync.Mutex
		builds []build
	)
	eng, put := openPutEngine(t, "swap.db")
	hook := func(s *snapshot) {
		mu.Lock()
		defer mu.Unlock()
		builds = append(builds, build{eng.snap.Load().gen, s.gen})
	}
	testHookBuildDerived.Store(&hook)
	t.Cleanup(func() { testHookBuildDerived.Store(nil) })
	put("s1", "First")
	if _, err := eng.current(); err != nil { // the first load: serves at once
		t.Fatal(err)
	}
	eng.Prepare()
	put("s2", "Second") // a served engine reloads after the write
	gen := eng.snap.Load().gen
	mu.Lock()
	seen := slices.Clone(builds)
	mu.Unlock()
	i := slices.IndexFunc(seen, func(b build) bool { return b.built == gen })
	switch {
	case i < 0:
		t.Fatalf("no build of generation %d's derived indexes started (builds %v)", gen, seen)
	case seen[i].served == gen:
		t.Errorf("generation %d was served when its derived indexes started to build: want the previous one serving", gen)
	}
	if got, err := eng.SearchTracks(ctx, "second", 5); err != nil || len(got) != 1 {
		t.Errorf("SearchTracks after the reload = %v, %v; want the new track", got, err)
	}
	if d := eng.Stats().LoadDerive; d <= 0 {
		t.Errorf("Stats().LoadDerive = %v after a reload: want the time its builds took", d)
	}
}

// TestReloadStopsDuringDerive: a reload whose ctx ends while it builds the
// new snapshot's track-search and filter indexes (seconds at 1M tracks)
// returns at once, without waiting for the builds, and publishes nothing.
func TestReloadStopsDuringDerive(t *testing.T) {
	eng, put := openPutEngine(t, "stop.db")
	put("s1", "First")
	if _, err := eng.current(); err != nil {
		t.Fatal(err)
	}
	eng.Prepare()
	served := eng.snap.Load()
	// Another process's write: this engine does not refresh after it.
	w, err := Open(eng.Path(), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Import(t.Context(), func(tx *ImportTx) error {
		_, _, err := tx.PutTrack(&Track{ID: "s2", Name: "Second", Features: Features{Danceability: 0.5, Energy: 0.5, Tempo: 120}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	w.Close()

	ctx, cancel := context.WithCancel(t.Context())
	builds := make(chan struct{}) // closed: the builds may go on
	var entered atomic.Int32
	hook := func(*snapshot) {
		if entered.Add(1) == 1 {
			cancel()
			<-builds
		}
	}
	testHookBuildDerived.Store(&hook)
	var release sync.Once
	t.Cleanup(func() { testHookBuildDerived.Store(nil); release.Do(func() { close(builds) }) })
	type result struct {
		changed bool
		err     error
	}
	done := make(chan result, 1)
	go func() { changed, err := eng.Reload(ctx); done <- result{changed, err} }()
	select {
	case r := <-done:
		if r.changed || !errors.Is(r.err, context.Canceled) || !strings.Contains(r.err.Error(), "stopped while building the track search and filter indexes") {
			t.Errorf("Reload stopped while it builds = %v, %v; want context.Canceled saying so", r.changed, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Reload stopped while it builds still waits for the builds 10s later")
	}
	if s := eng.snap.Load(); s != served || eng.Stats().ReloadFailures != 0 {
		t.Errorf("after a Reload stopped while it builds: generation %d served (want %d), %d failures (want 0)", s.gen, served.gen, eng.Stats().ReloadFailures)
	}

	// The next loads wait for the stopped one's builds rather than start
	// their own beside them: stopped loads never pile up snapshots.
	for range 3 {
		short, stop := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := eng.Reload(short)
		stop()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for the work of a stopped load to end") {
			t.Errorf("Reload while a stopped load's builds run = %v; want it to wait for them until its deadline", err)
		}
	}
	if n := entered.Load(); n != 1 {
		t.Errorf("%d derived builds began while the stopped load's ran; want only that one", n)
	}
	release.Do(func() { close(builds) })
	if changed, err := eng.Reload(t.Context()); !changed || err != nil {
		t.Errorf("Reload once the stopped load's builds ended = %v, %v; want the new snapshot", changed, err)
	}
}

// TestFirstLoadSharedByItsQueries: the queries that an attached engine
// gets before its first snapshot share one load. One whose ctx ends
// returns at once with ctx's error, even while the load waits for loadMu
// (held here, as a Reload or a write holds it); the load goes on for the
// queries still waiting, which get its snapshot. A load that no query
// waits for any more stops, which is no failure, and the next query
// starts another.
func TestFirstLoadSharedByItsQueries(t *testing.T) {
	eng, put := openPutEngine(t, "first.db")
	put("s1", "First")
	search := func(eng *Engine, ctx context.Context) error {
		_, err := eng.SearchTracks(ctx, "first", 5)
		return err
	}
	// stopWaiting runs a search on eng, whose loadMu the caller holds,
	// calls stop once it waits, ends its ctx and returns its error.
	stopWaiting := func(eng *Engine, stop func()) error {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		stopped := make(chan error, 1)
		go func() { stopped <- search(eng, ctx) }()
		stop()
		cancel()
		select {
		case err := <-stopped:
			return err
		case <-time.After(10 * time.Second):
			eng.loadMu.Unlock()
			t.Fatal("a search whose ctx ended while the first load waited for loadMu still waits 10s later")
			return nil
		}
	}
	wantStopped := func(err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped while waiting for the first load") {
			t.Errorf("a search whose ctx ended while it waited for the first load = %v, want context.Canceled saying so", err)
		}
	}
	// inFlight returns eng's first load once one has a waiter.
	inFlight := func(eng *Engine) *firstLoad {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			eng.first.mu.Lock()
			f := eng.first.flight
			eng.first.mu.Unlock()
			if f != nil {
				return f
			}
		}
		eng.loadMu.Unlock()
		t.Fatal("no first load started 10s after a query")
		return nil
	}

	eng.loadMu.Lock()
	waiting := make(chan error, 1)
	go func() { waiting <- search(eng, t.Context()) }()
	wantStopped(stopWaiting(eng, func() { time.Sleep(20 * time.Millisecond) }))
	eng.loadMu.Unlock()
	if err := <-waiting; err != nil {
		t.Errorf("a search waiting for the first load while another stopped waiting = %v, want its answer", err)
	}

	// A second engine on the file, whose first load one query waits for.
	lone, err := Open(eng.Path(), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lone.Close()
	lone.loadMu.Lock()
	var abandoned *firstLoad
	wantStopped(stopWaiting(lone, func() { abandoned = inFlight(lone) }))
	lone.first.mu.Lock()
	next := lone.first.flight
	lone.first.mu.Unlock()
	lone.loadMu.Unlock()
	if next != nil {
		t.Errorf("a first load in flight after its only query stopped waiting: want none, the next query starting one")
	}
	<-abandoned.done
	if !errors.Is(abandoned.err, context.Canceled) || lone.snap.Load() != nil {
		t.Errorf("a first load that nobody waits for = %v, published %v; want it stopped, nothing published", abandoned.err, lone.snap.Load() != nil)
	}
	if err := search(lone, t.Context()); err != nil {
		t.Errorf("a search after a first load stopped = %v, want its answer", err)
	}
	if st := lone.Stats(); st.ReloadFailures != 0 {
		t.Errorf("Stats after a stopped first load and a whole one = %+v, want no failure counted", st)
	}
}

// mustLoad runs eng's first load (its snapshot may serve no queries yet:
// no model).
func mustLoad(t *testing.T, eng *Engine) {
	t.Helper()
	if _, err := eng.current(); err != nil {
		t.Fatal(err)
	}
}
