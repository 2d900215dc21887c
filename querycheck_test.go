package soundalike_test

import (
	"errors"
	"slices"
	"sort"
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
