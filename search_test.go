package soundalike_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/google/go-cmp/cmp"
)

// randomModel is a small random MLP: enough to give every track a
// distinct, deterministic embedding.
func randomModel(t testing.TB, dim int) *embedder.Model {
	t.Helper()
	m, err := synth.Model(7, []int{32}, dim)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fixture is an engine with n random tracks, a model and an index. Track
// t0000 has a duplicate t9000 (same song, identical features) and t0001 a
// re-release t9001 (same name and artist, other features).
func fixture(t testing.TB, path string, n int) (*soundalike.Engine, []*soundalike.Track) {
	t.Helper()
	ctx := context.Background()
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	var tracks []*soundalike.Track
	for i := range n {
		tracks = append(tracks, synth.SmallTrack(rng, i))
	}
	dup := *tracks[0]
	dup.ID = "t9000"
	rerelease := *synth.SmallTrack(rng, 1)
	rerelease.ID = "t9001"
	tracks = append(tracks, &dup, &rerelease)
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, tr := range tracks {
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveModel(ctx, randomModel(t, 16), soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return eng, tracks
}

// bruteForce ranks every track by exact cosine to q, best first.
func bruteForce(t testing.TB, eng *soundalike.Engine, tracks []*soundalike.Track, q []float32) []soundalike.Neighbor {
	var out []soundalike.Neighbor
	for _, tr := range tracks {
		v, err := eng.Embed(tr)
		if err != nil {
			t.Fatal(err)
		}
		var dot float32
		for i := range v {
			dot += v[i] * q[i]
		}
		out = append(out, soundalike.Neighbor{ID: tr.ID, Score: dot})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

func TestSimilarAgainstBruteForce(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "s.db"), 600)
	const k = 20
	hits, total := 0, 0
	for _, tr := range tracks[2:102] {
		got, err := neighbors(eng.Similar(ctx, tr.ID, k, &soundalike.SearchOptions{NoDedupe: true}))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != k {
			t.Fatalf("Similar(%s) returned %d results, want %d", tr.ID, len(got), k)
		}
		q, _ := eng.Embed(tr)
		var want []soundalike.TrackID
		for _, nb := range bruteForce(t, eng, tracks, q) {
			if nb.ID != tr.ID && len(want) < k {
				want = append(want, nb.ID)
			}
		}
		for i, nb := range got {
			if nb.ID == tr.ID {
				t.Errorf("Similar(%s) contains the query track", tr.ID)
			}
			if i > 0 && got[i-1].Score < nb.Score {
				t.Errorf("Similar(%s) not sorted by score", tr.ID)
			}
			if slices.Contains(want, nb.ID) {
				hits++
			}
		}
		total += k
	}
	if r := float64(hits) / float64(total); r < 0.95 {
		t.Errorf("recall@20 against brute force = %.3f, want ≥ 0.95", r)
	}
}

func TestSimilarDedupesSongs(t *testing.T) {
	ctx := t.Context()
	eng, _ := fixture(t, filepath.Join(t.TempDir(), "d.db"), 300)
	got, err := neighbors(eng.Similar(ctx, "t0000", 50, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, nb := range got {
		if nb.ID == "t9000" || nb.ID == "t0000" {
			t.Errorf("Similar(t0000) offers %s, a copy of the query's song", nb.ID)
		}
	}
	raw, _ := neighbors(eng.Similar(ctx, "t0000", 1, &soundalike.SearchOptions{NoDedupe: true}))
	if len(raw) != 1 || raw[0].ID != "t9000" || raw[0].Score < 0.9999 {
		t.Errorf("Similar(t0000, dedupe off)[0] = %v, want the identical copy t9000", raw)
	}
	// t0001 and t9001 are the same song (name + artist): at most one of them
	// may appear in any result list.
	for _, id := range []soundalike.TrackID{"t0002", "t0003", "t0100"} {
		got, _ := neighbors(eng.Similar(ctx, id, 300, nil))
		n := 0
		for _, nb := range got {
			if nb.ID == "t0001" || nb.ID == "t9001" {
				n++
			}
		}
		if n > 1 {
			t.Errorf("Similar(%s) offers the song of t0001 %d times", id, n)
		}
	}
}

func TestSimilarExclusions(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "e.db"), 300)
	first, _ := neighbors(eng.Similar(ctx, "t0005", 5, nil))
	ex := []soundalike.TrackID{first[0].ID, first[1].ID}
	got, err := neighbors(eng.Similar(ctx, "t0005", 20, &soundalike.SearchOptions{Exclude: ex}))
	if err != nil || len(got) != 20 {
		t.Fatalf("Similar with exclude = %d results, %v", len(got), err)
	}
	for _, nb := range got {
		if slices.Contains(ex, nb.ID) {
			t.Errorf("excluded %s returned", nb.ID)
		}
	}
	got, _ = neighbors(eng.Similar(ctx, "t0005", 20, &soundalike.SearchOptions{ExcludeArtist: true}))
	if len(got) != 20 {
		t.Fatalf("Similar with exclude_artist = %d results, want 20", len(got))
	}
	byID := map[soundalike.TrackID]*soundalike.Track{}
	for _, tr := range tracks {
		byID[tr.ID] = tr
	}
	for _, nb := range got {
		if byID[nb.ID].Artists[0] == byID["t0005"].Artists[0] {
			t.Errorf("exclude_artist returned %s by the same artist", nb.ID)
		}
	}
}

func TestSimilarToAndErrors(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "q.db"), 200)
	v, _ := eng.Embed(tracks[10])
	byVec, err := neighbors(eng.SimilarTo(ctx, soundalike.Query{Vector: v}, 5, nil))
	if err != nil || len(byVec) != 5 || byVec[0].ID != tracks[10].ID {
		t.Errorf("SimilarTo(vector of t0010) = %v, %v; want t0010 first", byVec, err)
	}
	cold := *tracks[10]
	cold.ID = "not-in-catalogue"
	cold.Name = "Other"
	byFeat, err := neighbors(eng.SimilarTo(ctx, soundalike.Query{Track: &cold}, 5, &soundalike.SearchOptions{NoDedupe: true}))
	if err != nil || byFeat[0].ID != tracks[10].ID {
		t.Errorf("SimilarTo(features of t0010) = %v, %v; want t0010 first", byFeat, err)
	}
	if len(v) != 16 {
		t.Fatalf("the test model's dimension is %d, the messages below say 16", len(v))
	}
	for _, tc := range []struct {
		vec  []float32
		want string
	}{
		{[]float32{1}, "vector: 1 value, want the model's dimension, 16"},
		{[]float32{1, 2}, "vector: 2 values, want the model's dimension, 16"},
	} {
		if _, err := eng.SimilarTo(ctx, soundalike.Query{Vector: tc.vec}, 5, nil); !errors.Is(err, soundalike.ErrDimension) || err.Error() != tc.want {
			t.Errorf("SimilarTo(%v) = %v, want ErrDimension %q", tc.vec, err, tc.want)
		}
	}
	seeds := []soundalike.TrackID{"t0010", "t0011"}
	bySeeds, err := neighbors(eng.SimilarTo(ctx, soundalike.Query{Tracks: seeds}, 10, nil))
	if err != nil || len(bySeeds) != 10 {
		t.Fatalf("SimilarTo(seeds) = %v, %v", bySeeds, err)
	}
	for _, nb := range bySeeds {
		if slices.Contains(seeds, nb.ID) {
			t.Errorf("SimilarTo(seeds) returned seed %s", nb.ID)
		}
	}
	for _, c := range []struct {
		name string
		err  error
		call func() error
	}{
		{"unknown track", soundalike.ErrNotFound, func() error { _, err := eng.Similar(ctx, "nope", 5, nil); return err }},
		{"k = 0", soundalike.ErrInvalidQuery, func() error { _, err := eng.Similar(ctx, "t0001", 0, nil); return err }},
		{"k too big", soundalike.ErrInvalidQuery, func() error { _, err := eng.Similar(ctx, "t0001", 1001, nil); return err }},
		{"wrong dimension", soundalike.ErrDimension, func() error {
			_, err := eng.SimilarTo(ctx, soundalike.Query{Vector: []float32{1, 2}}, 5, nil)
			return err
		}},
		{"NaN vector", soundalike.ErrInvalidQuery, func() error {
			bad := slices.Clone(v)
			bad[3] = float32(math.NaN())
			_, err := eng.SimilarTo(ctx, soundalike.Query{Vector: bad}, 5, nil)
			return err
		}},
		{"nothing to search by", soundalike.ErrInvalidQuery, func() error { _, err := eng.SimilarTo(ctx, soundalike.Query{}, 5, nil); return err }},
		{"two things to search by", soundalike.ErrInvalidQuery, func() error {
			_, err := eng.SimilarTo(ctx, soundalike.Query{Vector: v, Tracks: seeds}, 5, nil)
			return err
		}},
		{"unknown seed", soundalike.ErrNotFound, func() error {
			_, err := eng.SimilarTo(ctx, soundalike.Query{Tracks: []soundalike.TrackID{"t0001", "nope"}}, 5, nil)
			return err
		}},
		{"invalid features", soundalike.ErrInvalidQuery, func() error {
			bad := cold
			bad.Features.Danceability = 3
			_, err := eng.SimilarTo(ctx, soundalike.Query{Track: &bad}, 5, nil)
			return err
		}},
	} {
		if err := c.call(); !errors.Is(err, c.err) {
			t.Errorf("%s: error = %v, want %v", c.name, err, c.err)
		}
	}
}

func TestNotReady(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	if err := eng.Ready(t.Context()); !errors.Is(err, soundalike.ErrNoDatabase) || !strings.Contains(err.Error(), eng.Path()) {
		t.Errorf("Ready before any write = %v, want ErrNoDatabase naming %s", err, eng.Path())
	}
	if _, err := os.Stat(eng.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open and a query created %s (%v), want nothing created before a write", eng.Path(), err)
	}
	if err := eng.Import(ctx, func(tx *soundalike.ImportTx) error { _, _, err := tx.PutTrack(track("a", 0.5)); return err }); err != nil {
		t.Fatal(err)
	}
	if err := eng.Ready(t.Context()); !errors.Is(err, soundalike.ErrNoModel) {
		t.Errorf("Ready on a database without a model = %v, want ErrNoModel", err)
	}
	eng.SaveModel(ctx, randomModel(t, 8), soundalike.ModelRun{})
	if err := eng.Ready(t.Context()); !errors.Is(err, soundalike.ErrNoIndex) {
		t.Errorf("Ready without index = %v, want ErrNoIndex", err)
	}
	if _, err := eng.Similar(ctx, "a", 5, nil); !errors.Is(err, soundalike.ErrNoIndex) {
		t.Errorf("Similar without index = %v, want ErrNoIndex", err)
	}
}

func TestReindexIncremental(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "i.db"), 300)
	sum, err := eng.Reindex(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Full || sum.Embedded != 0 {
		t.Errorf("reindex with nothing changed = %+v, want incremental with 0 embedded", sum)
	}
	changed := *tracks[3]
	changed.Features.Energy = 1 - changed.Features.Energy
	eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		tx.PutTrack(&changed)
		tx.PutTrack(synth.SmallTrack(rand.New(rand.NewPCG(9, 9)), 5000))
		_, err := tx.DeleteTrack(tracks[4].ID)
		return err
	})
	sum, err = eng.Reindex(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Full || sum.Embedded != 2 || sum.Deleted != 1 {
		t.Errorf("incremental reindex = %+v, want 2 embedded, 1 deleted", sum)
	}
	// The changed track is found by its new features, the deleted one never.
	v, _ := eng.Embed(&changed)
	got, _ := neighbors(eng.SimilarTo(ctx, soundalike.Query{Vector: v}, 300, &soundalike.SearchOptions{NoDedupe: true}))
	if got[0].ID != changed.ID {
		t.Errorf("nearest to the changed track's new vector = %s, want %s", got[0].ID, changed.ID)
	}
	for _, nb := range got {
		if nb.ID == tracks[4].ID {
			t.Errorf("deleted track %s still returned", nb.ID)
		}
	}
	full, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Full: true})
	if err != nil || !full.Full || full.Embedded != full.Tracks {
		t.Errorf("full reindex = %+v, %v", full, err)
	}
}

func TestInterruptedReindexKeepsPreviousIndex(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "x.db")
	eng, _ := fixture(t, path, 300)
	before, _ := neighbors(eng.Similar(ctx, "t0007", 10, nil))
	// A new model, and a reindex that is cancelled part-way through.
	eng.SaveModel(ctx, randomModel(t, 12), soundalike.ModelRun{})
	cctx, cancel := context.WithCancel(ctx)
	_, err := eng.Reindex(cctx, &soundalike.ReindexOptions{Progress: func(stage string, done, total int) {
		if stage == "insert" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted reindex error = %v, want context.Canceled", err)
	}
	eng.Close()
	again, err := soundalike.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	after, err := neighbors(again.Similar(ctx, "t0007", 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("after an interrupted reindex (-before +after):\n%s", diff)
	}
	if m, _ := again.Model(ctx); m.Version != "v1" {
		t.Errorf("served model = %s, want v1 (the one the surviving index was built with)", m.Version)
	}
}

func TestDetachedReload(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "w.db")
	writer, _ := fixture(t, path, 200)
	writer.Close() // a batch process ends

	server, err := soundalike.Open(path, &soundalike.Options{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := server.Stats(); st.Indexed != 202 || st.ModelVersion != "v1" {
		t.Fatalf("detached stats = %+v", st)
	}
	// Another "process" writes while the server runs from memory.
	writer2, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatalf("writer cannot open while a detached engine serves: %v", err)
	}
	writer2.Import(ctx, func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(synth.SmallTrack(rand.New(rand.NewPCG(3, 3)), 7000))
		return err
	})
	writer2.Reindex(ctx, nil)
	writer2.Close()
	changed, err := server.Reload(ctx)
	if err != nil || !changed {
		t.Fatalf("Reload = %v, %v; want a change", changed, err)
	}
	if st := server.Stats(); st.Indexed != 203 {
		t.Errorf("after reload: %+v, want 203 indexed", st)
	}
	if _, err := server.Similar(ctx, "t7000", 5, nil); err != nil {
		t.Errorf("Similar(new track) after reload: %v", err)
	}
	changed, _ = server.Reload(ctx)
	if changed {
		t.Error("second Reload with nothing new reported a change")
	}
}

// TestImportRefreshesServingEngine: an engine that serves queries sees an
// import's changes at once (renames, deletions), with the index unchanged.
func TestImportRefreshesServingEngine(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "r.db"), 200)
	q := tracks[10]
	before, err := neighbors(eng.Similar(ctx, q.ID, 5, nil))
	if err != nil {
		t.Fatal(err)
	}
	gone := before[0].ID
	renamed := *tracks[20]
	renamed.Name = "A New Name"
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		if _, err := tx.DeleteTrack(gone); err != nil {
			return err
		}
		_, _, err := tx.PutTrack(&renamed)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := eng.Track(ctx, renamed.ID); err != nil || got.Name != "A New Name" {
		t.Errorf("Track(%s) after the import = %+v, %v; want the new name", renamed.ID, got, err)
	}
	if _, err := eng.Track(ctx, gone); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track(%s) after its deletion: err = %v, want ErrNotFound", gone, err)
	}
	after, err := neighbors(eng.Similar(ctx, q.ID, 5, nil))
	if err != nil || len(after) != 5 {
		t.Fatalf("Similar after the import = %v, %v", after, err)
	}
	for _, n := range after {
		if n.ID == gone {
			t.Errorf("deleted track %s still served", gone)
		}
	}
	if st := eng.Stats(); st.Tracks != len(tracks)-1 || st.Indexed != len(tracks) {
		t.Errorf("Stats after the import = %+v, want %d tracks and the unchanged index of %d", st, len(tracks)-1, len(tracks))
	}
}

// TestSimilarUsesTheIndexBeam: a search that sets no EfSearch searches
// with the beam the index was built with (its EfSearch), however small k
// is: the results are those of a search that asks for that beam. (A
// search is deterministic on a given graph.)
func TestSimilarUsesTheIndexBeam(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "b.db"), 300)
	io := index.DefaultOptions()
	io.EfSearch = 400
	// A sparse graph, where a beam of k misses neighbours that a wide one
	// finds: with the defaults, 300 tracks are searched almost exactly
	// with any beam.
	io.M, io.EfConstruction = 4, 8
	if _, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Full: true, Index: *io}); err != nil {
		t.Fatal(err)
	}
	ids := func(ns []soundalike.Neighbor) []soundalike.TrackID {
		var out []soundalike.TrackID
		for _, n := range ns {
			out = append(out, n.ID)
		}
		return out
	}
	narrow := 0
	for _, tr := range tracks {
		for _, k := range []int{1, 20} {
			def, err := neighbors(eng.Similar(ctx, tr.ID, k, nil))
			if err != nil {
				t.Fatal(err)
			}
			wide, _ := neighbors(eng.Similar(ctx, tr.ID, k, &soundalike.SearchOptions{EfSearch: io.EfSearch}))
			if !slices.Equal(ids(def), ids(wide)) {
				t.Fatalf("Similar(%s, k=%d) = %v with the default beam, %v with EfSearch %d (the index's): want the same", tr.ID, k, ids(def), ids(wide), io.EfSearch)
			}
			small, _ := neighbors(eng.Similar(ctx, tr.ID, k, &soundalike.SearchOptions{EfSearch: 1}))
			if !slices.Equal(ids(small), ids(wide)) {
				narrow++
			}
		}
	}
	// The check means something only if the beam changes results here.
	if narrow == 0 {
		t.Fatalf("no search with a beam of k differs from one of %d: the fixture cannot tell beams apart", io.EfSearch)
	}

	// A new EfSearch applies on an incremental reindex: stored, and the
	// beam of every search that sets none.
	io.EfSearch = 2
	sum, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Index: *io})
	if err != nil || sum.Full {
		t.Fatalf("Reindex with a new EfSearch = %+v, %v; want an incremental update", sum, err)
	}
	if st, err := eng.IndexState(ctx); err != nil || st.Params.EfSearch != 2 || st.Params.M != 4 || st.Params.Workers != 0 {
		t.Fatalf("IndexState = %+v, %v; want EfSearch 2, M 4, no Workers", st.Params, err)
	}
	for _, tr := range tracks {
		def, _ := neighbors(eng.Similar(ctx, tr.ID, 20, nil))
		two, _ := neighbors(eng.Similar(ctx, tr.ID, 20, &soundalike.SearchOptions{EfSearch: 2}))
		if !slices.Equal(ids(def), ids(two)) {
			t.Fatalf("Similar(%s) = %v with the default beam, %v with EfSearch 2 (the index's now): want the same", tr.ID, ids(def), ids(two))
		}
	}
}

// TestSimilarLongExcludeList: an Exclude list longer than the few dropped
// from the results (maxDropped) is filtered inside the search, repeated ids
// and all, and still leaves k results, none of them excluded.
func TestSimilarLongExcludeList(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "x.db"), 300)
	q, _ := eng.Embed(tracks[5])
	var exclude []soundalike.TrackID
	for _, nb := range bruteForce(t, eng, tracks, q)[:101] { // the query and its 100 nearest
		exclude = append(exclude, nb.ID, nb.ID)
	}
	excluded := map[soundalike.TrackID]bool{}
	for _, id := range exclude {
		excluded[id] = true
	}
	for _, opts := range []*soundalike.SearchOptions{{Exclude: exclude}, {Exclude: exclude[:20]}, {Exclude: exclude, NoDedupe: true}} {
		got, err := neighbors(eng.Similar(ctx, tracks[5].ID, 20, opts))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 20 {
			t.Errorf("Similar with %d excluded ids: %d results, want 20", len(opts.Exclude), len(got))
		}
		for _, nb := range got {
			if excluded[nb.ID] && slices.Contains(opts.Exclude, nb.ID) {
				t.Errorf("Similar with %d excluded ids returned %s, which is excluded", len(opts.Exclude), nb.ID)
			}
		}
	}
}

// neighbors drops the context of a query's Results, for tests about the
// neighbours alone.
func neighbors(r soundalike.Results, err error) ([]soundalike.Neighbor, error) {
	return r.Neighbors, err
}

// TestResultsCarryTheirContext: Similar's Results name the model and
// generation that answered and hold the query's and the neighbours' tracks
// as stored; they are copies, so changing them changes nothing served.
func TestResultsCarryTheirContext(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "c.db"), 100)
	byID := map[soundalike.TrackID]*soundalike.Track{}
	for _, tr := range tracks {
		byID[tr.ID] = tr
	}
	res, err := eng.Similar(ctx, "t0007", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := eng.Stats(); res.Model != "v1" || res.Generation != st.Generation {
		t.Errorf("Results model %q, generation %d; want v1 and the served %d", res.Model, res.Generation, st.Generation)
	}
	if res.Query == nil || !cmp.Equal(*res.Query, *byID["t0007"]) {
		t.Errorf("Results.Query = %+v, want the stored t0007 %+v", res.Query, byID["t0007"])
	}
	for _, n := range res.Neighbors {
		if n.Track.ID != n.ID || !cmp.Equal(n.Track, *byID[n.ID]) {
			t.Errorf("neighbour %s carries %+v, want the stored track %+v", n.ID, n.Track, byID[n.ID])
		}
	}
	// Scribble over everything the caller got.
	for i := range res.Neighbors {
		tr := &res.Neighbors[i].Track
		tr.Name = "scribbled"
		if len(tr.Artists) > 0 {
			tr.Artists[0] = "scribbled"
		}
		tr.Artists = append(tr.Artists, "more")
	}
	got, err := eng.Track(ctx, res.Neighbors[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Artists[0] = "scribbled too"
	again, err := eng.Similar(ctx, "t0007", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range again.Neighbors {
		if !cmp.Equal(n.Track, *byID[n.ID]) {
			t.Errorf("after changing the returned copies, neighbour %s = %+v, want %+v", n.ID, n.Track, byID[n.ID])
		}
	}
	byFeat, err := eng.SimilarTo(ctx, soundalike.Query{Track: byID["t0009"]}, 3, nil)
	if err != nil || byFeat.Query != byID["t0009"] {
		t.Errorf("SimilarTo(features).Query = %p, %v; want the query's own track %p", byFeat.Query, err, byID["t0009"])
	}
	bySeeds, err := eng.SimilarTo(ctx, soundalike.Query{Tracks: []soundalike.TrackID{"t0009"}}, 3, nil)
	if err != nil || bySeeds.Query != nil || len(bySeeds.Neighbors) != 3 {
		t.Errorf("SimilarTo(seeds) = %+v, %v; want 3 neighbours and no query track", bySeeds, err)
	}
}
