package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDotSIMDMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 3, 7, 8, 15, 16, 31, 33, 63, 64, 65, 100, 128, 257, 1000} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i] = float32(r.NormFloat64())
			b[i] = float32(r.NormFloat64())
		}
		var exact float64
		var mag float64
		for i := range a {
			exact += float64(a[i]) * float64(b[i])
			mag += math.Abs(float64(a[i]) * float64(b[i]))
		}
		tol := 1e-5 * mag
		if got := dot(a, b); math.Abs(float64(got)-exact) > tol {
			t.Errorf("dot(n=%d) = %v, want %v ± %v", n, got, exact, tol)
		}
		if got := dotGo(a, b); math.Abs(float64(got)-exact) > tol {
			t.Errorf("dotGo(n=%d) = %v, want %v ± %v", n, got, exact, tol)
		}
	}
}

// TestFlatMatchesNaiveScan checks Flat against sorting every score computed
// in float64.
func TestFlatMatchesNaiveScan(t *testing.T) {
	const n, dim, k = 2000, 24, 15
	data := clustered(n, dim, 3, 4)
	x := mustFlat(t, dim, data)
	queries := clustered(30, dim, 3, 5)
	for qi := range 30 {
		q := queries[qi*dim : (qi+1)*dim]
		type sc struct {
			id uint32
			s  float64
		}
		all := make([]sc, n)
		for i := range n {
			var s float64
			for j := range dim {
				s += float64(q[j]) * float64(data[i*dim+j])
			}
			all[i] = sc{uint32(i), s}
		}
		slices.SortFunc(all, func(a, b sc) int {
			if a.s != b.s {
				if a.s > b.s {
					return -1
				}
				return 1
			}
			return int(a.id) - int(b.id)
		})
		got, err := x.Search(q, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != k {
			t.Fatalf("query %d: %d results, want %d", qi, len(got), k)
		}
		for i, r := range got {
			if r.ID != all[i].id || math.Abs(float64(r.Score)-all[i].s) > 1e-5 {
				t.Fatalf("query %d rank %d: got %+v, want id %d score %v", qi, i, r, all[i].id, all[i].s)
			}
		}
	}
}

// graphIndex is the method set HNSW and Flat share.
type graphIndex interface {
	Add(uint32, []float32) error
	AddBatch([]uint32, []float32) error
	Delete(uint32) bool
	Search([]float32, int, Filter) ([]Result, error)
	SearchInto([]Result, []float32, int, Filter, int) ([]Result, error)
	Vector(uint32) ([]float32, bool)
	Contains(uint32) bool
	Len() int
	Stats() Stats
}

var (
	_ graphIndex = (*HNSW)(nil)
	_ graphIndex = (*Flat)(nil)
)

func bothKinds(t *testing.T, dim int, data []float32, f func(t *testing.T, x graphIndex)) {
	t.Run("hnsw", func(t *testing.T) { f(t, mustHNSW(t, dim, &Options{Workers: 2}, data)) })
	t.Run("flat", func(t *testing.T) { f(t, mustFlat(t, dim, data)) })
}

func TestDeleteAndUpdate(t *testing.T) {
	const dim, k = 16, 10
	n := small(2000)
	data := clustered(n, dim, 11, 12)
	bothKinds(t, dim, data, func(t *testing.T, x graphIndex) {
		live := checkDeletes(t, x, data, dim, k)
		checkUpdate(t, x, data, dim, k, live)
	})
}

// checkDeletes deletes every third id of data: a deleted id is never
// returned, and searches still return k results. It returns the live count.
func checkDeletes(t *testing.T, x graphIndex, data []float32, dim, k int) int {
	t.Helper()
	n := len(data) / dim
	deleted := map[uint32]bool{}
	for id := uint32(0); id < uint32(n); id += 3 {
		if !x.Delete(id) {
			t.Fatalf("Delete(%d) = false, want true", id)
		}
		deleted[id] = true
	}
	if x.Delete(0) {
		t.Errorf("second Delete(0) = true, want false")
	}
	if want := n - len(deleted); x.Len() != want {
		t.Errorf("Len() = %d, want %d", x.Len(), want)
	}
	if x.Contains(0) || !x.Contains(1) {
		t.Errorf("Contains(0), Contains(1) = %v, %v; want false, true", x.Contains(0), x.Contains(1))
	}
	if _, ok := x.Vector(0); ok {
		t.Errorf("Vector(0) of a deleted id: ok = true")
	}
	for i := 0; i < 100; i++ {
		q := data[i*dim : (i+1)*dim] // many queries hit a deleted vector exactly
		got, err := x.Search(q, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != k {
			t.Fatalf("Search after deletes: %d results, want %d", len(got), k)
		}
		for _, r := range got {
			if deleted[r.ID] {
				t.Fatalf("Search returned deleted id %d", r.ID)
			}
		}
	}
	return n - len(deleted)
}

// checkUpdate moves id 1 to a new vector and re-adds deleted id 0.
func checkUpdate(t *testing.T, x graphIndex, data []float32, dim, k, live int) {
	t.Helper()
	// Update: id 1 moves to the vector of (deleted) id 0's neighbourhood
	// opposite; searching the new vector finds id 1 first, the old
	// vector no longer finds it at score 1.
	old, _ := x.Vector(1)
	nv := make([]float32, dim)
	for i := range nv {
		nv[i] = -old[i] + 0.01*float32(i)
	}
	if err := x.Add(1, nv); err != nil {
		t.Fatal(err)
	}
	if x.Len() != live {
		t.Errorf("Len() after update = %d, want %d", x.Len(), live)
	}
	got, err := x.Search(nv, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 1 || got[0].Score < 0.9999 {
		t.Errorf("Search(new vector of 1) = %v, want id 1 with score ≈ 1", got)
	}
	got, _ = x.Search(old, k, nil)
	for _, r := range got {
		if r.ID == 1 {
			t.Errorf("Search(old vector of 1) still returns id 1: %v", got)
		}
	}
	v, _ := x.Vector(1)
	want := slices.Clone(nv)
	normalizeInto(want, nv, dim)
	if _, flat := x.(*Flat); flat && !slices.Equal(v, want) || !nearVector(v, want) {
		t.Errorf("Vector(1) = %v, want %v", v, want)
	}
	// Re-adding a deleted id brings it back.
	if err := x.Add(0, data[:dim]); err != nil {
		t.Fatal(err)
	}
	got, _ = x.Search(data[:dim], 1, nil)
	if len(got) != 1 || got[0].ID != 0 {
		t.Errorf("Search after re-adding 0 = %v, want id 0 first", got)
	}
}

// TestDeleteAllThenAdd: new nodes must stay reachable when every node
// around them, the entry point included, is a tombstone.
func TestDeleteAllThenAdd(t *testing.T) {
	const dim, k = 16, 10
	data := clustered(1200, dim, 41, 42)
	g := mustHNSW(t, dim, nil, data[:600*dim])
	for id := range uint32(600) {
		g.Delete(id)
	}
	ids := seqIDs(1200)[600:]
	for _, id := range ids[:300] {
		if err := g.Add(id, data[int(id)*dim:][:dim]); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.AddBatch(ids[300:], data[900*dim:]); err != nil {
		t.Fatal(err)
	}
	flat := mustFlat(t, dim, nil)
	flat.AddBatch(ids, data[600*dim:])
	queries := clustered(30, dim, 41, 43)
	var sum float64
	for qi := range 30 {
		q := queries[qi*dim : (qi+1)*dim]
		got, _ := g.Search(q, k, nil)
		want, _ := flat.Search(q, k, nil)
		if len(got) != k {
			t.Fatalf("query %d: %d results, want %d", qi, len(got), k)
		}
		sum += recall(got, want)
	}
	if r := sum / 30; r < 0.95 {
		t.Errorf("recall@%d after deleting all and adding anew = %.3f, want ≥ 0.95", k, r)
	}
}

func TestCompact(t *testing.T) {
	const dim = 16
	n := uint32(small(3000))
	data := clustered(int(n), dim, 1, 2)
	g := mustHNSW(t, dim, nil, data)
	for id := uint32(0); id < n; id += 4 {
		g.Delete(id)
	}
	if !g.NeedsCompact() {
		t.Fatalf("NeedsCompact() = false with %v tombstones, want true", g.Stats().TombstoneRatio)
	}
	q := clustered(1, dim, 1, 3)
	before, _ := g.Search(q, 10, nil)
	g.Compact()
	st := g.Stats()
	live := int(n - (n+3)/4)
	if st.Tombstones != 0 || st.Nodes != live || st.Len != live || g.NeedsCompact() {
		t.Errorf("Stats after Compact = %+v, want no tombstones and %d nodes", st, live)
	}
	after, _ := g.Search(q, 10, nil)
	if recall(after, before) < 0.9 {
		t.Errorf("Search after Compact = %v, before %v", after, before)
	}
	for id := uint32(0); id < n; id++ {
		if g.Contains(id) != (id%4 != 0) {
			t.Fatalf("Contains(%d) = %v after Compact", id, g.Contains(id))
		}
	}
}

func TestFilteredSearch(t *testing.T) {
	const dim, k = 16, 20
	n := uint32(small(5000))
	data := clustered(int(n), dim, 21, 22)
	queries := clustered(20, dim, 21, 23)
	filters := []struct {
		name string
		keep Filter
	}{
		{"exclude a set", func() Filter {
			ex := map[uint32]bool{}
			for i := uint32(0); i < n; i += 2 {
				ex[i] = true
			}
			return func(id uint32) bool { return !ex[id] }
		}()},
		{"keep 1 in 50", func(id uint32) bool { return id%50 == 7 }},
		{"keep 15", func(id uint32) bool { return id < 15 }},
	}
	flat := mustFlat(t, dim, data)
	g := mustHNSW(t, dim, nil, data)
	for _, fc := range filters {
		t.Run(fc.name, func(t *testing.T) {
			var sum float64
			for qi := range 20 {
				q := queries[qi*dim : (qi+1)*dim]
				want, _ := flat.Search(q, k, fc.keep)
				got, err := g.Search(q, k, fc.keep)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("query %d: %d results, want %d", qi, len(got), len(want))
				}
				for _, r := range got {
					if !fc.keep(r.ID) {
						t.Fatalf("query %d: result %d does not pass the filter", qi, r.ID)
					}
				}
				sum += recall(got, want)
			}
			if r := sum / 20; r < 0.9 {
				t.Errorf("filtered recall@%d = %.3f, want ≥ 0.9", k, r)
			}
		})
	}
}

func TestResultsSorted(t *testing.T) {
	// Duplicated vectors give equal scores: ties must come in id order.
	const dim = 8
	base := clustered(50, dim, 1, 1)
	var data []float32
	for range 4 {
		data = append(data, base...)
	}
	bothKinds(t, dim, data, func(t *testing.T, x graphIndex) {
		got, err := x.Search(base[:dim], 12, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(got, compareResults) {
			t.Errorf("results not sorted by score desc, id asc: %v", got)
		}
		ids := []uint32{got[0].ID, got[1].ID, got[2].ID, got[3].ID}
		if d := cmp.Diff(ids, []uint32{0, 50, 100, 150}); d != "" {
			t.Errorf("top 4 ids for a vector stored 4 times (-got +want):\n%s", d)
		}
	})
}

func TestBadInput(t *testing.T) {
	g, _ := New(4, nil)
	x, _ := NewFlat(4)
	nan := float32(math.NaN())
	cases := []struct {
		name string
		vec  []float32
		want string
	}{
		{"short", []float32{1, 2, 3}, "3 dimensions, want 4"},
		{"nan", []float32{1, nan, 0, 0}, "component 1 is NaN"},
		{"inf", []float32{1, float32(math.Inf(1)), 0, 0}, "component 1 is +Inf"},
		{"zero", []float32{0, 0, 0, 0}, "all zeros"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, add := range []func(uint32, []float32) error{g.Add, x.Add} {
				if err := add(1, c.vec); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("Add(%v) = %v, want an error containing %q", c.vec, err, c.want)
				}
			}
			if _, err := g.Search(c.vec, 3, nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Search(%v) = %v, want an error containing %q", c.vec, err, c.want)
			}
			if _, err := x.Search(c.vec, 3, nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Flat.Search(%v) = %v, want an error containing %q", c.vec, err, c.want)
			}
		})
	}
	var de *DimensionError
	if err := g.Add(1, []float32{1}); !errors.As(err, &de) || de.Got != 1 || de.Want != 4 {
		t.Errorf("Add(1-d) = %v, want a *DimensionError{1, 4}", err)
	}
	if err := g.AddBatch([]uint32{1, 2}, make([]float32, 7)); err == nil {
		t.Errorf("AddBatch with 7 floats for 2 ids = nil, want an error")
	}
	if err := g.AddBatch([]uint32{1, 1}, []float32{1, 0, 0, 0, 0, 1, 0, 0}); err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Errorf("AddBatch with a repeated id = %v, want an error naming it", err)
	}
	if err := g.AddBatch([]uint32{1, 2}, []float32{1, 0, 0, 0, 0, 0, 0, 0}); err == nil || g.Len() != 0 {
		t.Errorf("AddBatch with a zero vector = %v, Len %d; want an error and nothing added", err, g.Len())
	}
	if _, err := g.Search([]float32{1, 0, 0, 0}, -1, nil); err == nil {
		t.Errorf("Search(k = -1) = nil error")
	}
	// Both kinds refuse the same ef, though Flat does not use it.
	for _, idx := range []graphIndex{g, x} {
		for _, ef := range []int{-1, MaxEf + 1} {
			_, err := idx.SearchInto(nil, []float32{1, 0, 0, 0}, 3, nil, ef)
			if want := fmt.Sprintf("ef = %d: want 0 (default) or 1..%d", ef, MaxEf); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%T.SearchInto(ef %d) = %v, want an error containing %q", idx, ef, err, want)
			}
		}
	}
	if r, err := g.Search([]float32{1, 0, 0, 0}, 5, nil); err != nil || len(r) != 0 {
		t.Errorf("Search on an empty index = %v, %v; want no results", r, err)
	}
	// Non-unit input is normalised.
	g.Add(7, []float32{3, 0, 4, 0})
	if v, _ := g.Vector(7); !nearVector(v, []float32{0.6, 0, 0.8, 0}) {
		t.Errorf("Vector(7) = %v, want [0.6 0 0.8 0]", v)
	}
	if r, _ := g.Search([]float32{30, 0, 40, 0}, 1, nil); len(r) != 1 || math.Abs(float64(r[0].Score)-1) > 1e-3 {
		t.Errorf("Search(scaled vector) = %v, want score 1", r)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (&Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("DefaultOptions(): %v", err)
	}
	a, b := DefaultOptions(), DefaultOptions()
	a.M = 99
	if b.M != DefaultM {
		t.Errorf("DefaultOptions shares state")
	}
	err := (&Options{M: 1, EfConstruction: -1, EfSearch: MaxEf + 1, Workers: -2, MaxTombstoneRatio: 1.5}).Validate()
	if err == nil {
		t.Fatal("bad Options: nil error")
	}
	for _, want := range []string{"M = 1", "EfConstruction = -1", "EfSearch = 65537", "Workers = -2", "MaxTombstoneRatio = 1.5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, want it to mention %q", err, want)
		}
	}
	if _, err := New(0, nil); err == nil {
		t.Errorf("New(0) = nil error")
	}
	g, _ := New(3, &Options{EfSearch: 17})
	if o := g.Options(); o.M != DefaultM || o.EfSearch != 17 || o.EfConstruction != DefaultEfConstruction {
		t.Errorf("Options() = %+v, want defaults with EfSearch 17", o)
	}
}

// SetOptions changes the options that do not shape the graph, and the
// index works, compacts and saves by them; it refuses a change of the
// others and then changes nothing.
func TestSetOptions(t *testing.T) {
	const dim = 8
	g := mustHNSW(t, dim, &Options{M: 6, EfConstruction: 40, EfSearch: 30, Seed: 9, Workers: 1, MaxTombstoneRatio: 0.5}, clustered(100, dim, 1, 2))
	for id := range uint32(30) {
		g.Delete(id)
	}
	if g.NeedsCompact() {
		t.Fatalf("NeedsCompact() = true with %v tombstones under MaxTombstoneRatio 0.5", g.Stats().TombstoneRatio)
	}
	if err := g.SetOptions(&Options{M: 6, EfConstruction: 40, EfSearch: 7, Seed: 9, Workers: 2, MaxTombstoneRatio: 0.25}); err != nil {
		t.Fatal(err)
	}
	if !g.NeedsCompact() {
		t.Errorf("NeedsCompact() = false with %v tombstones after SetOptions(MaxTombstoneRatio 0.25)", g.Stats().TombstoneRatio)
	}
	want := Options{M: 6, EfConstruction: 40, EfSearch: 7, Seed: 9, Workers: 2, MaxTombstoneRatio: 0.25}
	if o := g.Options(); o != want {
		t.Errorf("Options() after SetOptions = %+v, want %+v", o, want)
	}
	if o := reread(t, g).Options(); o.EfSearch != 7 || o.MaxTombstoneRatio != 0.25 {
		t.Errorf("Options() of the saved index = %+v, want EfSearch 7 and MaxTombstoneRatio 0.25", o)
	}

	err := g.SetOptions(&Options{EfSearch: 99})
	for _, name := range []string{"M = 16", "EfConstruction = 200", "Seed = 1"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("SetOptions(defaults) on a graph of M 6, EfConstruction 40, seed 9 = %v, want an error naming %q", err, name)
		}
	}
	if err := g.SetOptions(&Options{M: 6, EfConstruction: 40, Seed: 9, EfSearch: -1}); err == nil || !strings.Contains(err.Error(), "EfSearch = -1") {
		t.Errorf("SetOptions(EfSearch -1) = %v, want Validate's error", err)
	}
	if o := g.Options(); o != want {
		t.Errorf("Options() after refused SetOptions = %+v, want %+v unchanged", o, want)
	}
}

// TestConcurrentSearchAndWrite runs searches while other goroutines add,
// update and delete; run it with -race.
func TestConcurrentSearchAndWrite(t *testing.T) {
	const dim = 16
	n := 2000
	if testing.Short() || raceEnabled {
		n = 800
	}
	data := clustered(2*n, dim, 31, 32)
	g := mustHNSW(t, dim, &Options{Workers: 2, EfConstruction: 40}, data[:n*dim])
	x := mustFlat(t, dim, data[:n*dim])
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			dst := make([]Result, 0, 10)
			for i := range 300 {
				q := data[((i*7+w)%(2*n))*dim:][:dim]
				var err error
				if dst, err = g.SearchInto(dst, q, 10, func(id uint32) bool { return id != 5 }, 0); err != nil {
					t.Error(err)
					return
				}
				for _, r := range dst {
					if r.ID == 5 {
						t.Errorf("filtered id 5 returned")
					}
				}
				x.Search(q, 10, nil)
				g.Stats()
			}
		})
	}
	wg.Go(func() {
		for i := n; i < 2*n; i += 50 {
			ids := make([]uint32, 0, 50)
			for j := i; j < i+50; j++ {
				ids = append(ids, uint32(j))
			}
			if err := g.AddBatch(ids, data[i*dim:(i+50)*dim]); err != nil {
				t.Error(err)
			}
			x.AddBatch(ids, data[i*dim:(i+50)*dim])
		}
	})
	wg.Go(func() {
		for i := range 200 {
			g.Delete(uint32(i * 3))
			x.Delete(uint32(i * 3))
			g.Add(uint32(i*3+1), data[(i+n/2)*dim:][:dim])
			g.Vector(uint32(i))
		}
	})
	wg.Wait()
	if want := 2*n - 200; g.Len() != want || x.Len() != want {
		t.Errorf("Len() = %d (flat %d), want %d", g.Len(), x.Len(), want)
	}
}

// TestVisitedSet: add reports only the first time, and reset empties the
// set by each of its paths: a small set's sequential clear, a large set's
// listed words, and a large set's clear once most words are set. fit keeps
// the set when it has room.
func TestVisitedSet(t *testing.T) {
	for _, n := range []int{1000, listFrom * 64} {
		var v visitedSet
		v.fit(n)
		if v.list != (n >= listFrom*64) {
			t.Fatalf("n = %d: list = %v", n, v.list)
		}
		last := uint32(n - 1)
		for round, slots := range [][]uint32{{0, 63, 64, last, 500}, {1, 2, 3}} {
			for _, s := range slots {
				if !v.add(s) {
					t.Fatalf("n = %d, round %d: add(%d) = false on an emptied set", n, round, s)
				}
				if v.add(s) || !v.has(s) {
					t.Fatalf("n = %d, round %d: add(%d) again = true or has = false", n, round, s)
				}
			}
			if v.has(62) || v.has(last-1) {
				t.Fatalf("n = %d, round %d: has a slot never added", n, round)
			}
			v.reset()
			if i := slices.IndexFunc(v.bits, func(w uint64) bool { return w != 0 }); i >= 0 || len(v.dirty) != 0 {
				t.Fatalf("n = %d, round %d: after reset word %d is set, dirty = %v", n, round, i, v.dirty)
			}
		}
		for s := uint32(0); s < uint32(n); s += 7 { // most words: reset clears all
			v.add(s)
		}
		v.fit(n / 2) // has room: must not drop the set
		if !v.has(7) {
			t.Fatalf("n = %d: fit(%d) on a set with room for %d emptied it", n, n/2, n)
		}
		v.reset()
		if slices.ContainsFunc(v.bits, func(w uint64) bool { return w != 0 }) || len(v.dirty) != 0 {
			t.Errorf("n = %d: after a reset of most words some are set or dirty = %d words", n, len(v.dirty))
		}
		v.fit(4 * n)
		if len(v.bits)*64 < 4*n || v.has(7) {
			t.Errorf("fit(%d): %d bits, has(7) = %v: want room and an empty set", 4*n, len(v.bits)*64, v.has(7))
		}
	}
}
