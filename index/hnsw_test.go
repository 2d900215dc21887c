package index

import (
	"testing"
)

func TestHNSWRecall(t *testing.T) {
	n, dim, k, nq := 10000, 64, 20, 200
	if testing.Short() || raceEnabled {
		n, nq = 3000, 100
	}
	data := clustered(n, dim, 7, 1)
	queries := clustered(nq, dim, 7, 2)
	g := mustHNSW(t, dim, nil, data)
	flat := mustFlat(t, dim, data)
	var sum float64
	for i := range nq {
		q := queries[i*dim : (i+1)*dim]
		got, err := g.Search(q, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := flat.Search(q, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != k {
			t.Fatalf("query %d: %d results, want %d", i, len(got), k)
		}
		sum += recall(got, want)
	}
	r := sum / float64(nq)
	t.Logf("recall@%d on %d clustered vectors = %.4f", k, n, r)
	if r < 0.95 {
		t.Errorf("recall@%d = %.4f, want ≥ 0.95", k, r)
	}
}
