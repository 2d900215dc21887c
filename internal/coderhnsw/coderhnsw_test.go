package coderhnsw

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike/index"
)

func TestAdapter(t *testing.T) {
	const n, dim, k = 300, 8, 5
	r := rand.New(rand.NewPCG(1, 2))
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = float32(r.NormFloat64())
	}
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(i)
	}
	x, err := New(dim, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.AddBatch(ids, vecs); err != nil {
		t.Fatal(err)
	}
	if x.Len() != n || !x.Contains(7) {
		t.Fatalf("Len() = %d, Contains(7) = %v; want %d, true", x.Len(), x.Contains(7), n)
	}
	q := vecs[7*dim : 8*dim]
	got, err := x.Search(q, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].ID != 7 || got[0].Score < 0.999 {
		t.Errorf("Search(vector of 7) = %v, want id 7 first with score ≈ 1", got)
	}
	if !slices.IsSortedFunc(got, func(a, b index.Result) int {
		if a.Score > b.Score {
			return -1
		}
		if a.Score < b.Score {
			return 1
		}
		return 0
	}) {
		t.Errorf("results not sorted by score: %v", got)
	}
	got, _ = x.Search(q, k, func(id uint32) bool { return id != 7 })
	for _, r := range got {
		if r.ID == 7 {
			t.Errorf("filtered search returned id 7: %v", got)
		}
	}
	if !x.Delete(7) || x.Contains(7) {
		t.Errorf("Delete(7) did not remove it")
	}
	if _, err := x.Search([]float32{1}, k, nil); err == nil || !strings.Contains(err.Error(), "1 dimensions, want 8") {
		t.Errorf("Search(1-d) = %v, want a dimension error", err)
	}
	if err := x.Add(1, make([]float32, dim)); err == nil {
		t.Errorf("Add(zero vector) = nil error")
	}
}
