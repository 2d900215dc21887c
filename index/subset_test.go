package index

import (
	"math"
	"testing"
)

// ScoreIDs scores exactly the live ids asked for, in their order, by the
// cosine of the query and the stored vector; unknown and deleted ids are
// skipped.
func TestScoreIDs(t *testing.T) {
	const n, dim = 500, 16
	vecs := clustered(n, dim, 1, 2)
	g, err := New(dim, &Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddBatch(seqIDs(n), vecs); err != nil {
		t.Fatal(err)
	}
	g.Delete(7)
	q := vecs[3*dim : 4*dim]
	ids := []uint32{9, 7, 1_000_000, 3, 499, 9}
	got, err := g.ScoreIDs(nil, q, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{9, 3, 499, 9}
	if len(got) != len(want) {
		t.Fatalf("ScoreIDs(%v) = %v, want ids %v", ids, got, want)
	}
	qn := make([]float32, dim) // the query as searched: normalised, not stored
	normalizeInto(qn, q, dim)
	for i, r := range got {
		v, _ := g.Vector(want[i])
		var d, vv float32 // the cosine of the query and the stored vector
		for j := range v {
			d += v[j] * qn[j]
			vv += v[j] * v[j]
		}
		d /= float32(math.Sqrt(float64(vv)))
		if r.ID != want[i] || math.Abs(float64(r.Score-d)) > 1e-5 {
			t.Errorf("ScoreIDs result %d = %+v, want {%d %v}", i, r, want[i], d)
		}
	}
	if _, err := g.ScoreIDs(nil, make([]float32, dim), ids); err == nil {
		t.Errorf("ScoreIDs(zero vector) = nil error")
	}
}
