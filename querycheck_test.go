package soundalike_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/index"
)

// TestMalformedQueryAsksNoFacets: every query's entry point refuses a
// malformed query (a bad offset, beam, bound or track reference beside a
// genre filter) with ErrInvalidQuery before it compiles the filter, so
// that it never waits for the facets, which a freshly loaded snapshot
// builds in the background (seconds at 1M tracks).
func TestMalformedQueryAsksNoFacets(t *testing.T) {
	eng, tracks, vecs := facetFixture(t, 500)
	ctx := t.Context()
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, tr := range tracks[:5] {
			if _, err := tx.PutInteraction(&soundalike.Interaction{User: "u1", Track: tr.ID, Action: soundalike.ActionLike}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	asks := soundalike.CountFacetAsks(t, eng)
	genre := &soundalike.Filter{Genres: []string{"pop"}}
	examples := func(o *soundalike.SearchOptions, st soundalike.Strategy) soundalike.RecommendQuery {
		return soundalike.RecommendQuery{
			Positive: []soundalike.Example{{Track: tracks[0].ID}, {Vector: vecs[tracks[1].ID]}},
			Negative: []soundalike.Example{{Track: tracks[2].ID}},
			Strategy: st, K: 10, Options: *o,
		}
	}
	queries := []struct {
		name string
		run  func(o *soundalike.SearchOptions) (soundalike.Results, error)
	}{
		{"Similar", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.Similar(ctx, tracks[0].ID, 10, o)
		}},
		{"SimilarTo/tracks", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.SimilarTo(ctx, soundalike.Query{Tracks: []soundalike.TrackID{tracks[0].ID, tracks[1].ID}}, 10, o)
		}},
		{"SimilarTo/features", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.SimilarTo(ctx, soundalike.Query{Track: tracks[3]}, 10, o)
		}},
		{"SimilarTo/vector", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.SimilarTo(ctx, soundalike.Query{Vector: vecs[tracks[4].ID]}, 10, o)
		}},
		{"Recommend/average", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.Recommend(ctx, examples(o, soundalike.StrategyAverage))
		}},
		{"Recommend/best_score", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.Recommend(ctx, examples(o, soundalike.StrategyBestScore))
		}},
		{"Recommend/user", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.Recommend(ctx, soundalike.RecommendQuery{User: "u1", Strategy: soundalike.StrategyBestScore, K: 10, Options: *o})
		}},
		{"RecommendUser", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.RecommendUser(ctx, "u1", 10, o)
		}},
	}
	for _, bad := range []struct {
		name string
		opts soundalike.SearchOptions
	}{
		{"offset", soundalike.SearchOptions{Offset: -1, Filter: genre}},
		{"ef_search", soundalike.SearchOptions{EfSearch: -1, Filter: genre}},
		{"years", soundalike.SearchOptions{Filter: &soundalike.Filter{Genres: genre.Genres, YearMin: ptr(2020), YearMax: ptr(2010)}}},
		{"filter id", soundalike.SearchOptions{Filter: &soundalike.Filter{Genres: genre.Genres, IDs: []soundalike.TrackID{""}}}},
		{"exclusion", soundalike.SearchOptions{Exclude: []soundalike.TrackID{"a\x00b"}, Filter: genre}},
	} {
		for _, q := range queries {
			before := asks()
			_, err := q.run(&bad.opts)
			if !errors.Is(err, soundalike.ErrInvalidQuery) {
				t.Errorf("%s with a bad %s = %v, want ErrInvalidQuery", q.name, bad.name, err)
			}
			if n := asks() - before; n != 0 {
				t.Errorf("%s with a bad %s asked for the facets %d times before it refused the query, want none", q.name, bad.name, n)
			}
		}
	}
	// The count sees what it should: each well-formed query asks.
	for _, q := range queries {
		before := asks()
		res, err := q.run(&soundalike.SearchOptions{Filter: genre})
		if err != nil || len(res.Neighbors) == 0 {
			t.Fatalf("%s with a genre filter = %d results, %v; want some", q.name, len(res.Neighbors), err)
		}
		if asks() == before {
			t.Fatalf("%s with a genre filter did not ask for the facets: the test observes nothing", q.name)
		}
	}
}

// TestBestScoreFilteredRecall checks StrategyBestScore under filters of
// selectivities from half the catalogue to a thousandth against an exact
// brute force of its scoring, from the source the cost model chooses and
// from the graph and the scan each; then, on a graph too poor to find them
// (two links a node, a beam of one), that a filter that keeps few tracks
// still gets all k of its best: the exact scan answers it, as for Similar.
func TestBestScoreFilteredRecall(t *testing.T) {
	n := 30_000
	if testing.Short() {
		n = 10_000
	}
	eng, tracks, vecs := facetFixture(t, n)
	for _, tc := range selectiveFilters {
		inEachSource(t, tc.name, func(t *testing.T) { bestScoreRecall(t, eng, tracks, vecs, tc.filter) })
	}
	// An exact scan answers however poorly the graph would: on a graph of
	// two links a node, searched with a beam of one, a filter that keeps
	// few tracks still finds their best.
	poor := &soundalike.ReindexOptions{Full: true, Index: index.Options{M: 2, EfConstruction: 2, EfSearch: 1}}
	if _, err := eng.Reindex(t.Context(), poor); err != nil {
		t.Fatal(err)
	}
	for _, tc := range selectiveFilters[2:5] { // 1% and 0.1%
		t.Run("poor graph/"+tc.name, func(t *testing.T) {
			bestScoreRecall(t, eng, tracks, vecs, tc.filter)
		})
	}
}

// bestScoreRecall checks best_score's recall@20 under filter against the
// brute force, over 12 queries of three positives and one negative.
func bestScoreRecall(t *testing.T, eng *soundalike.Engine, tracks []*soundalike.Track, vecs map[soundalike.TrackID][]float32, filter soundalike.Filter) {
	const k = 20
	hits, total := 0, 0
	for qi := range 12 {
		var ex []soundalike.TrackID
		for j := range 4 {
			ex = append(ex, tracks[(qi*7919+j*104729)%len(tracks)].ID)
		}
		q := soundalike.RecommendQuery{
			Positive: []soundalike.Example{{Track: ex[0]}, {Track: ex[1], Weight: 2}, {Track: ex[2]}},
			Negative: []soundalike.Example{{Track: ex[3]}},
			Strategy: soundalike.StrategyBestScore,
			K:        k,
			Options:  soundalike.SearchOptions{Filter: &filter, NoDedupe: true},
		}
		res, err := eng.Recommend(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		want := bestScoreBruteForce(tracks, vecs, &q)
		want = want[:min(k, len(want))]
		if len(res.Neighbors) != len(want) {
			t.Fatalf("Recommend(best_score, positives %v) returned %d results, want %d: the filter keeps %d tracks besides the examples", ex[:3], len(res.Neighbors), len(want), len(bestScoreBruteForce(tracks, vecs, &q)))
		}
		for _, nb := range res.Neighbors {
			if slices.Contains(ex, nb.ID) {
				t.Errorf("Recommend(best_score) returned the example %s", nb.ID)
			}
			if slices.ContainsFunc(want, func(w soundalike.Neighbor) bool { return w.ID == nb.ID }) {
				hits++
			}
		}
		total += len(want)
	}
	if total == 0 {
		t.Fatalf("no track matches %+v", filter)
	}
	recall := float64(hits) / float64(total)
	t.Logf("recall@%d %.4f", k, recall)
	if recall < 0.98 {
		t.Errorf("best_score's recall@%d against the exact filtered search = %.4f, want ≥ 0.98", k, recall)
	}
}

// bestScoreBruteForce ranks the tracks that q's filter keeps, other than
// its examples, by best_score's scoring (StrategyBestScore, with weights
// as Recommend reads them), best first.
func bestScoreBruteForce(tracks []*soundalike.Track, vecs map[soundalike.TrackID][]float32, q *soundalike.RecommendQuery) []soundalike.Neighbor {
	best := func(v []float32, exs []soundalike.Example) float32 {
		top := 0.0
		for _, ex := range exs {
			top = max(top, exampleWeight(ex.Weight))
		}
		b := float32(-2)
		for _, ex := range exs {
			var dot float32
			for i, x := range vecs[ex.Track] {
				dot += x * v[i]
			}
			b = max(b, float32(exampleWeight(ex.Weight)/top)*dot)
		}
		return b
	}
	examples := make(map[soundalike.TrackID]bool)
	for _, ex := range append(slices.Clone(q.Positive), q.Negative...) {
		examples[ex.Track] = true
	}
	var winners, losers []soundalike.Neighbor
	for _, tr := range tracks {
		if examples[tr.ID] || !matches(tr, q.Options.Filter) {
			continue
		}
		bp, bn := best(vecs[tr.ID], q.Positive), best(vecs[tr.ID], q.Negative)
		if bp > bn {
			winners = append(winners, soundalike.Neighbor{ID: tr.ID, Score: bp})
		} else {
			losers = append(losers, soundalike.Neighbor{ID: tr.ID, Score: -bn})
		}
	}
	for _, ns := range [][]soundalike.Neighbor{winners, losers} {
		sort.Slice(ns, func(i, j int) bool { return ns[i].Score > ns[j].Score })
	}
	return append(winners, losers...)
}

// exampleWeight is an Example's weight as Recommend reads it: 0 means 1.
func exampleWeight(w float64) float64 {
	if w == 0 {
		return 1
	}
	return w
}

// TestMalformedQueryWaitsForNoLoad: every query's entry point of an
// attached engine refuses a malformed query (k, an option, a track
// reference no stored id could be, the query's shape) with its own error
// before it waits for the first load, which it neither starts nor waits
// for: on a database whose load fails, it gets ErrInvalidQuery (a
// *TrackRefError naming the reference), not the load's error, and no load
// has failed. A well-formed query then gets the load's error.
func TestMalformedQueryWaitsForNoLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "unloadable.db")
	writer, tracks := fixture(t, path, 50)
	writer.Close()
	setRecord(t, path, string(tracks[10].ID), func(old []byte) []byte {
		bad := slices.Clone(old)
		bad[12] = 99
		return bad
	})
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := t.Context()
	id := tracks[0].ID
	seed := soundalike.Query{Tracks: []soundalike.TrackID{id}}
	vec := make([]float32, 16)
	vec[0] = 1
	pos := []soundalike.Example{{Track: id}}
	underflowed := make([]float32, 16) // a JSON body's 1e-300s, converted
	for i := range underflowed {
		tiny := 1e-300
		underflowed[i] = float32(tiny)
	}
	many := make([]soundalike.Example, soundalike.MaxExamples+1)
	for i := range many {
		many[i] = soundalike.Example{Track: id}
	}
	similar := func(id soundalike.TrackID, k int, o *soundalike.SearchOptions) func() error {
		return func() error { _, err := eng.Similar(ctx, id, k, o); return err }
	}
	similarTo := func(q soundalike.Query, k int, o *soundalike.SearchOptions) func() error {
		return func() error { _, err := eng.SimilarTo(ctx, q, k, o); return err }
	}
	recommend := func(q soundalike.RecommendQuery) func() error {
		return func() error { _, err := eng.Recommend(ctx, q); return err }
	}
	recommendUser := func(user string, k int, o *soundalike.SearchOptions) func() error {
		return func() error { _, err := eng.RecommendUser(ctx, user, k, o); return err }
	}
	mapOf := func(q soundalike.MapQuery) func() error {
		return func() error { _, err := eng.Map(ctx, q); return err }
	}
	for _, tc := range []struct {
		name  string
		query func() error
		want  string // in the message
		ref   string // the *TrackRefError's Option[Index] ("[0]": the call's own track), or "" for none
	}{
		{"Similar k", similar(id, 0, nil), "k: 0 is outside 1..1000", ""},
		{"Similar offset", similar(id, 5, &soundalike.SearchOptions{Offset: -1}), "SearchOptions.Offset: -1 is outside 0..999", ""},
		{"Similar empty genre", similar(id, 5, &soundalike.SearchOptions{Filter: &soundalike.Filter{Genres: []string{"pop", ""}}}), "SearchOptions.Filter.Genres[1]: empty: name one, or leave it out", ""},
		{"Similar empty excluded artist", similar(id, 5, &soundalike.SearchOptions{Filter: &soundalike.Filter{ExcludeArtists: []string{""}}}), "SearchOptions.Filter.ExcludeArtists[0]: empty", ""},
		{"Similar empty id", similar("", 5, nil), "empty track reference", "[0]"},
		{"Similar NUL id", similar("t\x00", 5, nil), "NUL byte", "[0]"},
		{"Similar exclude", similar(id, 5, &soundalike.SearchOptions{Exclude: []soundalike.TrackID{"gone", ""}}), "empty track reference", "SearchOptions.Exclude[1]"},
		{"Similar filter ids", similar(id, 5, &soundalike.SearchOptions{Filter: &soundalike.Filter{IDs: []soundalike.TrackID{"a\x00"}}}), "NUL byte", "SearchOptions.Filter.IDs[0]"},
		{"SimilarTo k", similarTo(seed, soundalike.MaxK+1, nil), "k: 1001 is outside 1..1000", ""},
		{"SimilarTo nothing", similarTo(soundalike.Query{}, 5, nil), "give exactly one of tracks, features or vector (got 0)", ""},
		{"SimilarTo tracks and vector", similarTo(soundalike.Query{Tracks: seed.Tracks, Vector: vec}, 5, nil), "(got 2)", ""},
		{"SimilarTo seed", similarTo(soundalike.Query{Tracks: []soundalike.TrackID{id, "gone", ""}}, 5, nil), "empty track reference", "Query.Tracks[2]"},
		{"SimilarTo exclude", similarTo(seed, 5, &soundalike.SearchOptions{Exclude: []soundalike.TrackID{"\x00"}}), "NUL byte", "SearchOptions.Exclude[0]"},
		{"SimilarTo NaN vector", similarTo(soundalike.Query{Vector: []float32{1, float32(math.NaN())}}, 5, nil), "vector[1]: NaN is not a finite number", ""},
		{"SimilarTo zero vector", similarTo(soundalike.Query{Vector: make([]float32, 16)}, 5, nil), "invalid query: vector: all zeros", ""},
		{"SimilarTo features", similarTo(soundalike.Query{Track: &soundalike.Track{Features: soundalike.Features{Danceability: 2}}}, 5, nil), "danceability", ""},
		{"SimilarTo popularity", similarTo(soundalike.Query{Track: &soundalike.Track{Popularity: 500}}, 5, nil), "popularity: 500 is outside 0..100", ""},
		{"SimilarTo release date", similarTo(soundalike.Query{Track: &soundalike.Track{ReleaseDate: "2020-13"}}, 5, nil), "no month 13", ""},
		{"SimilarTo duration", similarTo(soundalike.Query{Track: &soundalike.Track{DurationMS: -5}}, 5, nil), "duration_ms: -5", ""},
		{"Recommend example popularity", recommend(soundalike.RecommendQuery{Positive: []soundalike.Example{{Features: &soundalike.Track{Popularity: -1}}}, K: 5}), "positive[0]: invalid query: popularity", ""},
		{"Recommend example vector", recommend(soundalike.RecommendQuery{Positive: []soundalike.Example{{Track: id}, {Vector: []float32{float32(math.Inf(1))}}}, K: 5}), "positive[1]: invalid query: vector[0]: +Inf is not a finite number", ""},
		{"Recommend example features", recommend(soundalike.RecommendQuery{Positive: pos, Negative: []soundalike.Example{{Features: &soundalike.Track{Features: soundalike.Features{Tempo: -1}}}}, K: 5}), "negative[0]: invalid query: tempo", ""},
		{"Recommend k", recommend(soundalike.RecommendQuery{Positive: pos}), "k: 0 is outside 1..1000", ""},
		{"Recommend no positive", recommend(soundalike.RecommendQuery{Negative: pos, K: 5}), "no positive example", ""},
		{"Recommend too many", recommend(soundalike.RecommendQuery{Positive: many, K: 5}), "1001 examples", ""},
		{"Recommend strategy", recommend(soundalike.RecommendQuery{Positive: pos, K: 5, Strategy: "best"}), `"best"`, ""},
		{"Recommend example shape", recommend(soundalike.RecommendQuery{Positive: pos, Negative: []soundalike.Example{{}}, K: 5}), "negative[0]: invalid query: give exactly one of a track, a vector or features (got 0)", ""},
		{"Recommend weight", recommend(soundalike.RecommendQuery{Positive: []soundalike.Example{{Vector: vec, Weight: -1}}, K: 5}), "positive[0]: invalid query: weight -1", ""},
		{"Recommend positive ref", recommend(soundalike.RecommendQuery{Positive: []soundalike.Example{{Track: id}, {Track: "a\x00"}}, K: 5}), "NUL byte", "RecommendQuery.Positive[1]"},
		{"Recommend negative ref", recommend(soundalike.RecommendQuery{Positive: pos, Negative: []soundalike.Example{{Track: " \x00 "}}, K: 5}), "NUL byte", "RecommendQuery.Negative[0]"},
		{"Recommend filter ids", recommend(soundalike.RecommendQuery{Positive: pos, K: 5, Options: soundalike.SearchOptions{Filter: &soundalike.Filter{IDs: []soundalike.TrackID{""}}}}), "empty track reference", "SearchOptions.Filter.IDs[0]"},
		{"Recommend track on both sides", recommend(soundalike.RecommendQuery{Positive: []soundalike.Example{{Vector: vec}, {Track: id}}, Negative: []soundalike.Example{{Track: id, Weight: 2}}, K: 5}), fmt.Sprintf("negative[0]: track %q is also positive[1]: give each example on one side only", id), ""},
		{"Recommend vector on both sides", recommend(soundalike.RecommendQuery{Positive: []soundalike.Example{{Track: id}, {Vector: vec}}, Negative: []soundalike.Example{{Track: tracks[1].ID}, {Vector: slices.Clone(vec)}}, Strategy: soundalike.StrategyBestScore, K: 5}), "negative[1]: its vector is also positive[1]'s", ""},
		{"SimilarTo vector underflowing float32", similarTo(soundalike.Query{Vector: underflowed}, 5, nil), "vector: all zeros as float32 (a value below about 1e-45 in magnitude rounds to 0)", ""},
		{"Recommend features on both sides", recommend(soundalike.RecommendQuery{Positive: []soundalike.Example{{Features: &soundalike.Track{Features: soundalike.Features{Tempo: 120}, Genres: []string{"pop"}}}}, Negative: []soundalike.Example{{Features: &soundalike.Track{Features: soundalike.Features{Tempo: 120}, Genres: []string{"pop"}}}}, K: 5}), "negative[0]: its features are also positive[0]'s", ""},
		{"Recommend user and examples", recommend(soundalike.RecommendQuery{User: "u1", Positive: pos, K: 5}), `user "u1" takes its examples from the history`, ""},
		{"Recommend user strategy", recommend(soundalike.RecommendQuery{User: "u1", K: 5, Strategy: "best"}), `"best"`, ""},
		{"Recommend user exclude", recommend(soundalike.RecommendQuery{User: "u1", K: 5, Options: soundalike.SearchOptions{Exclude: []soundalike.TrackID{""}}}), "empty track reference", "SearchOptions.Exclude[0]"},
		{"RecommendUser empty user", recommendUser("", 5, nil), "the user id is empty", ""},
		{"RecommendUser k", recommendUser("u1", -1, nil), "k: -1 is outside 1..1000", ""},
		{"RecommendUser diversity", recommendUser("u1", 5, &soundalike.SearchOptions{Diversity: 2}), "SearchOptions.Diversity: 2 is outside 0..1", ""},
		{"RecommendUser exclude", recommendUser("u1", 5, &soundalike.SearchOptions{Exclude: []soundalike.TrackID{"\x00"}}), "NUL byte", "SearchOptions.Exclude[0]"},
		{"Map sample", mapOf(soundalike.MapQuery{Sample: -1}), "sample -1", ""},
		{"Map ids NUL", mapOf(soundalike.MapQuery{Sample: 1, IDs: []soundalike.TrackID{id, "gone", "a\x00"}}), "NUL byte", "MapQuery.IDs[2]"},
		{"Map ids long", mapOf(soundalike.MapQuery{IDs: []soundalike.TrackID{soundalike.TrackID(strings.Repeat("a", soundalike.MaxKeyLen+1))}}), "1025 bytes", "MapQuery.IDs[0]"},
		{"Map ids empty", mapOf(soundalike.MapQuery{IDs: []soundalike.TrackID{""}}), "empty track reference", "MapQuery.IDs[0]"},
	} {
		err := tc.query()
		if !errors.Is(err, soundalike.ErrInvalidQuery) || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s, before a first load that fails = %v, want ErrInvalidQuery saying %q", tc.name, err, tc.want)
			continue
		}
		re, isRef := errors.AsType[*soundalike.TrackRefError](err)
		if got := ""; isRef != (tc.ref != "") || isRef && fmt.Sprintf("%s[%d]", re.Option, re.Index) != tc.ref {
			if isRef {
				got = fmt.Sprintf("%s[%d]", re.Option, re.Index)
			}
			t.Errorf("%s = %v: TrackRefError naming %q, want %q", tc.name, err, got, tc.ref)
		}
	}
	if err := similarTo(soundalike.Query{Vector: []float32{}}, 5, nil)(); !errors.Is(err, soundalike.ErrDimension) || !strings.Contains(err.Error(), "vector: empty") {
		t.Errorf("SimilarTo an empty vector, before a first load that fails = %v, want ErrDimension saying it is empty", err)
	}
	if st := eng.Stats(); st.ReloadFailures != 0 || !st.Loaded.IsZero() {
		t.Errorf("Stats after malformed queries only = %+v, want no load, failed or not", st)
	}
	// The database's load does fail: a well-formed query gets its error.
	for name, query := range map[string]func() error{
		"Similar":       similar(id, 5, nil),
		"SimilarTo":     similarTo(seed, 5, nil),
		"Recommend":     recommend(soundalike.RecommendQuery{Positive: pos, K: 5}),
		"RecommendUser": recommendUser("u1", 5, nil),
	} {
		if err := query(); err == nil || errors.Is(err, soundalike.ErrInvalidQuery) {
			t.Errorf("well-formed %s, on a database whose load fails = %v, want the load's error", name, err)
		}
	}
	if st := eng.Stats(); st.ReloadFailures == 0 {
		t.Errorf("Stats after well-formed queries = %+v, want the failed load counted", st)
	}
}
