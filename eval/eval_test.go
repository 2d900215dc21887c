package eval

import (
	"math"
	"slices"
	"testing"

	"github.com/audotics/soundalike"
)

// mustRandom is Random for arguments known to be good.
func mustRandom(t *testing.T, n, dim int, seed uint64) []float32 {
	t.Helper()
	v, err := Random(n, dim, seed)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func unit2(deg float64) []float32 {
	r := deg * math.Pi / 180
	return []float32{float32(math.Cos(r)), float32(math.Sin(r))}
}

// TestScoreHandMade: six tracks on a circle, two users. The answer is
// worked out by hand in the comments.
func TestScoreHandMade(t *testing.T) {
	var vecs []float32
	for _, deg := range []float64{0, 10, 22, 90, 100, 14} {
		vecs = append(vecs, unit2(deg)...)
	}
	users := [][]uint32{{0, 1, 2}, {3, 4}, {5}}
	tracks := []soundalike.Track{
		{Genres: []string{"pop"}}, {Genres: []string{"pop"}}, {Genres: []string{"pop"}},
		{Genres: []string{"rock"}}, {Genres: []string{"rock"}}, {Genres: []string{"pop"}},
	}
	qs := Sample(users, 0, 1)
	if len(qs) != 5 {
		t.Fatalf("Sample gave %d queries, want 5 (user 2 has one track)", len(qs))
	}
	// k=2. Top two per query, hits among the user's other tracks:
	//   0 (0°):   1, 5      → 1 hit, recall 1/2, genres 2/2
	//   1 (10°):  5, 0      → 1 hit, recall 1/2, genres 2/2
	//   2 (22°):  5, 1      → 1 hit, recall 1/2, genres 2/2
	//   3 (90°):  4, 2      → 1 hit, recall 1/1, genres 1/2
	//   4 (100°): 3, 2      → 1 hit, recall 1/1, genres 1/2
	got, err := Score(vecs, 2, users, qs, GenreSets(tracks), 2)
	if err != nil {
		t.Fatal(err)
	}
	want := Scores{Precision: 0.5, Recall: 3.5 / 5, GenrePrecision: 4.0 / 5}
	if math.Abs(got.Precision-want.Precision) > 1e-9 || math.Abs(got.Recall-want.Recall) > 1e-9 || math.Abs(got.GenrePrecision-want.GenrePrecision) > 1e-9 {
		t.Fatalf("Score = %+v, want %+v", got, want)
	}
}

// TestScoreArtistsHandMade: the circle of TestScoreHandMade with artists
// 0:A 1:B 2:A 3:C 4:D 5:B; k=2, worked out by hand.
func TestScoreArtistsHandMade(t *testing.T) {
	var vecs []float32
	for _, deg := range []float64{0, 10, 22, 90, 100, 14} {
		vecs = append(vecs, unit2(deg)...)
	}
	users := [][]uint32{{0, 1, 2}, {3, 4}, {5}}
	var tracks []soundalike.Track
	for _, a := range []string{"A", "b", "a ", "C", "D", "B"} { // Key folds case and space
		tracks = append(tracks, soundalike.Track{Artists: []string{a}})
	}
	qs := Sample(users, 0, 1)
	// Cross-artist top two (same-artist tracks removed), hits, user's
	// other tracks by other artists:
	//   0 (A):  1, 5  → 1 hit of {1}
	//   1 (B):  0, 2  → 2 hits of {0, 2}
	//   2 (A):  5, 1  → 1 hit of {1}
	//   3 (C):  4, 2  → 1 hit of {4}
	//   4 (D):  3, 2  → 1 hit of {3}
	lab := &Labels{Artists: ArtistSets(tracks)}
	got, err := ScoreLabels(vecs, 2, users, qs, lab, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Precision != 0.5 || math.Abs(got.PrecisionCrossArtist-0.6) > 1e-9 || got.RecallCrossArtist != 1 {
		t.Fatalf("ScoreLabels = %+v, want precision 0.5, cross-artist precision 0.6 and recall 1", got)
	}
	// Same artist first: 0 → 2, 1 (2 hits); 1 → 5, 0; 2 → 0, 5; 3 → 4, 2;
	// 4 → 3, 2 (one hit each).
	lab.SameArtistFirst = true
	if got, err = ScoreLabels(vecs, 2, users, qs, lab, 2); err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Precision-0.6) > 1e-9 || math.Abs(got.PrecisionCrossArtist-0.6) > 1e-9 {
		t.Fatalf("same artist first: %+v, want precision 0.6 and the same cross-artist precision 0.6", got)
	}
}

func TestTopKOrder(t *testing.T) {
	var vecs []float32
	for _, deg := range []float64{0, 50, 5, 30, 5, 179} {
		vecs = append(vecs, unit2(deg)...)
	}
	top := topK(vecs, 2, 0, 4, nil)
	want := []uint32{2, 4, 3, 1} // 2 and 4 tie: lower index first
	for i, h := range top {
		if h.id != want[i] {
			t.Fatalf("topK = %v, want ids %v", top, want)
		}
	}
}

func TestSampleCap(t *testing.T) {
	users := [][]uint32{{0, 1, 2, 3}, {4, 5, 6}, {7}}
	a, b := Sample(users, 4, 9), Sample(users, 4, 9)
	if len(a) != 4 {
		t.Fatalf("Sample(cap 4) = %d queries, want 4", len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("Sample is not reproducible: %v vs %v", a, b)
		}
		if a[i].User == 2 {
			t.Fatalf("Sample picked user 2, who has one track")
		}
	}
}

func TestMeanPairwiseCosine(t *testing.T) {
	same := make([]float32, 0, 200)
	for range 100 {
		same = append(same, 0.6, 0.8)
	}
	if c, err := MeanPairwiseCosine(same, 2, 1000, 1); err != nil || math.Abs(c-1) > 1e-6 {
		t.Fatalf("MeanPairwiseCosine(collapsed) = %v, %v; want 1", c, err)
	}
	if c, err := MeanPairwiseCosine(mustRandom(t, 2000, 64, 1), 64, 5000, 1); err != nil || math.Abs(c) > 0.02 {
		t.Fatalf("MeanPairwiseCosine(random) = %v, %v; want about 0", c, err)
	}
}

func TestGroupUsers(t *testing.T) {
	tracks := []soundalike.Track{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	ins := []soundalike.Interaction{
		{User: "u2", Track: "b", Action: "play"},
		{User: "u1", Track: "c", Action: "like"},
		{User: "u1", Track: "a", Action: "play"},
		{User: "u1", Track: "a", Action: "addToPlaylist"}, // same track again
		{User: "u1", Track: "b", Action: "skip"},          // skips never count
		{User: "u1", Track: "zz", Action: "play"},         // not in the catalogue
	}
	names, users, missing := GroupUsers(tracks, ins, nil, nil)
	if len(names) != 2 || names[0] != "u1" || names[1] != "u2" || !slices.Equal(missing, []int{len(ins) - 1}) {
		t.Fatalf("GroupUsers = %v, %v, missing %v; want [u1 u2], missing the last interaction", names, users, missing)
	}
	if len(users[0]) != 2 || users[0][0] != 2 || users[0][1] != 0 || len(users[1]) != 1 || users[1][0] != 1 {
		t.Fatalf("GroupUsers users = %v, want [[2 0] [1]]", users)
	}
	_, users, _ = GroupUsers(tracks, ins, []string{"play"}, func(u string) bool { return u == "u1" })
	if len(users) != 1 || len(users[0]) != 1 || users[0][0] != 0 {
		t.Fatalf("GroupUsers(play, u1 only) = %v, want [[0]]", users)
	}
}

func TestRawFeaturesStandardised(t *testing.T) {
	tracks := make([]soundalike.Track, 3)
	for i := range tracks {
		for f := range soundalike.NumFeatures {
			tracks[i].Features.Set(f, float64(i*(f+1)))
		}
		tracks[i].Features.Mode = 1 // constant column: std 0, treated as 1
	}
	v := RawFeatures(tracks)
	if len(v) != 3*soundalike.NumFeatures {
		t.Fatalf("RawFeatures returned %d values", len(v))
	}
	for r := range 3 {
		var ss float64
		for _, e := range v[r*11 : (r+1)*11] {
			if math.IsNaN(float64(e)) {
				t.Fatalf("RawFeatures row %d has NaN: %v", r, v[r*11:(r+1)*11])
			}
			ss += float64(e) * float64(e)
		}
		if r != 1 && math.Abs(ss-1) > 1e-5 { // row 1 is the mean: all zero
			t.Fatalf("RawFeatures row %d has norm² %v, want 1", r, ss)
		}
	}
	// Rows 0 and 2 are mirror images around the mean: cosine −1.
	if c := dot(v[0:11], v[22:33]); math.Abs(float64(c)+1) > 1e-5 {
		t.Fatalf("cosine(row 0, row 2) = %v, want -1", c)
	}
}

// rankQueries ranks the catalogue for the queries ids with topK4.
func rankQueries(vecs []float32, dim, k int, lab *Labels, tile int, avx bool, ids ...uint32) []ranking {
	qs := make([]Query, len(ids))
	for i, id := range ids {
		qs[i].Track = id
	}
	rs := make([]ranking, len(qs))
	newTopK4(vecs, dim, k, lab, tile, avx).rank(qs, rs)
	return rs
}

// TestTopK4MatchesTopK: the four-at-a-time ranking, a tile at a time or
// the catalogue in one, gives the same lists as one query at a time (up
// to float rounding, which random vectors make irrelevant), for a last
// group of four that is one query short.
func TestTopK4MatchesTopK(t *testing.T) {
	const n, dim, k = 500, 16, 10
	vecs := mustRandom(t, n, dim, 3)
	q := []uint32{0, 17, 17, 499, 250, 3, 499}
	for _, tile := range []int{n, 64, 7} {
		rs := rankQueries(vecs, dim, k, &Labels{}, tile, false, q...)
		for i, id := range q {
			want := topK(vecs, dim, id, k, nil)
			if len(rs[i].top) != k {
				t.Fatalf("tile %d, query %d: %d hits, want %d", tile, id, len(rs[i].top), k)
			}
			for j := range want {
				if rs[i].top[j].id != want[j].id {
					t.Fatalf("tile %d, query %d: topK4 = %v, topK = %v", tile, id, rs[i].top, want)
				}
			}
		}
	}
}

// TestTopK4Kernel: ranking with the AVX kernel (eight catalogue vectors at
// a time, in tiles of several sizes, some leaving a tail of vectors for
// Go) gives the same lists, ids and score bits, as the Go loop over the
// whole catalogue, with and without artists, for dimensions of 64 and 11.
func TestTopK4Kernel(t *testing.T) {
	if !hasAVX {
		t.Skip("no AVX: topK4 scores in Go")
	}
	const n, k = 8*40 + 3, 10
	q := []uint32{0, 17, 17, n - 1, 5, 320, 321, 322, 100}
	for _, dim := range []int{64, 11} {
		vecs := mustRandom(t, n, dim, 5)
		arts := make([][]uint32, n)
		for i := range arts {
			arts[i] = []uint32{uint32(i % 23)}
		}
		for _, lab := range []*Labels{{}, {Artists: arts}, {Artists: arts, SameArtistFirst: true}} {
			slow := rankQueries(vecs, dim, k, lab, n, false, q...)
			for _, tile := range []int{n, 8, 24, 13, tileRows} {
				fast := rankQueries(vecs, dim, k, lab, tile, true, q...)
				for i := range q {
					for _, c := range []struct {
						name      string
						got, want []hit
					}{{"top", fast[i].top, slow[i].top}, {"cross-artist top", fast[i].cross, slow[i].cross}} {
						if len(c.got) != len(c.want) {
							t.Fatalf("dim %d, tile %d, query %d: %s of %d, Go's of %d", dim, tile, q[i], c.name, len(c.got), len(c.want))
						}
						for j := range c.got {
							if c.got[j].id != c.want[j].id || math.Float32bits(c.got[j].score) != math.Float32bits(c.want[j].score) {
								t.Fatalf("dim %d, tile %d, query %d: %s %d = %v, Go's %v", dim, tile, q[i], c.name, j, c.got[j], c.want[j])
							}
						}
					}
				}
			}
		}
	}
}
