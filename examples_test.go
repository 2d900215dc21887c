package soundalike_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/audotics/soundalike"
)

// TestQueriesAreRecommendsOfTheirExamples: a Similar(id) and each form
// of Query answer exactly (same tracks, same scores to the bit) what
// Recommend answers for the same examples as positives, with and without
// ExcludeArtist. Both run one search of examples, so what this checks is
// how each turns its query into examples: a seed resolved as an example
// is, the same exclusions, and three seeds averaged as Recommend weighs
// them (summed in float32, they rounded otherwise).
func TestQueriesAreRecommendsOfTheirExamples(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "x.db"), 2000)
	same := func(t *testing.T, name string, got, want []soundalike.Neighbor) {
		t.Helper()
		if len(got) == 0 || len(got) != len(want) || firstDiff(got, want) != "" {
			t.Errorf("%s: %d results, Recommend of its examples %d; first differing: %v", name, len(got), len(want), firstDiff(got, want))
		}
	}
	for _, opts := range []soundalike.SearchOptions{{}, {ExcludeArtist: true}} {
		recommend := func(pos ...soundalike.Example) []soundalike.Neighbor {
			t.Helper()
			ns, err := neighbors(eng.Recommend(ctx, soundalike.RecommendQuery{Positive: pos, K: 20, Options: opts}))
			if err != nil {
				t.Fatal(err)
			}
			return ns
		}
		for i := range 20 {
			a, b, c := tracks[i*37], tracks[i*37+11], tracks[i*37+23]
			got, err := neighbors(eng.SimilarTo(ctx, soundalike.Query{Tracks: []soundalike.TrackID{a.ID, b.ID, c.ID}}, 20, &opts))
			if err != nil {
				t.Fatal(err)
			}
			same(t, "SimilarTo{Tracks: "+string(a.ID)+", "+string(b.ID)+", "+string(c.ID)+"}", got, recommend(trackEx(a.ID, 0), trackEx(b.ID, 0), trackEx(c.ID, 0)))

			if got, err = neighbors(eng.Similar(ctx, a.ID, 20, &opts)); err != nil {
				t.Fatal(err)
			}
			same(t, "Similar("+string(a.ID)+")", got, recommend(trackEx(a.ID, 0)))

			cold := *a
			cold.ID = ""
			if got, err = neighbors(eng.SimilarTo(ctx, soundalike.Query{Track: &cold}, 20, &opts)); err != nil {
				t.Fatal(err)
			}
			same(t, "SimilarTo{Track: "+string(a.ID)+"'s copy}", got, recommend(soundalike.Example{Features: &cold}))

			v, err := eng.Embed(b)
			if err != nil {
				t.Fatal(err)
			}
			if got, err = neighbors(eng.SimilarTo(ctx, soundalike.Query{Vector: v}, 20, &opts)); err != nil {
				t.Fatal(err)
			}
			same(t, "SimilarTo{Vector: "+string(b.ID)+"'s}", got, recommend(soundalike.Example{Vector: v}))
		}
	}
}

// firstDiff describes the first result where got and want differ in
// track or score; "" when they agree as far as the shorter goes.
func firstDiff(got, want []soundalike.Neighbor) string {
	for i := range min(len(got), len(want)) {
		if got[i].ID != want[i].ID || got[i].Score != want[i].Score {
			return fmt.Sprintf("result %d: %s %v against %s %v", i, got[i].ID, got[i].Score, want[i].ID, want[i].Score)
		}
	}
	return ""
}

// TestQueryTrackErrorKeepsItsField: a query's track that an import would
// refuse is an ErrInvalidQuery that still holds the *FieldError naming the
// field, whichever entry point checks it.
func TestQueryTrackErrorKeepsItsField(t *testing.T) {
	ctx := t.Context()
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "e.db"), &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	bad := &soundalike.Track{Popularity: -1}
	_, embedErr := eng.Embed(bad)
	_, similarErr := eng.SimilarTo(ctx, soundalike.Query{Track: bad}, 5, nil)
	_, recommendErr := eng.Recommend(ctx, soundalike.RecommendQuery{Positive: []soundalike.Example{{Features: bad}}, K: 5})
	for name, err := range map[string]error{
		"CheckSimilarTo": soundalike.CheckSimilarTo(soundalike.Query{Track: bad}, 5, nil),
		"SimilarTo":      similarErr,
		"Embed":          embedErr,
		"Recommend":      recommendErr,
	} {
		var fe *soundalike.FieldError
		if !errors.Is(err, soundalike.ErrInvalidQuery) || !errors.As(err, &fe) || fe.Field != "popularity" {
			t.Errorf("%s of a track of popularity -1 = %v (field %+v), want an ErrInvalidQuery holding the *FieldError of popularity", name, err, fe)
		}
	}
}

// TestDeepPageScansWhenTheBeamCostsMore: a filtered search's beam is as
// wide as the candidates its first round asks for (offset + k and room
// for duplicates), so the cost model weighs the graph search at that
// beam: a filter that keeps half the catalogue is walked through its kept
// tracks for a first page, and scanned exactly for a page at offset 900,
// whose graph search would expand many times as many nodes. As much for
// each probe of best_score.
func TestDeepPageScansWhenTheBeamCostsMore(t *testing.T) {
	ctx := t.Context()
	eng, tracks, _ := facetFixture(t, 8000)
	var chosen []string
	soundalike.OnCandidateSource(func(src string) { chosen = append(chosen, src) })
	defer soundalike.OnCandidateSource(nil)
	filter := &soundalike.Filter{PopularityMin: ptr(50)}
	id := tracks[17].ID
	for _, tc := range []struct {
		offset, k int
		want      string
	}{{0, 10, "kept"}, {900, 100, "scan"}} {
		opts := soundalike.SearchOptions{Filter: filter, EfSearch: 80, Offset: tc.offset}
		chosen = chosen[:0]
		if _, err := eng.Similar(ctx, id, tc.k, &opts); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(chosen, []string{tc.want}) {
			t.Errorf("Similar at offset %d, k %d under a filter keeping half: candidates from %v, want %s", tc.offset, tc.k, chosen, tc.want)
		}
		for _, st := range soundalike.Strategies() {
			chosen = chosen[:0]
			q := soundalike.RecommendQuery{Positive: []soundalike.Example{trackEx(id, 0), trackEx(tracks[18].ID, 0)}, Strategy: st, K: tc.k, Options: opts}
			if _, err := eng.Recommend(ctx, q); err != nil {
				t.Fatal(err)
			}
			want := []string{tc.want}
			if st == soundalike.StrategyBestScore {
				want = append(want, tc.want) // one probe a positive
			}
			if !slices.Equal(chosen, want) {
				t.Errorf("Recommend %s at offset %d, k %d: candidates from %v, want %v", st, tc.offset, tc.k, chosen, want)
			}
		}
	}
}
