package index

import "github.com/audotics/soundalike/internal/memsize"

// Footprint returns the memory the index holds, in bytes: its vectors, and
// everything else (links, ids, levels, tombstones and the id → slot map,
// estimated from its entry size and load factor). Stats.MemoryBytes is
// their sum.
func (g *HNSW) Footprint() (vectors, graph int64) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.memory()
}

// memory is Footprint with g.mu held: the arrays by capacity, layer 0's
// vectors apart from its links.
func (g *HNSW) memory() (vectors, graph int64) {
	vectors = int64(len(g.ids)) * int64(g.vw) * 4
	graph = int64(cap(g.l0))*4 - vectors
	graph += int64(cap(g.ids))*4 + int64(cap(g.levels)) + int64(cap(g.dead)) +
		int64(cap(g.upperOff))*4 + int64(cap(g.upper))*4
	graph += memsize.Map(len(g.slots), 4+4)
	return vectors, graph
}
