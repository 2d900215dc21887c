package trainer

import (
	"math"
	"slices"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/eval"
)

// TestGenresNeverAnInput: a model trained with the default (auto)
// features embeds a track bit-identically whatever its Genres and
// Subgenres say (they are the playlists' labels that evaluation measures),
// and the same model does read the track's artists.
func TestGenresNeverAnInput(t *testing.T) {
	tracks, ins := loadSample(t)
	res, err := Train(t.Context(), tracks, ins, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	if len(m.Tables()) == 0 {
		t.Fatal("the auto features learned no metadata table")
	}
	before, err := eval.Embed(m, tracks)
	if err != nil {
		t.Fatal(err)
	}
	changed := slices.Clone(tracks)
	for i := range changed {
		changed[i].Genres = []string{"polka", "genre-" + string(rune('a'+i%26))}
		changed[i].Subgenres = nil
		if i%3 == 0 {
			changed[i].Genres = nil
			changed[i].Subgenres = []string{"x", "y", "z"}
		}
	}
	after, err := eval.Embed(m, changed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if math.Float32bits(before[i]) != math.Float32bits(after[i]) {
			t.Fatalf("component %d of track %s changed with its genres: %v → %v", i%m.Dim(), tracks[i/m.Dim()].ID, before[i], after[i])
		}
	}
	// The test can fail: the same model moves when the artists change.
	changed[0].Artists = []string{"Someone Else Entirely"}
	moved, err := eval.Embed(m, changed[:1])
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(moved, before[:m.Dim()]) {
		t.Fatal("changing a track's artist did not change its embedding: the model does not read artists")
	}
}

// TestColdStart: a track whose artist, album and name were never seen
// embeds through the hashed buckets to a unit vector, and its nearest
// catalogue tracks are closer in audio features than random ones.
func TestColdStart(t *testing.T) {
	tracks, ins := loadSample(t)
	res, err := Train(t.Context(), tracks, ins, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	vecs, err := eval.Embed(m, tracks)
	if err != nil {
		t.Fatal(err)
	}
	raw := eval.RawFeatures(tracks) // standardised audio features, unit length
	dim := m.Dim()
	var nearDist, randDist float64
	const probes, k = 40, 10
	for p := 0; p < probes; p++ {
		src := tracks[(p*37)%len(tracks)]
		cold := soundalike.Track{ID: "cold", Features: src.Features, DurationMS: src.DurationMS, ReleaseDate: src.ReleaseDate, Popularity: src.Popularity,
			Artists: []string{"Zqx Unheard Artist"}, Album: "Qqv Never Released", Name: "Wxyz Brand New Song"}
		rv, err := soundalike.RawInputs(&cold, m.Inputs(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for ti, tb := range m.Tables() {
			if tb.Name == "name" {
				continue // its words and 3-grams are common ones
			}
			for _, row := range m.TokenRows(ti, rv, nil) {
				if row >= 0 && row < len(tb.Vocab) {
					t.Fatalf("table %s: an unseen token found vocabulary row %d", tb.Name, row)
				}
			}
		}
		v, err := m.Embed(rv, nil)
		if err != nil {
			t.Fatal(err)
		}
		var norm float64
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		if math.IsNaN(norm) || math.Abs(norm-1) > 1e-5 {
			t.Fatalf("cold-start embedding has |v|² = %v, want 1", norm)
		}
		// The cold track's audio vector is its source's (same features).
		q := raw[(p*37)%len(tracks)*soundalike.NumFeatures:][:soundalike.NumFeatures]
		for _, i := range nearest(vecs, dim, v, k) {
			nearDist += featureDistance(q, raw[i*soundalike.NumFeatures:][:soundalike.NumFeatures])
		}
		for j := 0; j < k; j++ {
			i := (p*131 + j*977) % len(tracks)
			randDist += featureDistance(q, raw[i*soundalike.NumFeatures:][:soundalike.NumFeatures])
		}
	}
	nearDist /= probes * k
	randDist /= probes * k
	t.Logf("mean audio-feature distance: %d nearest %.3f, random %.3f", k, nearDist, randDist)
	if !(nearDist < 0.8*randDist) {
		t.Fatalf("a cold-start track's nearest tracks are %.3f away in audio features, random ones %.3f: not near tracks with close features", nearDist, randDist)
	}
}

// nearest returns the indices of the k vectors of vecs closest to v.
func nearest(vecs []float32, dim int, v []float32, k int) []int {
	type hit struct {
		i int
		s float32
	}
	var hs []hit
	for i := 0; i < len(vecs)/dim; i++ {
		var s float32
		for j, x := range vecs[i*dim : (i+1)*dim] {
			s += x * v[j]
		}
		hs = append(hs, hit{i, s})
	}
	slices.SortFunc(hs, func(a, b hit) int {
		if a.s > b.s {
			return -1
		}
		if a.s < b.s {
			return 1
		}
		return a.i - b.i
	})
	out := make([]int, k)
	for j := range out {
		out[j] = hs[j].i
	}
	return out
}

// featureDistance is 1 − cosine of two unit vectors.
func featureDistance(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return 1 - s
}

// TestEveryCatalogueTokenHasARow: with the default minimum count every
// artist and album of the catalogue gets a row of its own, so two tracks
// share a row only when they share the artist or album (a shared hashed
// bucket would make unrelated one-track artists neighbours). With a
// minimum count of 2 the one-track ones fall into the buckets.
func TestEveryCatalogueTokenHasARow(t *testing.T) {
	tracks, _ := loadSample(t)
	prepared := func(minCount int) *run {
		cfg := DefaultConfig()
		cfg.VocabMinCount = minCount
		r := newRun(tracks, &cfg)
		if err := r.prepareInputs(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	names := map[string]func(tr *soundalike.Track, slot int) string{
		"artists": func(tr *soundalike.Track, slot int) string { return tr.Artists[slot] },
		"album":   func(tr *soundalike.Track, _ int) string { return tr.Album },
	}
	r, r2 := prepared(DefaultConfig().VocabMinCount), prepared(2)
	for name, tokenOf := range names {
		ti := slices.IndexFunc(r.fs.tables, func(ti tableInput) bool { return ti.Name == name })
		if ti < 0 {
			t.Fatalf("no %s table", name)
		}
		slots, vocab := r.fs.tables[ti].Slots, len(r.fs.tables[ti].Vocab)
		owner := map[int]string{}
		for i := range tracks {
			for s, row := range r.rows[ti][i*slots : (i+1)*slots] {
				if row < 0 {
					continue
				}
				key := embedder.Key(tokenOf(&tracks[i], s))
				if row >= vocab {
					t.Fatalf("track %s: %s %q has bucket row %d, not a vocabulary row (< %d)", tracks[i].ID, name, key, row, vocab)
				}
				if o, ok := owner[row]; ok && o != key {
					t.Fatalf("%s %q and %q share row %d", name, o, key, row)
				}
				owner[row] = key
			}
		}
		vocab2 := len(r2.fs.tables[ti].Vocab)
		buckets := 0
		for _, row := range r2.rows[ti] {
			if row >= vocab2 {
				buckets++
			}
		}
		if buckets == 0 {
			t.Fatalf("%s: with --vocab-min-count 2 no token of the %d tracks fell into a bucket: the sample has no one-track %s, and the test proves nothing", name, len(tracks), name)
		}
		t.Logf("%s: %d tokens with a row each; at min count 2, %d slots in buckets", name, len(owner), buckets)
	}
}
