package soundalike

import "hash/maphash"

// idTable maps track ids to nodes without a pointer: an open-addressing
// table of node numbers whose ids are read from the catalog. A Go map from
// id strings would hold a million string headers at 1M tracks, each one a
// pointer for the garbage collector to follow at every cycle.
type idTable struct {
	seed  maphash.Seed
	slots []uint32 // node+1; 0 is an empty slot. len is a power of two.
	n     int
}

func newIDTable(capacity int) idTable {
	size := 16
	for size < 2*capacity {
		size *= 2
	}
	return idTable{seed: maphash.MakeSeed(), slots: make([]uint32, size)}
}

// len returns the number of ids.
func (t *idTable) len() int { return t.n }

// find returns the node of id.
func (t *idTable) find(c *catalog, id string) (uint32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := maphash.String(t.seed, id) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if string(c.id(s-1)) == id {
			return s - 1, true
		}
	}
}

// insert adds node's id, which the catalog already holds and the table
// does not.
func (t *idTable) insert(c *catalog, node uint32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow(c)
	}
	t.put(c.id(node), node)
	t.n++
}

func (t *idTable) put(id TrackID, node uint32) {
	mask := uint64(len(t.slots) - 1)
	i := maphash.String(t.seed, string(id)) & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = node + 1
}

func (t *idTable) grow(c *catalog) {
	old := t.slots
	t.slots = make([]uint32, max(16, 2*len(old)))
	for _, s := range old {
		if s != 0 {
			t.put(c.id(s-1), s-1)
		}
	}
}

func (t *idTable) bytes() int64 { return int64(cap(t.slots)) * 4 }
