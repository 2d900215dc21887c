package soundalike_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/syncbuf"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
)

// setRecord overwrites the stored value of track id, below the engine, as
// a disk error or a bug in another writer would. It returns the old value.
func setRecord(t *testing.T, path string, id string, value func(old []byte) []byte) []byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var old []byte
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("tracks"))
		old = append([]byte(nil), b.Get([]byte(id))...)
		if old == nil {
			t.Fatalf("no stored track %s", id)
		}
		return b.Put([]byte(id), value(old))
	})
	if err != nil {
		t.Fatal(err)
	}
	return old
}

// importTrack adds a track through a short-lived writer, as a batch job
// beside a server does.
func importTrack(t *testing.T, path string, i int) soundalike.TrackID {
	t.Helper()
	w, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tr := synth.SmallTrack(rand.New(rand.NewPCG(uint64(i), 5)), i)
	if err := w.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(tr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tr.ID
}

// TestFailedReloadKeepsServing: a serving engine whose reload meets a
// corrupt record keeps answering from the snapshot it has, and the failure
// is visible: returned by Reload, in Stats and in /metrics. Once the
// record is repaired, the next reload succeeds and clears the error.
func TestFailedReloadKeepsServing(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "serve.db")
	writer, _ := fixture(t, path, 200)
	writer.Close()

	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	before, err := eng.Similar(ctx, "t0005", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	served := eng.Stats()
	h := server.New(eng, nil)

	// A new generation, with one record corrupt (an unknown codec version).
	added := importTrack(t, path, 7001)
	good := setRecord(t, path, "t0010", func(old []byte) []byte {
		bad := append([]byte(nil), old...)
		bad[12] = 99 // after [seq u64][node u32]: the track's codec version
		return bad
	})

	changed, err := eng.Reload(ctx)
	if err == nil || changed || !strings.Contains(err.Error(), "t0010") || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Reload over a corrupt record = %v, %v; want an error naming the track and the bad version", changed, err)
	}
	st := eng.Stats()
	if st.ReloadFailures != 1 || st.ReloadError == nil || st.ReloadError.Error() != err.Error() {
		t.Errorf("Stats after the failure: failures %d, error %v; want 1 and Reload's error", st.ReloadFailures, st.ReloadError)
	}
	if st.Generation != served.Generation || st.Tracks != served.Tracks || !st.Loaded.Equal(served.Loaded) {
		t.Errorf("Stats after the failure = %+v, want the snapshot served before (%+v)", st, served)
	}
	after, err := eng.Similar(ctx, "t0005", 10, nil)
	if err != nil {
		t.Fatalf("Similar after a failed reload: %v, want the previous snapshot's answer", err)
	}
	if after.Generation != before.Generation || len(after.Neighbors) != len(before.Neighbors) || after.Neighbors[0].ID != before.Neighbors[0].ID {
		t.Errorf("Similar after a failed reload = gen %d %v, want the previous answer (gen %d %v)",
			after.Generation, after.Neighbors, before.Generation, before.Neighbors)
	}
	if _, err := eng.Track(ctx, added); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track(%s) of the failed generation: %v, want ErrNotFound (not served yet)", added, err)
	}
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "GET", target, nil))
		return w
	}
	if body := get("/metrics").Body.String(); !strings.Contains(body, "soundalike_reload_failures_total 1\n") {
		t.Errorf("GET /metrics lacks soundalike_reload_failures_total 1")
	}
	if w := get("/similar?track=t0005"); w.Code != 200 {
		t.Errorf("GET /similar after a failed reload = %d %s, want 200", w.Code, w.Body)
	}

	// Retried on the same damage, the failure is counted again but logged
	// as an error only once: the log says when it began.
	if _, err := eng.Reload(ctx); err == nil {
		t.Fatal("a second Reload over the corrupt record succeeded")
	}
	if n := strings.Count(logs.String(), "level=ERROR msg=\"loading a new snapshot failed"); n != 1 {
		t.Errorf("two reloads failing alike logged %d errors, want 1:\n%s", n, logs.String())
	}

	// Repaired by the next write: the reload succeeds and clears the error.
	setRecord(t, path, "t0010", func([]byte) []byte { return good })
	importTrack(t, path, 7002)
	if changed, err := eng.Reload(ctx); err != nil || !changed {
		t.Fatalf("Reload after the repair = %v, %v; want a change", changed, err)
	}
	st = eng.Stats()
	if st.ReloadFailures != 2 || st.ReloadError != nil || st.Generation <= served.Generation || !st.Loaded.After(served.Loaded) {
		t.Errorf("Stats after the repair = %+v, want a newer snapshot, 2 failures counted and no error", st)
	}
	if _, err := eng.Track(ctx, added); err != nil {
		t.Errorf("Track(%s) after the repair: %v", added, err)
	}
	if !strings.Contains(logs.String(), "msg=\"the database loads again") {
		t.Errorf("the log does not say the failure is over:\n%s", logs.String())
	}
}

// TestFirstLoadFailureIsReported: an attached engine whose first load
// fails answers queries with that error, never with ErrNoModel, and its
// log does not claim a previous snapshot still serves.
func TestFirstLoadFailureIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "first.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	setRecord(t, path, "t0003", func(old []byte) []byte { return old[:14] })
	var logs syncbuf.Buffer
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	_, err = eng.Similar(t.Context(), "t0001", 5, nil)
	if err == nil || errors.Is(err, soundalike.ErrNoModel) || !strings.Contains(err.Error(), "t0003") {
		t.Errorf("Similar with a corrupt catalogue = %v, want the load's error naming t0003", err)
	}
	if err := eng.Ready(t.Context()); err == nil || errors.Is(err, soundalike.ErrNoModel) {
		t.Errorf("Ready = %v, want the load's error", err)
	}
	if st := eng.Stats(); st.ReloadFailures == 0 || st.ReloadError == nil {
		t.Errorf("Stats = %+v, want the failure recorded", st)
	}
	if got := logs.String(); strings.Contains(got, "still serving") || !strings.Contains(got, `level=ERROR msg="loading a new snapshot failed; none is served yet" on=query`) {
		t.Errorf("log of a failed first load:\n%s\nwant an error saying no snapshot is served yet", got)
	}
}

// stopCtx is a ctx that a load stops by itself: it is cancelled when the
// load asks it whether it is done (Err) for the stopAt-th time, so that a
// test can stop a load at each of the points where it looks in turn. With
// stopAt 0 it is never cancelled, and only counts.
type stopCtx struct {
	context.Context
	cancel context.CancelFunc
	stopAt int64
	asked  atomic.Int64
}

func newStopCtx(t *testing.T, stopAt int64) *stopCtx {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return &stopCtx{Context: ctx, cancel: cancel, stopAt: stopAt}
}

func (c *stopCtx) Err() error {
	if c.asked.Add(1) == c.stopAt {
		c.cancel()
	}
	return c.Context.Err()
}

// loadTestDB writes a database whose load takes a while (tenths of a
// second): a small fixture's model and index, then n more tracks, each
// played once. It returns the file's path.
func loadTestDB(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "load.db")
	w, _ := fixture(t, path, 500)
	err := w.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		var tr soundalike.Track
		for i := range n {
			synth.Track(1, i, &tr)
			if _, _, err := tx.PutTrack(&tr); err != nil {
				return err
			}
			in := soundalike.Interaction{User: fmt.Sprintf("u%03d", i%500), Track: tr.ID, Action: "play", Time: time.Unix(int64(i), 0)}
			if _, err := tx.PutInteraction(&in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	return path
}

// stoppedWhile returns what a load stopped by ctx said it was doing, or
// fails the test when err is not such a stop of the load of path.
func stoppedWhile(t *testing.T, err error, path string) string {
	t.Helper()
	_, doing, ok := strings.Cut(fmt.Sprint(err), "stopped while ")
	doing, _, _ = strings.Cut(doing, ":")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), path) || !ok {
		t.Fatalf("a load stopped by its ctx = %v, want context.Canceled naming %s and what it was doing", err, path)
	}
	return doing
}

// TestOpenContextStopsTheLoad: a Detached engine's load (seconds at 1M
// tracks) looks at OpenContext's ctx in every phase and every few
// thousand records, and stopped at any of those points returns ctx's
// error, naming the file and what it was doing, and no engine.
func TestOpenContextStopsTheLoad(t *testing.T) {
	n := 60_000
	if testing.Short() {
		n = 20_000
	}
	path := loadTestDB(t, n)
	count := newStopCtx(t, 0)
	eng, err := soundalike.OpenContext(count, path, &soundalike.Options{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := eng.Stats(); st.Tracks < n || st.Indexed == 0 {
		t.Fatalf("loaded %+v, want %d tracks and an index", st, n)
	}
	eng.Close()
	checks := count.asked.Load()
	if want := int64(2 * n / 4096); checks < want {
		t.Errorf("a load of %d tracks asked its ctx %d times, want at least %d: once every 4096 tracks read and decoded", n, checks, want)
	}

	phases := map[string]bool{}
	// Every few checks, and the last one.
	var at []int64
	for k := int64(1); k < checks; k += max(1, min(8, checks/16)) {
		at = append(at, k)
	}
	for _, k := range append(at, checks) {
		eng, err := soundalike.OpenContext(newStopCtx(t, k), path, &soundalike.Options{Detached: true})
		if eng != nil {
			eng.Close()
			t.Fatalf("OpenContext stopped at check %d of %d = an engine, %v; want none", k, checks, err)
		}
		phases[stoppedWhile(t, err, path)] = true
	}
	for _, want := range []string{"reading the tracks", "reading the interactions", "reading the index", "decoding the tracks"} {
		if !phases[want] {
			t.Errorf("loads stopped at every few of their checks said they were %v, never %q", slices.Sorted(maps.Keys(phases)), want)
		}
	}
}

// TestStoppedReloadKeepsServing: a Reload whose ctx ends while it loads
// returns ctx's error and leaves the engine as it was: the previous
// snapshot serving, no failure recorded or logged. The next Reload loads
// the change.
func TestStoppedReloadKeepsServing(t *testing.T) {
	n := 60_000
	if testing.Short() {
		n = 20_000
	}
	path := loadTestDB(t, n)
	var logs syncbuf.Buffer
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	served := eng.Stats()
	before, err := eng.Similar(t.Context(), "t0005", 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	added := importTrack(t, path, 7001)

	stops := 0
	for k := int64(1); ; k *= 2 {
		changed, err := eng.Reload(newStopCtx(t, k))
		if err == nil {
			if !changed {
				t.Fatalf("Reload of a changed file let run to its end = unchanged")
			}
			break
		}
		stoppedWhile(t, err, path)
		stops++
		if st := eng.Stats(); changed || st.Generation != served.Generation || !st.Loaded.Equal(served.Loaded) || st.ReloadFailures != 0 || st.ReloadError != nil {
			t.Fatalf("after a Reload stopped at check %d: changed %v, Stats %+v; want the snapshot served before (%+v) and no failure", k, changed, st, served)
		}
		if _, err := eng.Track(t.Context(), added); !errors.Is(err, soundalike.ErrNotFound) {
			t.Fatalf("Track(%s) after a stopped Reload = %v, want ErrNotFound: the previous snapshot serving", added, err)
		}
		if after, err := eng.Similar(t.Context(), "t0005", 5, nil); err != nil || after.Generation != before.Generation {
			t.Fatalf("Similar after a stopped Reload = %v, %v; want the previous snapshot's answer (generation %d)", after.Generation, err, before.Generation)
		}
	}
	if stops < 4 {
		t.Errorf("Reload stopped at check 1, 2, 4, … ended by itself after %d stops: it does not look at ctx while it loads", stops)
	}
	if _, err := eng.Track(t.Context(), added); err != nil {
		t.Errorf("Track(%s) after the Reload that ran to its end: %v", added, err)
	}
	got := logs.String()
	if strings.Contains(got, "level=ERROR") || strings.Count(got, "msg=reloaded") != 1 {
		t.Errorf("log after %d stopped reloads and one whole one:\n%s\nwant no error and one reloaded line", stops, got)
	}
}

// reloadedFields are the attributes of the one "reloaded" line, whoever
// asked for the reload.
var reloadedFields = []string{"on=", "generation=", "model=", "tracks=", "indexed=", "read_under_lock=", "decode=", "derive="}

// TestReloadLogLines: every reload that changed the snapshot is logged as
// one "reloaded" line with the same fields, naming what asked (Reload, a
// tick of Watch, a ReloadFor caller); a failure that a ReloadFor caller
// asked for is logged at error level each time, even when it repeats the
// last one (an operator's second SIGHUP gets an answer too), while a
// Reload's repeat is logged at debug level.
func TestReloadLogLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lines.db")
	writer, _ := fixture(t, path, 100)
	writer.Close()
	var logs syncbuf.Buffer
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	reloaded := func(on string) []string {
		var lines []string
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, "msg=reloaded on="+on+" ") {
				lines = append(lines, l)
			}
		}
		return lines
	}
	hasFields := func(line string) bool {
		return !slices.ContainsFunc(reloadedFields, func(f string) bool { return !strings.Contains(line, " "+f) })
	}

	importTrack(t, path, 7001)
	if changed, err := eng.ReloadFor(t.Context(), "SIGHUP"); err != nil || !changed {
		t.Fatalf("ReloadFor = %v, %v; want a change", changed, err)
	}
	importTrack(t, path, 7002)
	if changed, err := eng.Reload(t.Context()); err != nil || !changed {
		t.Fatalf("Reload = %v, %v; want a change", changed, err)
	}
	ctx, stop := context.WithCancel(t.Context())
	watched := make(chan struct{})
	go func() { eng.Watch(ctx, 10*time.Millisecond); close(watched) }()
	gen := eng.Stats().Generation
	importTrack(t, path, 7003)
	for deadline := time.Now().Add(10 * time.Second); eng.Stats().Generation == gen; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Watch did not reload within 10s")
		}
	}
	stop()
	<-watched
	for _, on := range []string{"SIGHUP", "Reload", "watch"} {
		if lines := reloaded(on); len(lines) != 1 || !hasFields(lines[0]) {
			t.Errorf("reloaded lines on=%s: %q, want one with %v\nlog:\n%s", on, lines, reloadedFields, logs.String())
		}
	}

	// A new generation with a corrupt record, reloaded twice by name,
	// then by Reload.
	importTrack(t, path, 7004)
	setRecord(t, path, "t0010", func(old []byte) []byte {
		bad := append([]byte(nil), old...)
		bad[12] = 99
		return bad
	})
	for _, on := range []string{"SIGHUP", "SIGHUP", "Reload"} {
		if _, err := eng.ReloadFor(t.Context(), on); err == nil {
			t.Fatalf("ReloadFor(%s) over a corrupt record succeeded", on)
		}
	}
	errs := 0
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, `level=ERROR msg="loading a new snapshot failed; still serving the previous one" on=SIGHUP`) {
			errs++
		}
	}
	if errs != 2 || !strings.Contains(logs.String(), `level=DEBUG msg="loading a new snapshot failed; still serving the previous one" on=Reload`) {
		t.Errorf("two failed ReloadFor(SIGHUP) then a Reload, alike: %d error lines on=SIGHUP, want 2, and the Reload's at debug level:\n%s", errs, logs.String())
	}
}

// TestModelStopsTheFirstLoad: Model on an attached engine that has not
// loaded yet loads the snapshot under Model's ctx: a ctx already done
// stops that load, which is no failure, and the next call loads. A nil ctx
// is an error, as everywhere, not a panic.
func TestModelStopsTheFirstLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	eng, err := soundalike.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var nilCtx context.Context
	if _, err := eng.Model(nilCtx); err == nil || !strings.Contains(err.Error(), "ctx is nil") {
		t.Errorf("Model(nil ctx) = %v, want an error saying ctx is nil", err)
	}
	if _, err := eng.Reload(nilCtx); err == nil || !strings.Contains(err.Error(), "ctx is nil") {
		t.Errorf("Reload(nil ctx) = %v, want an error saying ctx is nil", err)
	}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := eng.Model(done); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), path) {
		t.Errorf("Model with its ctx done, before the first load = %v, want context.Canceled naming %s", err, path)
	}
	if info, err := eng.Model(t.Context()); err != nil || info.Version != "v1" {
		t.Errorf("Model after a stopped first load = %+v, %v; want v1", info, err)
	}
	if st := eng.Stats(); st.ReloadFailures != 0 {
		t.Errorf("Stats after a stopped first load and a whole one = %+v, want no failure counted", st)
	}
}

// TestQueriesStopTheFirstLoad: every query of an attached engine that has
// not loaded yet waits for the first load (tenths of a second here,
// seconds at 1M tracks) under its own ctx: one whose ctx is done, or ends
// while it waits, returns ctx's error naming the load of the file, at
// once; another query waiting for the same load meanwhile still gets its
// answer, and no failure is counted or logged.
func TestQueriesStopTheFirstLoad(t *testing.T) {
	n := 60_000
	if testing.Short() {
		n = 20_000
	}
	path := loadTestDB(t, n)
	var logs syncbuf.Buffer
	eng, err := soundalike.Open(path, &soundalike.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	noop := func(*soundalike.Track, soundalike.Embedding) error { return nil }
	queries := []struct {
		name  string
		query func(ctx context.Context) error
	}{
		{"Similar", func(ctx context.Context) error { _, err := eng.Similar(ctx, "t0005", 5, nil); return err }},
		{"SimilarTo", func(ctx context.Context) error {
			_, err := eng.SimilarTo(ctx, soundalike.Query{Tracks: []soundalike.TrackID{"t0005"}}, 5, nil)
			return err
		}},
		{"Recommend", func(ctx context.Context) error {
			_, err := eng.Recommend(ctx, soundalike.RecommendQuery{Positive: []soundalike.Example{{Track: "t0005"}}, K: 5})
			return err
		}},
		{"RecommendUser", func(ctx context.Context) error { _, err := eng.RecommendUser(ctx, "u001", 5, nil); return err }},
		{"UserHistory", func(ctx context.Context) error { _, err := eng.UserHistory(ctx, "u001"); return err }},
		{"SearchTracks", func(ctx context.Context) error { _, err := eng.SearchTracks(ctx, "a", 5); return err }},
		{"Map", func(ctx context.Context) error { _, err := eng.Map(ctx, soundalike.MapQuery{Sample: 5}); return err }},
		{"ForEachEmbedding", func(ctx context.Context) error { return eng.ForEachEmbedding(ctx, noop) }},
		{"Model", func(ctx context.Context) error { _, err := eng.Model(ctx); return err }},
	}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	for _, q := range queries {
		if err := q.query(done); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "load "+path+": stopped while") {
			t.Errorf("%s with its ctx done, before the first load = %v, want context.Canceled saying the load of %s stopped", q.name, err, path)
		}
	}

	// One query waits with no end, the others each for a millisecond:
	// they stop waiting, and the load goes on for the first.
	answered := make(chan error, 1)
	go func() { answered <- queries[0].query(t.Context()) }()
	for _, q := range queries {
		short, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		err := q.query(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "load "+path+": stopped while") {
			t.Errorf("%s with a 1ms deadline, during the first load = %v, want context.DeadlineExceeded saying the load of %s stopped", q.name, err, path)
		}
	}
	if err := <-answered; err != nil {
		t.Errorf("Similar waiting for the first load while other queries stopped waiting = %v, want its answer", err)
	}
	for _, q := range queries {
		if err := q.query(t.Context()); err != nil && !errors.Is(err, soundalike.ErrNoLayout) && !errors.Is(err, soundalike.ErrNotFound) {
			t.Errorf("%s after the first load = %v, want its answer", q.name, err)
		}
	}
	if st := eng.Stats(); st.ReloadFailures != 0 || st.ReloadError != nil {
		t.Errorf("Stats after stopped waits for the first load = %+v, want no failure counted", st)
	}
	if got := logs.String(); strings.Contains(got, "level=ERROR") {
		t.Errorf("log after stopped waits for the first load:\n%s\nwant no error", got)
	}
}

// Given a detached engine (serve's) serving a file, when the file is moved away
// (a reload fails: no database there) and then moved back unchanged,
// expect the next reload to clear the failure: the served snapshot is of
// the file as it stands, and Stats (which /readyz reports) no longer
// says the last load failed.
func TestFailureClearsWhenTheFileComesBackUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "back.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true, Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	away := path + ".away"
	if err := os.Rename(path, away); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reload(t.Context()); err == nil {
		t.Fatal("Reload of a moved-away file = nil, want its failure")
	}
	if err := os.Rename(away, path); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reload(t.Context()); err != nil {
		t.Fatalf("Reload of the file moved back = %v", err)
	}
	if st := eng.Stats(); st.ReloadError != nil || st.ReloadFailures != 1 {
		t.Errorf("Stats after the file came back: failures %d, error %v; want 1 and none now", st.ReloadFailures, st.ReloadError)
	}
}
