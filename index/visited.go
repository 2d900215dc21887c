package index

// visitedSet is the set of slots one search has reached: one bit per slot.
// A search tests a slot for every neighbour it reads, at random across the
// graph, so the set's size decides where those tests are served from: at
// 1M slots the bits take 128 KB, which a core's L2 cache holds, where
// hnswlib's 16-bit generation stamps take 2 MB and miss it.
//
// Emptying the set is a sequential clear while that is cheap (below
// listFrom words); above it, the words a search set are listed and only
// those are cleared, so that the cost follows what the search touched
// rather than the graph's size.
type visitedSet struct {
	bits  []uint64
	dirty []uint32 // with list: the word of every add since the last reset
	list  bool     // len(bits) ≥ listFrom
}

// listFrom is the bitset size, in words (64 KB, 512Ki slots), from which
// reset clears the listed words. A sequential clear costs in proportion
// to the set's size; listing costs every add an append, in proportion to
// a search's adds, which grow little with the graph. Below this size the
// clear is the cheaper.
const listFrom = 8192

// fit makes room for slots 0..n-1 (with headroom for growth), emptying
// the set when it has to grow.
func (v *visitedSet) fit(n int) {
	if len(v.bits)*64 >= n {
		return
	}
	n += n/4 + 64
	v.bits = make([]uint64, (n+63)/64)
	v.dirty = v.dirty[:0]
	v.list = len(v.bits) >= listFrom
}

// reset empties the set.
func (v *visitedSet) reset() {
	if !v.list || len(v.dirty) > len(v.bits)/8 {
		clear(v.bits)
	} else {
		for _, w := range v.dirty {
			v.bits[w] = 0
		}
	}
	v.dirty = v.dirty[:0]
}

// has reports whether s is in the set.
func (v *visitedSet) has(s uint32) bool {
	return v.bits[s>>6]&(1<<(s&63)) != 0
}

// add puts s in the set and reports whether it was absent.
func (v *visitedSet) add(s uint32) bool {
	w := s >> 6
	x, b := v.bits[w], uint64(1)<<(s&63)
	if x&b != 0 {
		return false
	}
	v.bits[w] = x | b
	if v.list {
		// Every add, not only the first in a word: that test mispredicts.
		v.dirty = append(v.dirty, w)
	}
	return true
}
