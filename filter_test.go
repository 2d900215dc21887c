package soundalike_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
)

// facetGenres are the synthetic catalogue's genres: every track has one
// of the first eight; 1% also have "niche" and 0.1% "micro".
var facetGenres = []string{"pop", "rock", "rap", "latin", "edm", "r&b", "jazz", "folk"}

// facetFixture is an engine over n synth.Track tracks (release years
// 1960–2020, popularity 0–100, seven tracks an artist) with genres, plus
// each track's embedding, computed once for the brute force.
func facetFixture(t testing.TB, n int) (*soundalike.Engine, []*soundalike.Track, map[soundalike.TrackID][]float32) {
	t.Helper()
	ctx := context.Background()
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "f.db"), &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	rng := rand.New(rand.NewPCG(3, 4))
	tracks := make([]*soundalike.Track, n)
	for i := range tracks {
		tr := new(soundalike.Track)
		synth.Track(11, i, tr)
		tr.Genres = []string{facetGenres[rng.IntN(len(facetGenres))]}
		if i%100 == 0 {
			tr.Genres = append(tr.Genres, "Niche")
		}
		if i%1000 == 500 {
			tr.Genres = append(tr.Genres, "micro")
		}
		tracks[i] = tr
	}
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
	vecs := make(map[soundalike.TrackID][]float32, n)
	for _, tr := range tracks {
		v, err := eng.Embed(tr)
		if err != nil {
			t.Fatal(err)
		}
		vecs[tr.ID] = v
	}
	return eng, tracks, vecs
}

// matches is the brute force's own reading of a Filter.
func matches(tr *soundalike.Track, f *soundalike.Filter) bool {
	if len(f.Genres) > 0 {
		found := false
		for _, g := range tr.Genres {
			for _, w := range f.Genres {
				found = found || strings.EqualFold(g, w)
			}
		}
		if !found {
			return false
		}
	}
	y := tr.ReleaseYear()
	if f.YearMin != nil && (y == 0 || y < *f.YearMin) || f.YearMax != nil && (y == 0 || y > *f.YearMax) {
		return false
	}
	if f.PopularityMin != nil && tr.Popularity < *f.PopularityMin || f.PopularityMax != nil && tr.Popularity > *f.PopularityMax {
		return false
	}
	if len(f.Artists) > 0 && !slices.ContainsFunc(tr.Artists, func(a string) bool { return slices.Contains(f.Artists, a) }) {
		return false
	}
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, tr.ID) {
		return false
	}
	return true
}

// filteredBruteForce ranks the tracks other than skip that match f by
// exact cosine to q, best first.
func filteredBruteForce(tracks []*soundalike.Track, vecs map[soundalike.TrackID][]float32, q []float32, f *soundalike.Filter, skip soundalike.TrackID) []soundalike.Neighbor {
	var out []soundalike.Neighbor
	for _, tr := range tracks {
		if tr.ID == skip || !matches(tr, f) {
			continue
		}
		v := vecs[tr.ID]
		var dot float32
		for i := range v {
			dot += v[i] * q[i]
		}
		out = append(out, soundalike.Neighbor{ID: tr.ID, Score: dot})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

func ptr[T any](v T) *T { return &v }

// namedFilter is a filter of a recall test, named by the share of
// facetFixture's catalogue it keeps.
type namedFilter struct {
	name   string
	filter soundalike.Filter
}

// selectiveFilters keep from half of facetFixture's catalogue to a
// thousandth.
var selectiveFilters = []namedFilter{
	{"50%/popularity", soundalike.Filter{PopularityMin: ptr(50)}},
	{"10%/years", soundalike.Filter{YearMin: ptr(2011), YearMax: ptr(2016)}},
	{"1%/genre", soundalike.Filter{Genres: []string{"niche"}}},
	{"1%/popularity", soundalike.Filter{PopularityMin: ptr(42), PopularityMax: ptr(42)}},
	{"0.1%/years+popularity", soundalike.Filter{YearMin: ptr(2000), YearMax: ptr(2000), PopularityMin: ptr(10), PopularityMax: ptr(15)}},
	{"0.1%/genre", soundalike.Filter{Genres: []string{"micro"}}},
}

// inEachSource runs check as the subtests name/chosen, name/graph and
// name/scan: with the candidates' source the cost model chooses, then
// with the filtered graph search and the exact scan forced.
func inEachSource(t *testing.T, name string, check func(t *testing.T)) {
	for _, mode := range []string{"chosen", "graph", "scan"} {
		t.Run(name+"/"+mode, func(t *testing.T) {
			switch mode {
			case "graph":
				soundalike.ForceScan(ptr(false))
			case "scan":
				soundalike.ForceScan(ptr(true))
			}
			defer soundalike.ForceScan(nil)
			check(t)
		})
	}
}

// TestFilteredRecall checks filtered searches against an exact filtered
// brute force at selectivities from half the catalogue to a thousandth:
// from the source the cost model chooses, and from the graph and the scan
// each.
func TestFilteredRecall(t *testing.T) {
	n := 30_000
	if testing.Short() {
		n = 10_000
	}
	eng, tracks, vecs := facetFixture(t, n)
	filters := append(slices.Clone(selectiveFilters),
		namedFilter{"12%/genres", soundalike.Filter{Genres: []string{"POP", "micro"}}},
		namedFilter{"artists", soundalike.Filter{Artists: []string{"Artist 3", "Artist 1000"}}},
		namedFilter{"ids", soundalike.Filter{IDs: []soundalike.TrackID{tracks[5].ID, tracks[50].ID, tracks[500].ID}}})
	for _, tc := range filters {
		inEachSource(t, tc.name, func(t *testing.T) { filteredRecall(t, eng, tracks, vecs, tc.filter) })
	}
}

// filteredRecall checks Similar's recall@20 under filter against the
// brute force, over 25 query tracks.
func filteredRecall(t *testing.T, eng *soundalike.Engine, tracks []*soundalike.Track, vecs map[soundalike.TrackID][]float32, filter soundalike.Filter) {
	ctx := t.Context()
	n := len(tracks)
	const k = 20
	byID := make(map[soundalike.TrackID]*soundalike.Track, len(tracks))
	for _, x := range tracks {
		byID[x.ID] = x
	}
	hits, total, matched := 0, 0, 0
	for qi := range 25 {
		tr := tracks[(qi*7919)%n]
		want := filteredBruteForce(tracks, vecs, vecs[tr.ID], &filter, tr.ID)
		matched = len(want)
		// Every other query excludes its best match too.
		opts := &soundalike.SearchOptions{Filter: &filter, NoDedupe: true}
		if qi%2 == 1 && len(want) > 0 {
			opts.Exclude = []soundalike.TrackID{want[0].ID}
			want = want[1:]
		}
		got, err := neighbors(eng.Similar(ctx, tr.ID, k, opts))
		if err != nil {
			t.Fatal(err)
		}
		want = want[:min(k, len(want))]
		if len(got) != len(want) {
			t.Fatalf("Similar(%s, %+v) returned %d results, want %d", tr.ID, filter, len(got), len(want))
		}
		for i, nb := range got {
			if !matches(byID[nb.ID], &filter) {
				t.Errorf("Similar(%s) returned %s, which the filter drops", tr.ID, nb.ID)
			}
			if nb.ID == tr.ID || slices.Contains(opts.Exclude, nb.ID) {
				t.Errorf("Similar(%s, exclude %v) returned %s", tr.ID, opts.Exclude, nb.ID)
			}
			if i > 0 && got[i-1].Score < nb.Score {
				t.Errorf("Similar(%s) not sorted by score", tr.ID)
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
	t.Logf("%d of %d tracks match; recall@%d %.4f", matched, n, k, recall)
	if recall < 0.98 {
		t.Errorf("recall@%d against the exact filtered search = %.4f, want ≥ 0.98", k, recall)
	}
}

// TestFilterRefusesUnknownGenres: a genre filter naming a genre no track
// has (a typo, a subgenre) is refused, naming the entry and listing the
// catalogue's genres, rather than answering nothing; the catalogue's own
// genres pass in any case.
func TestFilterRefusesUnknownGenres(t *testing.T) {
	eng, tracks, _ := facetFixture(t, 300)
	ctx := t.Context()
	genres := func(gs ...string) *soundalike.SearchOptions {
		return &soundalike.SearchOptions{Filter: &soundalike.Filter{Genres: gs}}
	}
	for _, tc := range []struct {
		name string
		run  func(*soundalike.SearchOptions) (soundalike.Results, error)
	}{
		{"Similar", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.Similar(ctx, tracks[0].ID, 10, o)
		}},
		{"Recommend/best_score", func(o *soundalike.SearchOptions) (soundalike.Results, error) {
			return eng.Recommend(ctx, soundalike.RecommendQuery{Positive: []soundalike.Example{{Track: tracks[0].ID}}, Strategy: soundalike.StrategyBestScore, K: 10, Options: *o})
		}},
	} {
		_, err := tc.run(genres("popp"))
		oe, ok := errors.AsType[*soundalike.OptionError](err)
		if !errors.Is(err, soundalike.ErrInvalidQuery) || !ok || oe.Option != "SearchOptions.Filter.Genres" || oe.Index != 0 {
			t.Fatalf("%s(genre popp) = %v, want an OptionError naming SearchOptions.Filter.Genres[0]", tc.name, err)
		}
		for _, want := range []string{`SearchOptions.Filter.Genres[0]: no track has genre "popp": want one of `, `"pop"`, `"r&b"`, `"Niche"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s(genre popp) = %v, want it to say %s", tc.name, err, want)
			}
		}
		// One unknown genre among known ones is refused too: it would
		// narrow the results silently.
		// The catalogue's genres are listed once, after the last.
		if _, err := tc.run(genres("pop", "dance pop", "rock", "polka")); err == nil ||
			!strings.Contains(err.Error(), `Genres[1]: no track has genre "dance pop"`+"\n") || !strings.Contains(err.Error(), `Genres[3]: no track has genre "polka": want one of `) ||
			strings.Count(err.Error(), "want one of") != 1 {
			t.Errorf("%s(genres pop, dance pop, rock, polka) = %v, want entries 1 and 3 refused, the genres listed once", tc.name, err)
		}
		if res, err := tc.run(genres("POP", "niche", "R&B")); err != nil || len(res.Neighbors) == 0 {
			t.Errorf("%s(genres POP, niche, R&B) = %d results, %v; want results", tc.name, len(res.Neighbors), err)
		}
	}
}

// TestUnknownGenreListsTheCatalogues: the refusal lists the most
// frequent of many genres, and says so of a catalogue without any.
func TestUnknownGenreListsTheCatalogues(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "g.db"), 60)
	_, err := eng.Similar(ctx, tracks[0].ID, 5, &soundalike.SearchOptions{Filter: &soundalike.Filter{Genres: []string{"pop"}}})
	if want := `SearchOptions.Filter.Genres[0]: no track has genre "pop": the catalogue's tracks have no genres: leave SearchOptions.Filter.Genres out`; !errors.Is(err, soundalike.ErrInvalidQuery) || err.Error() != want {
		t.Errorf("Similar(genre pop) of a catalogue without genres = %v, want %q", err, want)
	}
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for i, tr := range tracks[:50] {
			g := *tr
			g.Genres = []string{fmt.Sprintf("g%02d", i%25)}
			if i < 10 {
				g.Genres = append(g.Genres, "Common")
			}
			if _, _, err := tx.PutTrack(&g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.Similar(ctx, tracks[0].ID, 5, &soundalike.SearchOptions{Filter: &soundalike.Filter{Genres: []string{"pop"}}})
	want := `no track has genre "pop": want one of "Common", "g00", "g01", `
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"g18" (the 20 most frequent of the catalogue's 26;`) {
		t.Errorf("Similar(genre pop) of 26 genres = %v, want %q… \"g18\" (the 20 most frequent of the catalogue's 26", err, want)
	}
}

func TestFilterExcludeArtists(t *testing.T) {
	eng, tracks, _ := facetFixture(t, 2000)
	ctx := t.Context()
	all, err := neighbors(eng.Similar(ctx, tracks[0].ID, 50, nil))
	if err != nil {
		t.Fatal(err)
	}
	drop := all[0].Track.Artists[0]
	got, err := neighbors(eng.Similar(ctx, tracks[0].ID, 50, &soundalike.SearchOptions{Filter: &soundalike.Filter{ExcludeArtists: []string{strings.ToUpper(drop)}}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, nb := range got {
		if slices.Contains(nb.Track.Artists, drop) {
			t.Errorf("exclude_artists %q: result %s is by them", drop, nb.ID)
		}
	}
	if len(got) != 50 {
		t.Errorf("exclude_artists: %d results, want 50", len(got))
	}
}

func TestSearchOptionsValidation(t *testing.T) {
	eng, tracks, _ := facetFixture(t, 300)
	ctx := t.Context()
	for _, tc := range []struct {
		opts soundalike.SearchOptions
		k    int
		want string
	}{
		{soundalike.SearchOptions{Diversity: 1.5}, 10, "SearchOptions.Diversity: 1.5 is outside 0..1"},
		{soundalike.SearchOptions{Diversity: -0.1}, 10, "SearchOptions.Diversity: -0.1"},
		{soundalike.SearchOptions{Offset: -1}, 10, "SearchOptions.Offset: -1 is outside 0..999"},
		{soundalike.SearchOptions{Offset: 995}, 10, "SearchOptions.Offset: 995 with k 10 asks for results 996 to 1005: want SearchOptions.Offset + k ≤ 1000"},
		{soundalike.SearchOptions{MaxPerArtist: -2}, 10, "SearchOptions.MaxPerArtist: -2 is outside 0..1000 (0: no cap)"},
		{soundalike.SearchOptions{MaxPerArtist: soundalike.MaxK + 1}, 10, "SearchOptions.MaxPerArtist: 1001 is outside 0..1000 (0: no cap)"},
		{soundalike.SearchOptions{ScoreThreshold: ptr(1.5)}, 10, "SearchOptions.ScoreThreshold: 1.5 is outside -1..1"},
		{soundalike.SearchOptions{Filter: &soundalike.Filter{YearMin: ptr(2020), YearMax: ptr(2010)}}, 10, "SearchOptions.Filter.YearMin: 2020 is above SearchOptions.Filter.YearMax 2010: want SearchOptions.Filter.YearMin ≤ SearchOptions.Filter.YearMax"},
		{soundalike.SearchOptions{Filter: &soundalike.Filter{YearMax: ptr(12345)}}, 10, "SearchOptions.Filter.YearMax: 12345 is outside 1..9999"},
		{soundalike.SearchOptions{Filter: &soundalike.Filter{PopularityMin: ptr(-1)}}, 10, "SearchOptions.Filter.PopularityMin: -1 is outside 0..100"},
		{soundalike.SearchOptions{Filter: &soundalike.Filter{PopularityMin: ptr(90), PopularityMax: ptr(10)}}, 10, "SearchOptions.Filter.PopularityMin: 90 is above SearchOptions.Filter.PopularityMax 10"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := eng.Similar(ctx, tracks[0].ID, tc.k, &tc.opts)
			if !errors.Is(err, soundalike.ErrInvalidQuery) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Similar(%+v) = %v, want ErrInvalidQuery saying %q", tc.opts, err, tc.want)
			}
			_, err = eng.SimilarTo(ctx, soundalike.Query{Vector: make([]float32, 15)[:0:0]}, tc.k, &tc.opts)
			if err == nil {
				t.Errorf("SimilarTo(%+v) = nil error", tc.opts)
			}
		})
	}
}

// TestSearchOptionErrors: CheckSearch reports every bad value, each an
// *OptionError wrapping ErrInvalidQuery that names its option by its Go
// path (and the option it is judged against), so that a caller can name
// each its own way with Named; and it reports none for good options.
func TestSearchOptionErrors(t *testing.T) {
	opts := &soundalike.SearchOptions{
		Offset:    995,
		Diversity: 2,
		Filter:    &soundalike.Filter{YearMin: ptr(2030), YearMax: ptr(2010), Artists: []string{"a", ""}},
	}
	err := soundalike.CheckSearch(10, opts)
	if !errors.Is(err, soundalike.ErrInvalidQuery) {
		t.Fatalf("CheckSearch = %v, want ErrInvalidQuery", err)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("CheckSearch = %T %v, want the errors joined", err, err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		oe, ok := e.(*soundalike.OptionError)
		if !ok || !errors.Is(oe, soundalike.ErrInvalidQuery) {
			t.Fatalf("CheckSearch joined %T %v, want *OptionErrors wrapping ErrInvalidQuery", e, e)
		}
		got = append(got, fmt.Sprintf("%s[%d]/%s", oe.Option, oe.Index, oe.Other))
		if oe.Option == "SearchOptions.Filter.YearMin" {
			lower := func(option string) string {
				return strings.ToLower(strings.TrimPrefix(option, "SearchOptions.Filter."))
			}
			if msg, want := oe.Named(lower), "yearmin: 2030 is above yearmax 2010: want yearmin ≤ yearmax"; msg != want {
				t.Errorf("Named = %q, want %q", msg, want)
			}
		}
	}
	want := []string{
		"SearchOptions.Diversity[-1]/",
		"SearchOptions.Offset[-1]/k",
		"SearchOptions.Filter.YearMin[-1]/SearchOptions.Filter.YearMax",
		"SearchOptions.Filter.Artists[1]/",
	}
	if !slices.Equal(got, want) {
		t.Errorf("CheckSearch's errors name %q, want %q", got, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "SearchOptions.Filter.YearMin: 2030 is above SearchOptions.Filter.YearMax 2010: want SearchOptions.Filter.YearMin ≤ SearchOptions.Filter.YearMax") {
		t.Errorf("CheckSearch = %q, want it to name the year bounds", msg)
	}
	if err := soundalike.CheckSearch(0, nil); !strings.HasPrefix(fmt.Sprint(err), "k: 0 is outside 1..1000") {
		t.Errorf("CheckSearch(0, nil) = %v, want k named", err)
	}
	good := &soundalike.SearchOptions{Offset: 990, MaxPerArtist: soundalike.MaxK, Diversity: 1,
		Filter: &soundalike.Filter{YearMin: ptr(1), YearMax: ptr(1), PopularityMin: ptr(0), PopularityMax: ptr(100), Genres: []string{"pop"}}}
	if err := soundalike.CheckSearch(10, good); err != nil {
		t.Errorf("CheckSearch(10, %+v) = %v, want nil", good, err)
	}
	if n := testing.AllocsPerRun(100, func() { soundalike.CheckSearch(10, good) }); n != 0 {
		t.Errorf("CheckSearch of good options allocates %v times, want 0", n)
	}
}

// TestPagingAndThreshold checks that a page is the slice of the longer
// query's results, with and without diversity and caps, and that the
// threshold drops exactly the results below it.
func TestPagingAndThreshold(t *testing.T) {
	eng, tracks, _ := facetFixture(t, 3000)
	ctx := t.Context()
	for _, base := range []soundalike.SearchOptions{
		{},
		{MaxPerArtist: 1},
		{Diversity: 0.4},
		{Diversity: 1, MaxPerArtist: 2},
		{Filter: &soundalike.Filter{Genres: []string{"niche"}}},
		{Filter: &soundalike.Filter{YearMin: ptr(1990)}, Diversity: 0.2},
	} {
		t.Run(fmt.Sprintf("%+v", base), func(t *testing.T) {
			for _, tr := range tracks[:5] {
				all, err := neighbors(eng.Similar(ctx, tr.ID, 30, &base))
				if err != nil {
					t.Fatal(err)
				}
				for _, page := range []struct{ offset, k int }{{0, 10}, {10, 10}, {20, 10}, {5, 25}} {
					o := base
					o.Offset = page.offset
					got, err := neighbors(eng.Similar(ctx, tr.ID, page.k, &o))
					if err != nil {
						t.Fatal(err)
					}
					full, err := neighbors(eng.Similar(ctx, tr.ID, page.offset+page.k, &base))
					if err != nil {
						t.Fatal(err)
					}
					want := full[min(page.offset, len(full)):]
					if !slices.Equal(ids(got), ids(want)) {
						t.Errorf("offset %d k %d = %v, want %v", page.offset, page.k, ids(got), ids(want))
					}
				}
				if len(all) < 2 {
					continue
				}
				thr := float64(all[len(all)/2].Score)
				o := base
				o.ScoreThreshold = &thr
				got, err := neighbors(eng.Similar(ctx, tr.ID, 30, &o))
				if err != nil {
					t.Fatal(err)
				}
				var want []soundalike.TrackID
				for _, nb := range all {
					if float64(nb.Score) >= thr {
						want = append(want, nb.ID)
					}
				}
				if base.Diversity == 0 && !slices.Equal(ids(got), want) {
					t.Errorf("score_threshold %v = %v, want %v", thr, ids(got), want)
				}
				for _, nb := range got {
					if float64(nb.Score) < thr {
						t.Errorf("score_threshold %v: result %s scores %v", thr, nb.ID, nb.Score)
					}
				}
			}
		})
	}
}

func ids(ns []soundalike.Neighbor) []soundalike.TrackID {
	out := make([]soundalike.TrackID, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func TestMaxPerArtistAndDiversity(t *testing.T) {
	eng, tracks, vecs := facetFixture(t, 3000)
	ctx := t.Context()
	const k = 20
	var simPlain, simDiverse float64
	for _, tr := range tracks[:20] {
		got, err := neighbors(eng.Similar(ctx, tr.ID, k, &soundalike.SearchOptions{MaxPerArtist: 1}))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != k {
			t.Fatalf("max_per_artist 1: %d results, want %d", len(got), k)
		}
		seen := map[string]bool{}
		for _, nb := range got {
			for _, a := range nb.Track.Artists {
				if seen[a] {
					t.Errorf("max_per_artist 1: artist %s twice in %v", a, ids(got))
				}
				seen[a] = true
			}
		}
		plain, err := neighbors(eng.Similar(ctx, tr.ID, k, nil))
		if err != nil {
			t.Fatal(err)
		}
		diverse, err := neighbors(eng.Similar(ctx, tr.ID, k, &soundalike.SearchOptions{Diversity: 0.7}))
		if err != nil {
			t.Fatal(err)
		}
		if len(diverse) != k {
			t.Fatalf("diversity: %d results, want %d", len(diverse), k)
		}
		if diverse[0].ID != plain[0].ID {
			t.Errorf("diversity: first result %s, want the most similar %s", diverse[0].ID, plain[0].ID)
		}
		simPlain += meanPairwise(plain, vecs)
		simDiverse += meanPairwise(diverse, vecs)
	}
	t.Logf("mean pairwise cosine of the results: plain %.3f, diversity 0.7 %.3f", simPlain/20, simDiverse/20)
	if simDiverse >= simPlain {
		t.Errorf("diversity 0.7: mean pairwise similarity %.3f, want below the plain search's %.3f", simDiverse/20, simPlain/20)
	}
}

func meanPairwise(ns []soundalike.Neighbor, vecs map[soundalike.TrackID][]float32) float64 {
	var sum float64
	pairs := 0
	for i := range ns {
		for j := range i {
			a, b := vecs[ns[i].ID], vecs[ns[j].ID]
			var d float32
			for x := range a {
				d += a[x] * b[x]
			}
			sum += float64(d)
			pairs++
		}
	}
	return sum / float64(pairs)
}

// TestFilteredSearchSkipsDeletedTracks: a track deleted since the index
// was built is never a result of a filtered search, whichever path the
// search takes. A broad filter with no exclusions walks the graph testing
// the condition alone (a deleted node's attributes are zero, which
// PopularityMax admits) and must still drop the deleted node after.
func TestFilteredSearchSkipsDeletedTracks(t *testing.T) {
	ctx := t.Context()
	eng, tracks, vecs := facetFixture(t, 3000)
	victim := tracks[1234]
	if err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		_, err := tx.DeleteTrack(victim.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for name, flt := range map[string]*soundalike.Filter{
		"popularity at most 100": {PopularityMax: ptr(100)},
		"popularity at least 0":  {PopularityMin: ptr(0)},
		"years 1900 to 2100":     {YearMin: ptr(1900), YearMax: ptr(2100)},
	} {
		res, err := eng.SimilarTo(ctx, soundalike.Query{Vector: vecs[victim.ID]}, 5, &soundalike.SearchOptions{Filter: flt})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, nb := range res.Neighbors {
			if nb.ID == "" || nb.ID == victim.ID {
				t.Errorf("%s: result %q (score %.4f): a track deleted since the reindex", name, nb.ID, nb.Score)
			}
		}
		if len(res.Neighbors) != 5 {
			t.Errorf("%s: %d results, want 5", name, len(res.Neighbors))
		}
	}
}

// TestFootprintCountsFacetsAndMap: the snapshot's footprint counts the
// filters' facets (an attribute entry of 16 bytes a node, at least) and
// the map (a node, its two coordinates and its position: 16 bytes a
// track), and its total holds them.
func TestFootprintCountsFacetsAndMap(t *testing.T) {
	const n = 3000
	eng, _, _ := facetFixture(t, n)
	fp := eng.Footprint()
	if fp.Facets < 16*n || fp.Map < 16*n {
		t.Errorf("Footprint: facets %d and map %d bytes for %d tracks, want at least %d each", fp.Facets, fp.Map, n, 16*n)
	}
	parts := fp.Vectors + fp.Graph + fp.Catalogue + fp.DedupeKeys + fp.WordIndex + fp.Histories
	if fp.Total() != parts+fp.Facets+fp.Map {
		t.Errorf("Footprint.Total() = %d, want the parts' sum %d", fp.Total(), parts+fp.Facets+fp.Map)
	}
}
