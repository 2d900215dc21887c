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

// eightNodes is a graph of eight nodes with layer-0 lists of 4 (M = 2)
// that a repair test wires by hand: e is the entry point, u the node left
// unreached, and v, a, b, c, w, x the others.
type eightNodes struct {
	g                      *HNSW
	e, v, a, b, c, w, x, u uint32
}

func newEightNodes(t *testing.T) eightNodes {
	t.Helper()
	o := DefaultOptions()
	o.M, o.Workers = 2, 1
	g := mustHNSW(t, 8, o, clustered(8, 8, 1, 2))
	var others []uint32
	for s := range uint32(8) {
		if s != g.entry {
			others = append(others, s)
		}
	}
	return eightNodes{g, g.entry, others[0], others[1], others[2], others[3], others[4], others[5], others[6]}
}

// repair sets the layer-0 lists, checks that all but u are reachable, runs
// repairReach and checks that all eight are.
func (f eightNodes) repair(t *testing.T, lists map[uint32][]uint32) {
	t.Helper()
	for s, l := range lists {
		f.g.setNbrs(s, 0, l)
	}
	if got := reachable(f.g); got != 7 {
		t.Fatalf("%d of 8 reachable before the repair, want 7", got)
	}
	f.g.repairReach()
	if got := reachable(f.g); got != 8 {
		t.Errorf("%d of 8 reachable after repairReach, want 8", got)
	}
}

// fullLists wires u's list and every list it links to full, so that u can
// only come in by a replacement its own list cannot take the displaced
// entry of: a's last entry is w, and b's is bLast (w gives w a second way
// in).
func (f eightNodes) fullLists(bLast uint32) map[uint32][]uint32 {
	return map[uint32][]uint32{
		f.e: {f.v},
		f.v: {f.a, f.b, f.c, f.e},
		f.a: {f.v, f.b, f.c, f.w},
		f.b: {f.v, f.a, f.c, bLast},
		f.c: {f.v, f.a, f.b, f.e},
		f.w: {f.x}, f.x: {f.w},
		f.u: {f.a, f.b, f.c, f.v},
	}
}

// TestRepairReachKeepsOthers: linking an unreached node in place of a
// full list's entry must not cut off that entry and what hangs from it
// (here w, reached only through v, and x, only through w).
func TestRepairReachKeepsOthers(t *testing.T) {
	f := newEightNodes(t)
	f.repair(t, map[uint32][]uint32{
		f.e: {f.v},
		f.v: {f.a, f.b, f.c, f.w},
		f.a: {f.v}, f.b: {f.v}, f.c: {f.v},
		f.w: {f.x}, f.x: {f.w},
		f.u: {f.v},
	})
}

// TestRepairReachChecksFullList: when the unreached node's own list is
// full, the entry it displaces cannot move there, so the replacement must
// be checked by a whole walk and undone if it cuts anything off: here w,
// reached only through a's last entry, which is tried first.
func TestRepairReachChecksFullList(t *testing.T) {
	f := newEightNodes(t)
	f.repair(t, f.fullLists(f.e))
	if !slices.Contains(f.g.nbrs(f.a, 0), f.w) {
		t.Errorf("a's list %v lost w (%d), its only way in", f.g.nbrs(f.a, 0), f.w)
	}
}

// TestRepairReachAcceptsChecked: a replacement the whole-walk check must
// judge (the unreached node's list is full and lacks the entry it
// displaces) is kept when the entry stays reachable another way: here w,
// also reached through b.
func TestRepairReachAcceptsChecked(t *testing.T) {
	f := newEightNodes(t)
	f.repair(t, f.fullLists(f.w))
	if got, want := f.g.nbrs(f.a, 0), []uint32{f.v, f.b, f.c, f.u}; !slices.Equal(got, want) {
		t.Errorf("a's list %v, want %v: u in place of its last entry w", got, want)
	}
	if got, want := f.g.nbrs(f.u, 0), []uint32{f.a, f.b, f.c, f.v}; !slices.Equal(got, want) {
		t.Errorf("u's list %v, want it unchanged %v", got, want)
	}
}
