package index

import "fmt"

// ScoreIDs appends to dst[:0] the score of q against each of ids that is
// live in the index, in the order of ids, and returns it: an exact search
// over a subset, for filters that keep too few ids for the graph to find
// them cheaply (see Filter). Ids not in the index are skipped. q is
// normalised internally; it must have Dim finite components, not all zero.
func (g *HNSW) ScoreIDs(dst []Result, q []float32, ids []uint32) ([]Result, error) {
	dst = dst[:0]
	g.mu.RLock()
	defer g.mu.RUnlock()
	sc := g.getScratch()
	defer g.pool.Put(sc)
	if err := normalizeInto(sc.q, q, g.dim); err != nil {
		return dst, fmt.Errorf("index: score: %w", err)
	}
	// In batches: look the slots up and prefetch their vectors, then
	// score them, so that the vectors' loads overlap.
	const batch = 16
	var slots [batch]uint32
	for lo := 0; lo < len(ids); lo += batch {
		n := 0
		for _, id := range ids[lo:min(lo+batch, len(ids))] {
			if s, ok := g.slotOf(id); ok {
				slots[n] = s
				n++
				prefetch(&g.l0[int(s)*g.stride])
			}
		}
		for _, s := range slots[:n] {
			dst = append(dst, Result{ID: g.idOf(s), Score: g.cosine(sc.q, s)})
		}
	}
	return dst, nil
}
