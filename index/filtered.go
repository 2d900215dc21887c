package index

import "errors"

// ErrBudget is returned by SearchKept when the search expanded its
// budget of nodes before it converged: the caller should answer from an
// exact scan of what the filter keeps instead.
var ErrBudget = errors.New("index: search kept: node budget spent")

// Kept is what SearchKept needs beyond the query.
type Kept struct {
	// Filter decides which ids the search may visit and return; nil
	// keeps every id.
	Filter Filter
	// Range, when not nil, is a test Filter implies, applied first.
	Range *Range
	// Entries are ids Filter keeps to start from, typically the
	// best-scoring of a sample of them.
	Entries []uint32
	// Budget is how many nodes the search may expand before it returns
	// ErrBudget; 0 is no limit.
	Budget int
}

// A Range is a test on a byte column by id: an id passes when
// Lo ≤ Col[id] ≤ Hi. It must drop nothing the Filter keeps; a Range on the
// filter's most selective byte-sized quantity (a release year, a
// popularity) drops most of the nodes a search meets with one load each,
// read in the search's own loop, before any call to the Filter. The graph
// applies it only while every slot holds its own id (an index built or
// read in id order): the column is then read by slot. A Range with
// Hi < Lo is ignored.
type Range struct {
	Col    []uint8
	Lo, Hi uint8
}

// SearchKept is SearchInto for a filter that may keep few of the
// query's neighbours. Search lets dropped nodes guide the beam, so when
// the query lies far from every node the filter keeps (a filter on a
// quantity the vectors encode, such as a year range the query is not in),
// it expands every node nearer the query than the nearest kept ones before
// it finds any. SearchKept instead moves only through kept nodes: it
// starts from kept.Entries and from the usual entry point, and from each
// node it expands it scores the neighbours the filter keeps; when fewer
// than half of them are kept, it also takes the kept neighbours of the
// dropped ones (two hops, as ACORN-1 does), up to m in all (ACORN's
// truncation of a filtered neighbour list to M; more cost time for
// little recall), so that the kept nodes stay connected. It expands at
// most kept.Budget nodes and returns ErrBudget beyond them. ef = 0 means
// Options.EfSearch; the beam is max(ef, k). A nil kept is an error.
func (g *HNSW) SearchKept(dst []Result, q []float32, k, ef int, kept *Kept) ([]Result, error) {
	if kept == nil {
		return dst[:0], errors.New("index: search kept: kept is nil: want a *Kept holding the Filter")
	}
	return g.search(dst, q, k, ef, func(sc *scratch, ef int) error {
		ks := keptSearch{f: kept.Filter, budget: kept.Budget}
		if r := kept.Range; r != nil && r.Lo <= r.Hi && g.idSlots && len(r.Col) >= len(g.ids) {
			ks.col, ks.lo, ks.span = r.Col, r.Lo, r.Hi-r.Lo
		}
		g.seedKept(sc, &ks, ef, kept.Entries)
		return g.searchKept(sc, sc.q, ef, &ks)
	})
}

// keptSearch is one SearchKept's tests.
type keptSearch struct {
	f        Filter
	col      []uint8 // Range.Col by slot; nil: no range test
	lo, span uint8   // a slot passes when col[s]-lo ≤ span (mod 256)
	budget   int
}

// outside reports whether the range test drops slot s.
func (ks *keptSearch) outside(s uint32) bool {
	return ks.col != nil && ks.col[s]-ks.lo > ks.span
}

// passesKept reports whether slot s is live and kept: the range test,
// then the filter.
func (g *HNSW) passesKept(s uint32, ks *keptSearch) bool {
	return !ks.outside(s) && g.passes(s, ks.f)
}

// seedKept starts SearchKept's beam: the nodes among the greedy
// descent's end and the entries that f keeps, and the descent's end even
// when f drops it, expanded like a kept node so that its kept neighbours
// join the beam.
func (g *HNSW) seedKept(sc *scratch, ks *keptSearch, ef int, entries []uint32) {
	qv := sc.q
	sc.cands, sc.res = sc.cands[:0], sc.res[:0]
	seed := func(s uint32) {
		if sc.visited.has(s) || !g.passesKept(s, ks) {
			return
		}
		sc.visited.add(s)
		c := cand{-dotHalf(qv, g.vec(s)), s}
		if len(sc.res) < ef || c.dist < sc.res[0].dist {
			sc.offer(c, ef)
		} else {
			sc.cands.push(c)
		}
	}
	cur := g.descend(sc, qv)
	if g.passesKept(cur.slot, ks) {
		seed(cur.slot)
	} else {
		sc.cands.push(cur)
	}
	for _, id := range entries {
		if s, ok := g.slotOf(id); ok {
			seed(s)
		}
	}
}

// searchKept is the layer-0 search of SearchKept from the seeds in
// sc.cands and sc.res.
func (g *HNSW) searchKept(sc *scratch, qv []float32, ef int, ks *keptSearch) error {
	visited := &sc.visited
	bound := float32(3)
	if len(sc.res) > 0 {
		bound = sc.res[0].dist
	}
	l0, stride := g.l0, g.stride
	expanded := 0
	for len(sc.cands) > 0 {
		c := sc.cands.pop()
		if c.dist > bound && len(sc.res) >= ef {
			break
		}
		if expanded++; ks.budget > 0 && expanded > ks.budget {
			return ErrBudget
		}
		todo := sc.todo[:0]
		nb := g.nbrs(c.slot, 0)
		var dropped [hopLimit]uint32 // the first dropped neighbours, for two hops
		nd, kept := 0, 0
		for _, s := range nb {
			if ks.outside(s) {
				if nd < len(dropped) {
					dropped[nd] = s
					nd++
				}
				continue
			}
			if visited.has(s) {
				kept++ // only kept nodes are marked
				continue
			}
			if g.passes(s, ks.f) {
				kept++
				visited.add(s)
				todo = append(todo, s)
				prefetch(&l0[int(s)*stride])
			} else if nd < len(dropped) {
				dropped[nd] = s
				nd++
			}
		}
		if 2*kept < len(nb) {
			for _, h := range dropped[:nd] {
				prefetchLinks(&l0[int(h)*stride+g.vw])
			}
		twoHops:
			for _, h := range dropped[:nd] {
				for _, s := range g.nbrs(h, 0) {
					if len(todo) >= g.m {
						break twoHops // full: the next rows' reads would be wasted
					}
					if ks.outside(s) || visited.has(s) || !g.passes(s, ks.f) {
						continue
					}
					visited.add(s)
					todo = append(todo, s)
					prefetch(&l0[int(s)*stride])
				}
			}
		}
		sc.todo = todo
		for _, s := range todo {
			if d := -dotHalf(qv, g.vec(s)); len(sc.res) < ef || d < bound {
				bound = sc.offer(cand{d, s}, ef)
			}
		}
	}
	return nil
}

// slotOf returns the live slot of id. Ids are usually their own slots (an
// index built or read in id order), so that is tried before the map.
func (g *HNSW) slotOf(id uint32) (uint32, bool) {
	if int(id) < len(g.ids) && (g.idSlots || g.ids[id] == id) && !g.dead[id] {
		return id, true
	}
	if g.idSlots {
		return 0, false
	}
	s, ok := g.slots[id]
	return s, ok
}

// hopLimit is how many dropped neighbours of a node SearchKept looks
// through for two-hop neighbours.
const hopLimit = 16

// offer queues c for expansion and puts it in the beam of ef, dropping the
// beam's furthest when it is full; it returns the beam's new bound, the
// distance of its furthest.
func (sc *scratch) offer(c cand, ef int) float32 {
	sc.cands.push(c)
	if len(sc.res) < ef {
		sc.res.push(c)
	} else {
		sc.res.replaceTop(c)
	}
	return sc.res[0].dist
}
