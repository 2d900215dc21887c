package index

import (
	"cmp"
	"fmt"
	"slices"
)

// searchLayer is SEARCH-LAYER (Algorithm 2) from the single entry point ep
// with a beam of ef, leaving in sc.res the up-to-ef closest nodes that pass
// (not a tombstone and kept by f). Nodes that do not pass still extend the
// search; while fewer than ef have passed, the search goes on past the
// paper's stopping point (as hnswlib does), so a selective filter widens
// the beam until ef results pass or the reachable graph is exhausted. The
// caller has emptied sc.visited.
//
// While linking (build is true) tombstones pass like live nodes: a new node
// may link to them, so that it stays reachable however many nodes around
// it were deleted. Compact removes them.
func (g *HNSW) searchLayer(sc *scratch, qv []float32, ep cand, ef, l int, f Filter, build, locked bool) {
	filtered := f != nil || (g.nDead > 0 && !build)
	sc.cands = sc.cands[:0]
	sc.res = sc.res[:0]
	visited := &sc.visited
	visited.add(ep.slot)
	bound := float32(3) // distances are in [-1, 1] (plus rounding)
	if !filtered || g.passes(ep.slot, f) {
		sc.res.push(ep)
		bound = ep.dist
	}
	sc.cands.push(ep)
	l0, stride, vw := g.l0, g.stride, g.vw
	for len(sc.cands) > 0 {
		c := sc.cands.pop()
		if c.dist > bound && (len(sc.res) >= ef || !filtered) {
			break
		}
		// The next candidate's links, to be read after this node's
		// neighbours are scored.
		if l == 0 && len(sc.cands) > 0 {
			prefetchLinks(&l0[int(sc.cands[0].slot)*stride+vw])
		}
		// First the unvisited neighbours, prefetching their vectors so
		// that the loads overlap, then their distances.
		todo := sc.todo[:0]
		for _, s := range g.neighbours(sc, c.slot, l, locked) {
			if !visited.add(s) {
				continue
			}
			todo = append(todo, s)
			prefetch(&l0[int(s)*stride])
		}
		sc.todo = todo
		for _, s := range todo {
			d := -dotHalf(qv, g.vec(s))
			if len(sc.res) < ef || d < bound {
				sc.cands.push(cand{d, s})
				if l == 0 && sc.cands[0].slot == s {
					prefetchLinks(&l0[int(s)*stride+vw])
				}
				if !filtered || g.passes(s, f) {
					if len(sc.res) < ef {
						sc.res.push(cand{d, s})
					} else {
						sc.res.replaceTop(cand{d, s})
					}
				}
				if len(sc.res) > 0 {
					bound = sc.res[0].dist
				}
			}
		}
	}
}

func (g *HNSW) passes(s uint32, f Filter) bool {
	if g.dead[s] {
		return false
	}
	return f == nil || f(g.idOf(s))
}

// idOf returns slot s's id: s itself when every slot holds its own id
// (idSlots), which spares a read of ids, a cache miss in a large index.
func (g *HNSW) idOf(s uint32) uint32 {
	if g.idSlots {
		return s
	}
	return g.ids[s]
}

// Search returns the k live vectors most similar to q that f keeps (nil
// keeps all), closest first, with a beam of max(Options.EfSearch, k). It
// returns fewer than k only when fewer pass. q is normalised internally; it
// must have Dim finite components, not all zero.
func (g *HNSW) Search(q []float32, k int, f Filter) ([]Result, error) {
	return g.SearchInto(nil, q, k, f, 0)
}

// SearchInto is Search with a caller-owned result buffer and a per-query
// beam: it appends the results to dst[:0] and returns it. ef = 0 means
// Options.EfSearch; the beam is max(ef, k). With dst of capacity k it does
// not allocate in the steady state.
func (g *HNSW) SearchInto(dst []Result, q []float32, k int, f Filter, ef int) ([]Result, error) {
	return g.search(dst, q, k, ef, func(sc *scratch, ef int) error {
		g.searchLayer(sc, sc.q, g.descend(sc, sc.q), ef, 0, f, false, false)
		return nil
	})
}

// SearchFrom is SearchInto for q near the stored vector of id from (its
// own, as when asking for a stored track's neighbours): layer 0's search
// starts at from's node instead of the node the descent through the upper
// layers reaches. From a query's own node that descent has nothing to
// find, and in a large index each of its nodes is a cache miss
// (docs/benchmarks.md). When from is not a live node, it is SearchInto.
func (g *HNSW) SearchFrom(dst []Result, q []float32, from uint32, k int, f Filter, ef int) ([]Result, error) {
	return g.search(dst, q, k, ef, func(sc *scratch, ef int) error {
		var start cand
		if s, ok := g.slotOf(from); ok {
			start = cand{dist: -dotHalf(sc.q, g.vec(s)), slot: s}
		} else {
			start = g.descend(sc, sc.q)
		}
		g.searchLayer(sc, sc.q, start, ef, 0, f, false, false)
		return nil
	})
}

// search is the frame of a search for k results with ef: it checks the
// arguments, holds the read lock and a scratch, normalises q into sc.q,
// runs layer0 with the beam, which leaves its results in sc.res, and
// appends the k best of them to dst[:0].
func (g *HNSW) search(dst []Result, q []float32, k, ef int, layer0 func(sc *scratch, ef int) error) ([]Result, error) {
	dst = dst[:0]
	if err := checkSearch(k, ef); err != nil {
		return dst, err
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if k == 0 || g.maxLevel < 0 || len(g.slots) == 0 {
		return dst, checkQuery(q, g.dim)
	}
	sc := g.getScratch()
	defer g.pool.Put(sc)
	if err := normalizeInto(sc.q, q, g.dim); err != nil {
		return dst, fmt.Errorf("index: search: %w", err)
	}
	if err := layer0(sc, g.beam(k, ef)); err != nil {
		return dst, err
	}
	return g.appendResults(dst, sc, k), nil
}

// checkSearch checks the k and ef of a search.
func checkSearch(k, ef int) error {
	if k < 0 {
		return fmt.Errorf("index: search: k = %d: want k ≥ 0", k)
	}
	if ef < 0 || ef > MaxEf {
		return fmt.Errorf("index: search: ef = %d: want 0 (default) or 1..%d", ef, MaxEf)
	}
	return nil
}

// beam is the beam of a search for k results with ef (0: Options.EfSearch).
func (g *HNSW) beam(k, ef int) int {
	if ef == 0 {
		ef = g.opt.EfSearch
	}
	return max(ef, k)
}

// descend walks the upper layers greedily from the entry point towards qv
// and returns where layer 0's search starts.
func (g *HNSW) descend(sc *scratch, qv []float32) cand {
	cur := cand{dist: -dotHalf(qv, g.vec(g.entry)), slot: g.entry}
	for l := g.maxLevel; l > 0; l-- {
		cur = g.greedy(sc, qv, cur, l, false)
	}
	return cur
}

// appendResults appends the k best of the beam sc.res by cosine (see
// cosine) to dst, best first, ties by id, so that the results for k are
// the first k of those for a larger k.
//
// A member's cosine is its dot product times invLength, which is within
// 1e-3 of 1; so a member whose dot product is more than rescoreMargin
// below the k-th best cannot rank among the k best cosines. Only the k
// best by dot product and the members within the margin of them are
// rescored and sorted: a few more than k, not the whole beam.
func (g *HNSW) appendResults(dst []Result, sc *scratch, k int) []Result {
	cs := sc.tmp[:0]
	for len(sc.res) > k {
		cs = append(cs, sc.res.pop()) // worst first
	}
	i := len(cs)
	if len(sc.res) > 0 {
		cut := sc.res[0].dist + rescoreMargin // dist is −dot; sc.res[0] is the k-th best
		for i > 0 && cs[i-1].dist <= cut {
			i--
		}
	}
	cs = append(cs, sc.res...)
	sc.tmp = cs
	cs = cs[i:]
	for j, c := range cs {
		v := g.vec(c.slot)
		cs[j].dist = c.dist * invLength(dotHalves(v, v))
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if a.dist != b.dist {
			return cmp.Compare(a.dist, b.dist)
		}
		return cmp.Compare(g.idOf(a.slot), g.idOf(b.slot))
	})
	for _, c := range cs[:min(k, len(cs))] {
		dst = append(dst, Result{ID: g.idOf(c.slot), Score: -c.dist})
	}
	return dst
}

// rescoreMargin bounds how far a dot product's rank can move when it is
// scaled to a cosine: 2 · max|q·v| · max|invLength(vv) − 1| = 2 · 1.001 · 1e-3,
// rounded up.
const rescoreMargin = 2.5e-3

// cosine returns the cosine of the unit query qv and slot s's stored
// vector, in one pass over the vector: the score a search gives s.
//
// A stored vector's length is 1 only up to its rounding to halves (at
// most 5e-4 off: each component moves by at most 2⁻¹¹ of itself). A search ranks by the dot product with the query, and the
// scores it returns are cosines, as any other store of the same vectors (a
// cluster they were published to) computes them.
func (g *HNSW) cosine(qv []float32, s uint32) float32 {
	d, vv := dotHalfNorm(qv, g.vec(s))
	return d * invLength(vv)
}

// invLength returns 1/√vv for a squared length vv within 2e-3 of 1 (a
// stored vector's: Add normalises before rounding, Read checks to 1e-3,
// rounding adds at most 1e-3): the first-order expansion 1 − (vv−1)/2, off
// by at most 3/8·(vv−1)², 1.5e-6, with no square root or division on the
// path of every score.
func invLength(vv float32) float32 { return 1.5 - 0.5*vv }

// checkQuery validates q without normalising it.
func checkQuery(q []float32, dim int) error {
	var buf [64]float32
	tmp := buf[:0]
	if dim <= len(buf) {
		tmp = buf[:dim]
	} else {
		tmp = make([]float32, dim)
	}
	if err := normalizeInto(tmp, q, dim); err != nil {
		return fmt.Errorf("index: search: %w", err)
	}
	return nil
}

// SortResults orders rs the way every search returns results: by score,
// highest first, ties by id ascending.
func SortResults(rs []Result) {
	slices.SortFunc(rs, compareResults)
}

func compareResults(a, b Result) int {
	switch {
	case a.Score > b.Score:
		return -1
	case a.Score < b.Score:
		return 1
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}
