package soundalike_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
)

// TestFilteredRecallDev measures the recall@10 of filtered Similar
// queries against an exact search of what the filter keeps, on the dev
// catalogue (SOUNDALIKE_DEV_DATA) embedded by a model for which the
// release year and the popularity weigh much (eraModel): real tracks
// cluster, and a filter on those inputs keeps tracks that cluster too,
// unlike the synthetic catalogue's uniform ones. With the model trained on
// the dev catalogue, year_min=2015&popularity_min=50 (24% of the tracks)
// had a recall of 0.964 where unfiltered queries had 1: for a query among
// tracks the filter mostly drops, the search through kept tracks only
// missed some of the nearest. SOUNDALIKE_RECALL_DB names a database with
// a model and an index (opened read-only) to measure instead, such as
// one a trained model was reindexed into.
func TestFilteredRecallDev(t *testing.T) {
	ctx := t.Context()
	var eng *soundalike.Engine
	var err error
	if p := os.Getenv("SOUNDALIKE_RECALL_DB"); p != "" {
		eng, err = soundalike.Open(p, &soundalike.Options{ReadOnly: true, Detached: true})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
	} else {
		path := devDB(t)
		eng, err = soundalike.Open(path, &soundalike.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		if _, err := eng.SaveModel(ctx, eraModel(t, 6), soundalike.ModelRun{}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Reindex(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	type item struct {
		id        soundalike.TrackID
		year, pop int
		v         []float32
	}
	var all []item
	err = eng.ForEachEmbedding(ctx, func(tr *soundalike.Track, v soundalike.Embedding) error {
		all = append(all, item{tr.ID, tr.ReleaseYear(), tr.Popularity, slices.Clone(v)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dot := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	const k, queries = 10, 100
	cases := []struct {
		name   string
		filter *soundalike.Filter
		keep   func(it *item) bool
		want   float64
	}{
		{"none", nil, func(*item) bool { return true }, 0.99},
		{"year_min=2015", &soundalike.Filter{YearMin: ptr(2015)},
			func(it *item) bool { return it.year >= 2015 }, 0.99},
		{"popularity_min=50", &soundalike.Filter{PopularityMin: ptr(50)},
			func(it *item) bool { return it.pop >= 50 }, 0.99},
		{"year_min=2015&popularity_min=50", &soundalike.Filter{YearMin: ptr(2015), PopularityMin: ptr(50)},
			func(it *item) bool { return it.year >= 2015 && it.pop >= 50 }, 0.99},
		{"year_max=2000", &soundalike.Filter{YearMax: ptr(2000)},
			func(it *item) bool { return it.year > 0 && it.year <= 2000 }, 0.99},
		{"popularity_max=20", &soundalike.Filter{PopularityMax: ptr(20)},
			func(it *item) bool { return it.pop <= 20 }, 0.99},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-34s %6s %8s %8s  %s\n", "filter", "keeps", "recall", "worst", "sources")
	sources := map[string]int{}
	soundalike.OnCandidateSource(func(src string) { sources[src]++ })
	defer soundalike.OnCandidateSource(nil)
	for _, c := range cases {
		kept := 0
		for i := range all {
			if c.keep(&all[i]) {
				kept++
			}
		}
		clear(sources)
		hits, worst := 0, k
		for qi := range queries {
			q := &all[qi*len(all)/queries]
			var exact []float64
			for i := range all {
				if it := &all[i]; it.id != q.id && c.keep(it) {
					exact = append(exact, dot(q.v, it.v))
				}
			}
			slices.SortFunc(exact, func(a, b float64) int { return -cmpFloat(a, b) })
			kth := exact[min(k, len(exact))-1]
			res, err := eng.Similar(ctx, q.id, k, &soundalike.SearchOptions{NoDedupe: true, Filter: c.filter})
			if err != nil {
				t.Fatal(err)
			}
			h := 0
			for _, n := range res.Neighbors {
				if float64(n.Score) >= kth-1e-4 {
					h++
				}
			}
			hits += h
			worst = min(worst, h)
		}
		recall := float64(hits) / float64(k*queries)
		fmt.Fprintf(&table, "%-34s %5.1f%% %8.3f %5d/%d  %v\n", c.name, 100*float64(kept)/float64(len(all)), recall, worst, k, sources)
		if recall < c.want {
			t.Errorf("%s: recall@%d %.3f over %d queries, want ≥ %.2f", c.name, k, recall, queries, c.want)
		}
	}
	t.Logf("recall@%d against an exact search, %d queries, %d tracks:\n%s", k, queries, len(all), table.String())
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// eraModel is randomModel with the release year and the popularity
// weighing amp times as much: its embeddings cluster by era and
// popularity, as a model trained on the dev catalogue's playlists does.
func eraModel(t *testing.T, amp float64) *embedder.Model {
	t.Helper()
	m := randomModel(t, 32)
	inputs := m.InputSpecs()
	mean, std := m.Standardization()
	names := m.Inputs()
	encode := func(tr *soundalike.Track) []float32 {
		raw, err := soundalike.RawInputs(tr, names, nil)
		if err != nil {
			t.Fatal(err)
		}
		return embedder.Encode(inputs, raw, nil)
	}
	base := encode(&soundalike.Track{ReleaseDate: "2000", Popularity: 40})
	other := encode(&soundalike.Track{ReleaseDate: "2010", Popularity: 60})
	scaled := 0
	for i := range base {
		if base[i] != other[i] {
			std[i] /= float32(amp)
			scaled++
		}
	}
	if scaled != 2 {
		t.Fatalf("%d encoded columns differ between two years and popularities, want 2", scaled)
	}
	era, err := embedder.New(inputs, mean, std, m.Layers(), m.Config())
	if err != nil {
		t.Fatal(err)
	}
	return era
}
