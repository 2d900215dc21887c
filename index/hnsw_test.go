package index

import (
	"slices"
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

// reachable counts the slots a walk of layer 0 from the entry point
// reaches (the connectivity repairReach restores).
func reachable(g *HNSW) int {
	seen := make([]bool, len(g.ids))
	stack := []uint32{g.entry}
	seen[g.entry] = true
	n := 0
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		for _, x := range g.nbrs(s, 0) {
			if !seen[x] {
				seen[x] = true
				stack = append(stack, x)
			}
		}
	}
	return n
}

// TestParallelBuildReachesEveryNode: a build on several goroutines leaves
// no node without a way in from the entry point. Two things could cut one
// off: a node's own list overwriting a link another worker had just made to
// it (setList keeps such links), and concurrent inserts pruning a node out
// of every list that pointed to it (repairReach links those back).
func TestParallelBuildReachesEveryNode(t *testing.T) {
	n := 20000
	switch {
	case raceEnabled && testing.Short(): // CI's race run: still thousands of concurrent inserts
		n = 2000
	case raceEnabled:
		n = 4000
	}
	for _, workers := range []int{2, 4} {
		o := DefaultOptions()
		o.Workers = workers
		g := mustHNSW(t, 64, o, clustered(n, 64, 1, 2))
		if got := reachable(g); got != n {
			t.Errorf("%d workers: %d of %d nodes reachable on layer 0", workers, got, n)
		}
	}
}

// TestRepairReach: a node cut out of every neighbour list is linked back
// by repairReach, and nothing else becomes unreachable.
func TestRepairReach(t *testing.T) {
	const n = 2000
	o := DefaultOptions()
	o.Workers = 1
	g := mustHNSW(t, 16, o, clustered(n, 16, 1, 2))
	for _, u := range []uint32{7, 1234} {
		if u == g.entry {
			continue
		}
		for s := range uint32(n) {
			var keep []uint32
			for _, x := range g.nbrs(s, 0) {
				if x != u {
					keep = append(keep, x)
				}
			}
			g.setNbrs(s, 0, keep)
		}
	}
	if got := reachable(g); got > n-2 {
		t.Fatalf("%d of %d reachable after cutting two nodes out", got, n)
	}
	g.repairReach()
	if got := reachable(g); got != n {
		t.Errorf("%d of %d reachable after repairReach", got, n)
	}
}

// TestRepairReachKeepsOthers: linking an unreached node in place of a
// full list's entry must not cut off that entry and what hangs from it
// (here w, reached only through v, and x, only through w).
func TestRepairReachKeepsOthers(t *testing.T) {
	o := DefaultOptions()
	o.M, o.Workers = 2, 1 // layer-0 lists of 4
	g := mustHNSW(t, 8, o, clustered(8, 8, 1, 2))
	var others []uint32
	for s := range uint32(8) {
		if s != g.entry {
			others = append(others, s)
		}
	}
	e := g.entry
	v, a, b, c, w, x, u := others[0], others[1], others[2], others[3], others[4], others[5], others[6]
	g.setNbrs(e, 0, []uint32{v})
	g.setNbrs(v, 0, []uint32{a, b, c, w})
	for _, s := range []uint32{a, b, c} {
		g.setNbrs(s, 0, []uint32{v})
	}
	g.setNbrs(w, 0, []uint32{x})
	g.setNbrs(x, 0, []uint32{w})
	g.setNbrs(u, 0, []uint32{v})
	if got := reachable(g); got != 7 {
		t.Fatalf("%d of 8 reachable before the repair, want 7", got)
	}
	g.repairReach()
	if got := reachable(g); got != 8 {
		t.Errorf("%d of 8 reachable after repairReach, want 8", got)
	}
}

// TestRepairReachChecksFullList: when the unreached node's own list is
// full, the entry it displaces cannot move there, so the replacement must
// be checked by a whole walk and undone if it cuts anything off: here w,
// reached only through a's last entry, which is tried first.
func TestRepairReachChecksFullList(t *testing.T) {
	o := DefaultOptions()
	o.M, o.Workers = 2, 1 // layer-0 lists of 4
	g := mustHNSW(t, 8, o, clustered(8, 8, 1, 2))
	var others []uint32
	for s := range uint32(8) {
		if s != g.entry {
			others = append(others, s)
		}
	}
	e := g.entry
	v, a, b, c, w, x, u := others[0], others[1], others[2], others[3], others[4], others[5], others[6]
	g.setNbrs(e, 0, []uint32{v})
	g.setNbrs(v, 0, []uint32{a, b, c, e})
	g.setNbrs(a, 0, []uint32{v, b, c, w})
	g.setNbrs(b, 0, []uint32{v, a, c, e})
	g.setNbrs(c, 0, []uint32{v, a, b, e})
	g.setNbrs(w, 0, []uint32{x})
	g.setNbrs(x, 0, []uint32{w})
	g.setNbrs(u, 0, []uint32{a, b, c, v})
	if got := reachable(g); got != 7 {
		t.Fatalf("%d of 8 reachable before the repair, want 7", got)
	}
	g.repairReach()
	if got := reachable(g); got != 8 {
		t.Errorf("%d of 8 reachable after repairReach, want 8", got)
	}
	if !slices.Contains(g.nbrs(a, 0), w) {
		t.Errorf("a's list %v lost w (%d), its only way in", g.nbrs(a, 0), w)
	}
}

// TestRepairReachAcceptsChecked: a replacement the whole-walk check must
// judge (the unreached node's list is full and lacks the entry it
// displaces) is kept when the entry stays reachable another way: here w,
// also reached through b.
func TestRepairReachAcceptsChecked(t *testing.T) {
	o := DefaultOptions()
	o.M, o.Workers = 2, 1 // layer-0 lists of 4
	g := mustHNSW(t, 8, o, clustered(8, 8, 1, 2))
	var others []uint32
	for s := range uint32(8) {
		if s != g.entry {
			others = append(others, s)
		}
	}
	e := g.entry
	v, a, b, c, w, x, u := others[0], others[1], others[2], others[3], others[4], others[5], others[6]
	g.setNbrs(e, 0, []uint32{v})
	g.setNbrs(v, 0, []uint32{a, b, c, e})
	g.setNbrs(a, 0, []uint32{v, b, c, w})
	g.setNbrs(b, 0, []uint32{v, a, c, w})
	g.setNbrs(c, 0, []uint32{v, a, b, e})
	g.setNbrs(w, 0, []uint32{x})
	g.setNbrs(x, 0, []uint32{w})
	g.setNbrs(u, 0, []uint32{a, b, c, v})
	if got := reachable(g); got != 7 {
		t.Fatalf("%d of 8 reachable before the repair, want 7", got)
	}
	g.repairReach()
	if got := reachable(g); got != 8 {
		t.Errorf("%d of 8 reachable after repairReach, want 8", got)
	}
	if got, want := g.nbrs(a, 0), []uint32{v, b, c, u}; !slices.Equal(got, want) {
		t.Errorf("a's list %v, want %v: u in place of its last entry w", got, want)
	}
	if got, want := g.nbrs(u, 0), []uint32{a, b, c, v}; !slices.Equal(got, want) {
		t.Errorf("u's list %v, want it unchanged %v", got, want)
	}
}
