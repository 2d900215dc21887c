package index

import (
	"slices"
	"sync"
	"sync/atomic"
)

// link connects the unlinked slots [first, end) into the graph. With more
// than one worker the slots are linked in parallel and every neighbour list
// access takes the slot's stripe lock. g.mu must be held for writing.
func (g *HNSW) link(first, end uint32, workers int) {
	n := int(end - first)
	if n <= 0 {
		return
	}
	// The first node of an empty graph is its entry point; link it alone so
	// that workers always start from an existing node.
	if g.maxLevel < 0 {
		g.entry = first
		g.maxLevel = int(g.levels[first])
		first++
		n--
	}
	workers = min(workers, n)
	if workers <= 1 {
		sc := g.getScratch()
		for s := first; s < end; s++ {
			g.insert(sc, s, false)
		}
		g.pool.Put(sc)
		return
	}
	var next atomic.Uint32
	next.Store(first)
	var wg sync.WaitGroup
	for range workers {
		sc := g.getScratch() // sized while no worker runs
		wg.Go(func() {
			defer g.pool.Put(sc)
			for {
				s := next.Add(1) - 1
				if s >= end {
					return
				}
				sc.visited.reset()
				g.insert(sc, s, true)
			}
		})
	}
	wg.Wait()
	g.repairReach()
}

// repairReach gives a way in to every live slot that a walk of layer 0
// from the entry point does not reach. That walk is the one an unbounded
// search from the entry point would make; a real search enters layer 0
// where its greedy descent through the upper layers ends and stops once its
// beam of ef stops improving. So this restores the graph's connectivity
// from the entry point; it does not promise that every search can return
// every node, which no HNSW does.
//
// It runs after a parallel build, where concurrent inserts can prune a node
// out of every list that pointed to it. Such a node is added to a
// reachable neighbour's list: in a free slot, or in place of an entry,
// which then moves to the node's own list when it has room; a replacement
// that would leave anything unreached is undone. It makes at most four
// passes and stops early when one links nobody in, so a node it cannot
// link stays unreachable from the entry point.
//
// Cost: one walk of every list, O(n·2M), and for each node linked in a
// walk of what it newly reaches. Only a replacement whose entry cannot move
// to the node's full list takes another whole walk, to check that nothing
// was cut off. A build in batches pays the first walk once a batch.
func (g *HNSW) repairReach() {
	n := len(g.ids)
	if n == 0 || g.maxLevel < 0 {
		return
	}
	r := &reach{g: g, seen: make([]bool, n)}
	r.count = r.walk(r.seen)
	if r.count == n {
		return
	}
	for range 4 {
		progress := false
		for u := range uint32(n) {
			if !r.seen[u] && !g.dead[u] && g.linkIn(u, r) {
				progress = true
			}
		}
		if !progress {
			return
		}
	}
}

// reach is the set of slots a walk of layer 0 from the entry point
// reaches, kept up to date while repairReach links unreached slots in.
type reach struct {
	g     *HNSW
	seen  []bool // reached from the entry point
	count int    // true entries of seen
	spare []bool // a whole walk's result while it is checked (keeps)
	stack []uint32
}

// walk marks in into the slots a walk of layer 0 from the entry point
// reaches, and counts them.
func (r *reach) walk(into []bool) int {
	clear(into)
	into[r.g.entry] = true
	r.stack = append(r.stack[:0], r.g.entry)
	return 1 + r.visit(into)
}

// visit marks in into the slots reachable from those on the stack that
// into does not hold yet, and returns how many it marked.
func (r *reach) visit(into []bool) int {
	marked := 0
	for len(r.stack) > 0 {
		s := r.stack[len(r.stack)-1]
		r.stack = r.stack[:len(r.stack)-1]
		for _, x := range r.g.nbrs(s, 0) {
			if !into[x] {
				into[x] = true
				marked++
				r.stack = append(r.stack, x)
			}
		}
	}
	return marked
}

// grew adds u, not reached before and now linked to by a reached slot,
// and what u leads to. It is for a change that removed no path: a link
// into a free slot, or one whose displaced entry u links to.
func (r *reach) grew(u uint32) {
	r.seen[u] = true
	r.stack = append(r.stack[:0], u)
	r.count += 1 + r.visit(r.seen)
}

// keeps reports whether a change that may have removed a path kept every
// slot reached and reached u; if so the new walk becomes seen.
func (r *reach) keeps(u uint32) bool {
	if r.spare == nil {
		r.spare = make([]bool, len(r.seen))
	}
	c := r.walk(r.spare)
	if !r.spare[u] || c <= r.count {
		return false
	}
	for s, ok := range r.seen {
		if ok && !r.spare[s] {
			return false
		}
	}
	r.seen, r.spare, r.count = r.spare, r.seen, c
	return true
}

// linkIn tries to give unreached u a way in from a reachable node: a free
// slot in a reachable neighbour's list (or, failing that, any reachable
// node's), else an entry of a neighbour's list, moved to u's own list when
// it has room (or already there). r follows what is reached, and accepts
// or refuses a replacement that could cut a path.
func (g *HNSW) linkIn(u uint32, r *reach) bool {
	free := func(v uint32) bool {
		lst := g.links0(v)
		if k := count0(lst); k < g.m0 {
			lst[k] = u
			r.grew(u)
			return true
		}
		return false
	}
	for _, v := range g.nbrs(u, 0) {
		if r.seen[v] && free(v) {
			return true
		}
	}
	own := g.links0(u)
	for _, v := range g.nbrs(u, 0) {
		if !r.seen[v] {
			continue
		}
		lst := g.links0(v)
		for i := len(lst) - 1; i >= 0 && i >= len(lst)-4; i-- { // a few entries, last first
			w := lst[i]
			if w == noSlot {
				continue // a free slot: the first loop would have used it
			}
			lst[i] = u
			k := count0(own)
			if slices.Contains(own[:k], w) {
				r.grew(u) // v→w became v→u→w
				return true
			}
			if k < g.m0 {
				own[k] = w
				r.grew(u) // v→w became v→u→w
				return true
			}
			if r.keeps(u) {
				return true
			}
			lst[i] = w
		}
	}
	for v := range uint32(len(g.ids)) {
		if r.seen[v] && v != u && free(v) {
			return true
		}
	}
	return false
}

// insert links slot q (Algorithm 1 of the paper). locked says whether other
// goroutines are linking at the same time.
func (g *HNSW) insert(sc *scratch, q uint32, locked bool) {
	level := int(g.levels[q])
	if locked {
		g.epMu.Lock()
	}
	ep, top := g.entry, g.maxLevel
	if locked && level <= top {
		g.epMu.Unlock()
	} // else keep epMu: this node becomes the new entry point
	qv := sc.q
	fromHalves(qv, g.vec(q))
	cur := cand{dist: -dotHalf(qv, g.vec(ep)), slot: ep}
	for l := top; l > level; l-- {
		cur = g.greedy(sc, qv, cur, l, locked)
	}
	for l := min(level, top); l >= 0; l-- {
		sc.visited.reset()
		sc.visited.add(q) // never link to itself
		g.searchLayer(sc, qv, cur, g.opt.EfConstruction, l, nil, true, locked)
		// Results come out of the max-heap furthest first.
		sc.tmp = sc.tmp[:0]
		for len(sc.res) > 0 {
			sc.tmp = append(sc.tmp, sc.res.pop())
		}
		slices.Reverse(sc.tmp)
		if len(sc.tmp) == 0 {
			continue
		}
		cur = sc.tmp[0]
		sel := g.selectNeighbours(sc.sel, sc.tmp, g.m)
		sc.sel = sel // setList and addLink select into sc.keep
		maxN := g.m
		if l == 0 {
			maxN = g.m0
		}
		g.setList(sc, q, l, sel, maxN, locked)
		for _, c := range sel {
			g.addLink(sc, c.slot, q, c.dist, l, maxN, locked)
		}
	}
	if level > top {
		g.entry = q
		g.maxLevel = level
		if locked {
			g.epMu.Unlock()
		}
	}
}

// greedy walks layer l from cur to the node closest to qv (a beam of one).
func (g *HNSW) greedy(sc *scratch, qv []float32, cur cand, l int, locked bool) cand {
	for changed := true; changed; {
		changed = false
		nb := g.neighbours(sc, cur.slot, l, locked)
		// The neighbours' vectors lie anywhere in layer 0: their
		// misses overlap when all are asked for before the first dot.
		for _, s := range nb {
			prefetch(&g.l0[int(s)*g.stride])
		}
		for _, s := range nb {
			if d := -dotHalf(qv, g.vec(s)); d < cur.dist {
				cur = cand{d, s}
				changed = true
			}
		}
	}
	return cur
}

// neighbours returns the neighbour slots of s on layer l: the list itself,
// or, when locked, a copy in sc.nbuf taken under the stripe lock.
func (g *HNSW) neighbours(sc *scratch, s uint32, l int, locked bool) []uint32 {
	if !locked {
		return g.nbrs(s, l)
	}
	mu := &g.stripe[s&(nStripes-1)]
	mu.Lock()
	sc.nbuf = append(sc.nbuf[:0], g.nbrs(s, l)...)
	mu.Unlock()
	return sc.nbuf
}

// selectNeighbours is the heuristic of Algorithm 4, the one neighbour
// selection of both a new node and a full list being pruned: walking cs
// (candidates for one base node, sorted closest first) it keeps a
// candidate only if it is closer to the base than to every candidate kept
// so far, up to m. Keeping a candidate that is closer to a kept neighbour
// than to the base would add a redundant edge; skipping it keeps links that
// lead in other directions. The result is appended to dst[:0], which must
// not alias cs.
func (g *HNSW) selectNeighbours(dst, cs []cand, m int) []cand {
	sel := dst[:0]
	for _, c := range cs {
		if len(sel) >= m {
			break
		}
		cv := g.vec(c.slot)
		good := true
		for _, s := range sel {
			if -dotHalves(cv, g.vec(s.slot)) < c.dist {
				good = false
				break
			}
		}
		if good {
			sel = append(sel, c)
		}
	}
	return sel
}

func (g *HNSW) setList(sc *scratch, s uint32, l int, sel []cand, maxN int, locked bool) {
	if locked {
		g.stripe[s&(nStripes-1)].Lock()
		defer g.stripe[s&(nStripes-1)].Unlock()
	}
	keep := sel
	// In a parallel build another worker may have linked itself to s on
	// this layer already: it reached s through a link on a higher layer,
	// found s's list here still empty, and took s as its neighbour. Those
	// links stay (the heuristic chooses when there are too many): that node
	// may have no other way in, and overwriting them would cut it off.
	if cur := g.nbrs(s, l); len(cur) > 0 {
		sv := g.vec(s)
		cs := append(sc.lk[:0], sel...)
		for _, x := range cur {
			if !slices.ContainsFunc(sel, func(c cand) bool { return c.slot == x }) {
				cs = append(cs, cand{-dotHalves(sv, g.vec(x)), x})
			}
		}
		sortCands(cs)
		keep = cs
		if len(cs) > maxN {
			keep = g.selectNeighbours(sc.keep, cs, maxN)
			sc.keep = keep
		}
		sc.lk = cs
	}
	xs := sc.xbuf[:0]
	for _, c := range keep {
		xs = append(xs, c.slot)
	}
	sc.xbuf = xs
	g.setNbrs(s, l, xs)
}

func sortCands(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		if a.dist < b.dist {
			return -1
		}
		if a.dist > b.dist {
			return 1
		}
		return 0
	})
}

// addLink adds q (at distance d) to the neighbours of e on layer l; when the
// list is full, it re-selects maxN of the old neighbours plus q with the
// heuristic.
func (g *HNSW) addLink(sc *scratch, e, q uint32, d float32, l, maxN int, locked bool) {
	if locked {
		g.stripe[e&(nStripes-1)].Lock()
		defer g.stripe[e&(nStripes-1)].Unlock()
	}
	nb := g.nbrs(e, l)
	n := len(nb)
	if slices.Contains(nb, q) {
		return
	}
	if n < maxN {
		if l == 0 {
			g.links0(e)[n] = q
		} else {
			lst := g.list(e, l)
			lst[1+n] = q
			lst[0]++
		}
		return
	}
	ev := g.vec(e)
	cs := append(sc.lk[:0], cand{d, q})
	for _, s := range nb {
		cs = append(cs, cand{-dotHalves(ev, g.vec(s)), s})
	}
	sortCands(cs)
	keep := g.selectNeighbours(sc.keep, cs, maxN)
	sc.keep = keep
	xs := sc.xbuf[:0]
	for _, c := range keep {
		xs = append(xs, c.slot)
	}
	g.setNbrs(e, l, xs)
	sc.lk, sc.xbuf = cs, xs
}
