package index

// Footprint returns the memory the index holds, in bytes: its vectors, and
// everything else (links, ids, levels, tombstones and the id → slot map,
// estimated from its entry size and load factor).
func (g *HNSW) Footprint() (vectors, graph int64) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	slots := int64(len(g.ids))
	vectors = slots * int64(g.vw) * 4
	graph = int64(cap(g.l0))*4 - vectors
	graph += int64(cap(g.ids))*4 + int64(cap(g.levels)) + int64(cap(g.dead)) +
		int64(cap(g.upperOff))*4 + int64(cap(g.upper))*4
	graph += mapBytes(len(g.slots), 4+4)
	return vectors, graph
}

// mapBytes estimates the memory of a Go map of n entries of entry bytes
// each (key and value): Go's swiss tables keep a control byte per slot and
// fill their groups to at most 7/8.
func mapBytes(n int, entry int) int64 {
	return int64(n) * int64(entry+1) * 8 / 7
}
