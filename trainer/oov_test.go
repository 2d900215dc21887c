package trainer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/eval"
)

// TestUnknownRows: a vocabulary row no training track reads (a token
// only held-out tracks have) is read as its token's hashed bucket, the row
// the token would have outside the vocabulary, and a model gets that
// bucket's weights in it; the trained rows and the buckets keep theirs.
func TestUnknownRows(t *testing.T) {
	tb := embedder.Table{Name: "artists", Dim: 1, OutDim: 1, Vocab: []uint32{10, 20, 30}, Buckets: 5, Seed: 9}
	tb.W = make([]float32, tb.Rows()*tb.RowWidth())
	for i := range tb.W {
		tb.W[i] = float32(i + 1)
	}
	bucketOf := func(id uint32) int {
		return len(tb.Vocab) + (&embedder.Table{Buckets: tb.Buckets, Seed: tb.Seed}).Row(id)
	}
	rows := []int{0, 1, 2, -1}       // track 3 has no artist
	train := [][]uint32{{0, 1}, {3}} // track 2 is held out only
	u := findUnknownRows(&tb, 1, rows, train)
	if want := []bool{true, true, false}; !slices.Equal(u.trained, want) {
		t.Fatalf("trained vocabulary rows %v, want %v", u.trained, want)
	}
	for row, id := range tb.Vocab {
		if u.bucket[row] != bucketOf(id) {
			t.Fatalf("row %d (id %d) falls back to row %d, want its bucket %d", row, id, u.bucket[row], bucketOf(id))
		}
	}
	for row := len(tb.Vocab); row < tb.Rows(); row++ {
		if u.bucket[row] != row {
			t.Fatalf("bucket row %d falls back to %d, want itself", row, u.bucket[row])
		}
	}
	u.remap(rows)
	if want := []int{0, 1, bucketOf(30), -1}; !slices.Equal(rows, want) {
		t.Fatalf("remapped rows %v, want %v", rows, want)
	}
	before := slices.Clone(tb.W)
	u.fill(&tb)
	row := func(w []float32, r int) []float32 { return w[r*2 : r*2+2] }
	if !slices.Equal(row(tb.W, 2), row(before, bucketOf(30))) {
		t.Fatalf("untrained row 2 is %v, want its bucket's %v", row(tb.W, 2), row(before, bucketOf(30)))
	}
	for _, r := range []int{0, 1, 3, 4, 5, 6, 7} {
		if !slices.Equal(row(tb.W, r), row(before, r)) {
			t.Fatalf("row %d changed from %v to %v", r, row(before, r), row(tb.W, r))
		}
	}
}

// TestDropTokens: token dropout reads a present slot as its token's
// bucket, and leaves absent slots alone.
func TestDropTokens(t *testing.T) {
	tb := embedder.Table{Name: "album", Dim: 1, Vocab: []uint32{10, 20}, Buckets: 4, Seed: 3}
	u := findUnknownRows(&tb, 1, []int{0, 1}, [][]uint32{{0, 1}})
	lk := &lookup{idx: []int{0, 1, 0}, wt: []float32{1, 1, 0}}
	nt := &net{tables: []*lookup{lk}}
	rng := rand.New(rand.NewPCG(1, 2))
	dropTokens(nt, []unknownRows{u}, 0, rng)
	if !slices.Equal(lk.idx, []int{0, 1, 0}) {
		t.Fatalf("rate 0 changed the rows to %v", lk.idx)
	}
	dropTokens(nt, []unknownRows{u}, math.Nextafter(1, 0), rng)
	if want := []int{u.bucket[0], u.bucket[1], 0}; !slices.Equal(lk.idx, want) {
		t.Fatalf("rows %v after dropping every token, want %v (the buckets; the absent slot untouched)", lk.idx, want)
	}
}

// TestHeldOutTokensDoNotCluster: in a model trained with token dropout,
// the artists and albums only held-out users' tracks have read their
// hashed buckets, as
// tokens the catalogue lacks do, not rows that kept their starting
// weights (which on the dev data gave those tracks a cluster of their
// own that validation rewarded). And those tracks are no closer to each
// other than the training tracks are: one shared unknown row instead of
// the buckets gathers them (mean cosine 0.82 against 0.68 here).
func TestHeldOutTokensDoNotCluster(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	cfg.NameTokens = 0
	cfg.TokenDropout = 0.1
	res, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	names, users, _ := eval.GroupUsers(tracks, ins, cfg.Actions, nil)
	held := map[string]bool{}
	for _, u := range res.ValidationUsers {
		held[u] = true
	}
	trained := make([]bool, len(tracks))
	for u, ts := range users {
		if !held[names[u]] {
			for _, tr := range ts {
				trained[tr] = true
			}
		}
	}
	// Which tables' rows each track reads.
	ni := len(m.Inputs())
	raw := make([]float32, 0, len(tracks)*ni)
	for i := range tracks {
		v, err := soundalike.RawInputs(&tracks[i], m.Inputs(), raw[len(raw):len(raw):cap(raw)])
		if err != nil {
			t.Fatal(err)
		}
		raw = raw[:len(raw)+len(v)]
	}
	untrained := 0
	for ti, tb := range m.Tables() {
		readByTraining := map[int]bool{}
		var heldOnly []int
		var tok []int
		for i := range tracks {
			tok = m.TokenRows(ti, raw[i*ni:(i+1)*ni], tok)
			for _, row := range tok {
				if row >= 0 && trained[i] {
					readByTraining[row] = true
				}
			}
		}
		for i := range tracks {
			tok = m.TokenRows(ti, raw[i*ni:(i+1)*ni], tok)
			for _, row := range tok {
				if row >= 0 && row < len(tb.Vocab) && !readByTraining[row] {
					heldOnly = append(heldOnly, row)
				}
			}
		}
		d := tb.RowWidth()
		hashed := embedder.Table{Buckets: tb.Buckets, Seed: tb.Seed}
		for _, row := range heldOnly {
			b := len(tb.Vocab) + hashed.Row(tb.Vocab[row])
			if !slices.Equal(tb.W[row*d:(row+1)*d], tb.W[b*d:(b+1)*d]) {
				t.Fatalf("table %s: row %d, read only by held-out tracks, is not its token's bucket %d (the row of a token the catalogue lacks)", tb.Name, row, b)
			}
		}
		untrained += len(heldOnly)
		t.Logf("table %s: %d token slots of held-out tracks read their buckets", tb.Name, len(heldOnly))
	}
	if untrained == 0 {
		t.Fatal("no held-out track has an artist or album no training track has: the test proves nothing")
	}
	vecs, err := eval.Embed(m, tracks)
	if err != nil {
		t.Fatal(err)
	}
	dim := m.Dim()
	var sum, count [2]float64 // [0] training–training, [1] others–others
	for a := range tracks {
		for b := a + 1; b < len(tracks); b++ {
			if trained[a] != trained[b] {
				continue
			}
			k := 0
			if !trained[a] {
				k = 1
			}
			var s float64
			for j := 0; j < dim; j++ {
				s += float64(vecs[a*dim+j]) * float64(vecs[b*dim+j])
			}
			sum[k] += s
			count[k]++
		}
	}
	if count[1] == 0 {
		t.Fatal("every track is a training track's: the test proves nothing")
	}
	tt, uu := sum[0]/count[0], sum[1]/count[1]
	t.Logf("mean cosine: training tracks %.3f (%.0f pairs), the others %.3f (%.0f pairs)", tt, count[0], uu, count[1])
	if uu > tt+0.05 {
		t.Fatalf("tracks in no training playlist have mean cosine %.3f with each other, training tracks %.3f: they cluster", uu, tt)
	}
}
