package trainer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/audotics/soundalike"
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
		v := m.Embed(rv, nil)
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

// TestLazyAdamDenseRows: when every row of a table is used in every step,
// the lazy update is Adam's textbook rule, here in float64: three steps
// of fixed gradients.
func TestLazyAdamDenseRows(t *testing.T) {
	const rows, width, eta = 3, 2, 0.01
	a := &lazyAdam{eta: eta, m: [][]float32{make([]float32, rows*width)}, v: [][]float32{make([]float32, rows*width)}}
	w := []float32{0.5, -0.5, 1, 0, -1, 2}
	want := make([]float64, len(w))
	m, v := make([]float64, len(w)), make([]float64, len(w))
	for i := range w {
		want[i] = float64(w[i])
	}
	for it := 1; it <= 3; it++ {
		g := []float32{0.1, -0.2, 0.3 * float32(it), 0, -0.5, 0.05}
		for i := range want {
			gi := float64(g[i])
			m[i] = 0.9*m[i] + 0.1*gi
			v[i] = 0.999*v[i] + 0.001*gi*gi
			mh, vh := m[i]/(1-math.Pow(0.9, float64(it))), v[i]/(1-math.Pow(0.999, float64(it)))
			want[i] -= eta * mh / (math.Sqrt(vh) + 1e-8)
		}
		a.iter++
		c1 := float32(1 / (1 - math.Pow(adamBeta1, float64(a.iter))))
		c2 := float32(1 / (1 - math.Pow(adamBeta2, float64(a.iter))))
		for r := 0; r < rows; r++ {
			a.update(w[r*width:][:width], g[r*width:][:width], a.m[0][r*width:][:width], a.v[0][r*width:][:width], c1, c2)
		}
		for i, x := range g {
			if x != 0 {
				t.Fatalf("step %d: gradient %d not cleared", it, i)
			}
		}
	}
	for i := range w {
		if math.Abs(float64(w[i])-want[i]) > 1e-5 {
			t.Fatalf("weight %d = %v, Adam gives %v", i, w[i], want[i])
		}
	}
}

// TestLazyAdamTouchesOnlyUsedRows: a training step moves the table rows
// of the batch's tokens and no other.
func TestLazyAdamTouchesOnlyUsedRows(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.DropoutRate = 4, 0
	rng := rand.New(rand.NewPCG(5, 5))
	tb := tableInput{Slots: 2}
	tb.Name, tb.Dim, tb.OutDim, tb.Buckets = "artists", 3, cfg.EmbeddingSize, 20
	tb.W = make([]float32, tb.Rows()*tb.RowWidth())
	for i := range tb.W {
		tb.W[i] = float32(rng.NormFloat64())
	}
	nt, err := newNet(cfg.BatchSize, 4, []tableInput{tb}, []int{8}, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		t.Fatal(err)
	}
	defer nt.close()
	copy(nt.input(), benchInput(2*cfg.BatchSize, 4))
	used := map[int]bool{}
	for r := range 2 * cfg.BatchSize {
		rows := []int{r, -1} // rows 0..7 used; the second slot absent
		if r%2 == 0 {
			rows[1] = 10 + r
		}
		for _, x := range rows {
			if x >= 0 {
				used[x] = true
			}
		}
		nt.tables[0].set(r, rows)
	}
	nt.setDropout(false, nil)
	if _, err := nt.run(true); err != nil {
		t.Fatal(err)
	}
	after := nt.tableWeights()[0].W
	rw := tb.RowWidth()
	for row := range tb.Rows() {
		moved := !slices.Equal(after[row*rw:(row+1)*rw], tb.W[row*rw:(row+1)*rw])
		if moved != used[row] {
			t.Fatalf("row %d: moved %v, used by the batch %v", row, moved, used[row])
		}
	}
}
