package index

import (
	"errors"
	"testing"
)

// SearchFiltered returns only ids the filter keeps, finds the filtered
// brute force's neighbours from entries among the kept ids (recall ≥ 0.95
// when a third of the ids pass), and gives way with ErrBudget when its
// node budget is too small to converge.
func TestSearchFiltered(t *testing.T) {
	n, dim := small(6000), 16
	vecs := clustered(n, dim, 1, 2)
	g := mustHNSW(t, dim, &Options{Workers: 1}, vecs)
	x := mustFlat(t, dim, vecs)
	keep := func(id uint32) bool { return id%3 == 0 }
	var sum float64
	const queries, k = 50, 10
	for qi := range queries {
		q := vecs[(qi*97%n)*dim : (qi*97%n+1)*dim]
		entries := []uint32{0, 3, 300, 3000}
		got, err := g.SearchFiltered(nil, q, k, keep, 64, entries, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if !keep(r.ID) {
				t.Fatalf("SearchFiltered returned %d, which the filter drops", r.ID)
			}
		}
		want, _ := x.Search(q, k, keep)
		sum += recall(got, want)
	}
	if r := sum / queries; r < 0.95 {
		t.Errorf("recall@%d of SearchFiltered against the filtered brute force = %.3f, want ≥ 0.95", k, r)
	}
	q := vecs[:dim]
	if _, err := g.SearchFiltered(nil, q, k, keep, 400, nil, 2); !errors.Is(err, ErrBudget) {
		t.Errorf("SearchFiltered with a budget of 2 nodes: err = %v, want ErrBudget", err)
	}
	if _, err := g.SearchFiltered(nil, make([]float32, dim), k, keep, 64, nil, 0); err == nil {
		t.Errorf("SearchFiltered(zero vector) = nil error")
	}
}
