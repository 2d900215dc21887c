package index

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// SearchKept returns only ids the filter keeps, finds the filtered
// brute force's neighbours from entries among the kept ids (recall ≥ 0.95
// when a third of the ids pass), and gives way with ErrBudget when its
// node budget is too small to converge.
func TestSearchKept(t *testing.T) {
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
		got, err := g.SearchKept(nil, q, k, 64, &Kept{Filter: keep, Entries: entries})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if !keep(r.ID) {
				t.Fatalf("SearchKept returned %d, which the filter drops", r.ID)
			}
		}
		want, _ := x.Search(q, k, keep)
		sum += recall(got, want)
	}
	if r := sum / queries; r < 0.95 {
		t.Errorf("recall@%d of SearchKept against the filtered brute force = %.3f, want ≥ 0.95", k, r)
	}
	q := vecs[:dim]
	if _, err := g.SearchKept(nil, q, k, 400, &Kept{Filter: keep, Budget: 2}); !errors.Is(err, ErrBudget) {
		t.Errorf("SearchKept with a budget of 2 nodes: err = %v, want ErrBudget", err)
	}
	if _, err := g.SearchKept(nil, make([]float32, dim), k, 64, &Kept{Filter: keep}); err == nil {
		t.Errorf("SearchKept(zero vector) = nil error")
	}
}

// A nil Kept is an error naming the argument, not a panic.
func TestSearchKeptNil(t *testing.T) {
	g := mustHNSW(t, 2, nil, []float32{1, 0, 0, 1})
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		_, err = g.SearchKept(nil, []float32{1, 0}, 1, 0, nil)
	}()
	if err == nil || !strings.Contains(err.Error(), "kept is nil") {
		t.Errorf("SearchKept(kept nil) = %v, want an error saying kept is nil", err)
	}
}

// A Range drops what it rejects before the Filter is asked, while the
// graph's slots hold their own ids, and changes no result when the Filter
// implies it; a graph whose slots hold other ids ignores it.
func TestSearchKeptRange(t *testing.T) {
	n, dim := small(4000), 16
	vecs := clustered(n, dim, 3, 4)
	col := make([]uint8, n)
	for id := range col {
		col[id] = uint8(id % 10)
	}
	inRange := func(id uint32) bool { return col[id] >= 2 && col[id] <= 4 }
	all := func(uint32) bool { return true }
	rng := &Range{Col: col, Lo: 2, Hi: 4}

	g := mustHNSW(t, dim, &Options{Workers: 1}, vecs)
	const k = 10
	for qi := range 30 {
		q := vecs[(qi*131%n)*dim : (qi*131%n+1)*dim]
		plain, err := g.SearchKept(nil, q, k, 64, &Kept{Filter: inRange})
		if err != nil {
			t.Fatal(err)
		}
		ranged, err := g.SearchKept(nil, q, k, 64, &Kept{Filter: inRange, Range: rng})
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) != k || !slices.Equal(plain, ranged) {
			t.Fatalf("query %d: with the Range %v, without %v", qi, ranged, plain)
		}
		// A Range narrower than the Filter shows that it is applied.
		got, err := g.SearchKept(nil, q, k, 64, &Kept{Filter: all, Range: rng})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if !inRange(r.ID) {
				t.Fatalf("query %d: result %d is outside the Range", qi, r.ID)
			}
		}
		// An empty Range is ignored.
		got, err = g.SearchKept(nil, q, k, 64, &Kept{Filter: inRange, Range: &Range{Col: col, Lo: 5, Hi: 4}})
		if err != nil || !slices.Equal(got, plain) {
			t.Fatalf("query %d: with an empty Range %v (%v), want %v", qi, got, err, plain)
		}
	}

	// A graph read back knows its slots hold their ids.
	read := reread(t, g)
	got, err := read.SearchKept(nil, vecs[:dim], k, 64, &Kept{Filter: all, Range: rng})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if !inRange(r.ID) {
			t.Fatalf("read back: result %d is outside the Range", r.ID)
		}
	}

	// Slots that do not hold their own ids: the Range is not read.
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(n - 1 - i)
	}
	h, err := New(dim, &Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddBatch(ids, vecs); err != nil {
		t.Fatal(err)
	}
	outside := 0
	for qi := range 30 {
		q := vecs[(qi*131%n)*dim : (qi*131%n+1)*dim]
		got, err := h.SearchKept(nil, q, k, 64, &Kept{Filter: all, Range: rng})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if !inRange(r.ID) {
				outside++
			}
		}
	}
	if outside == 0 {
		t.Errorf("a graph of reordered ids applied the Range by slot: every result is inside it")
	}
}
