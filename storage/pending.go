package storage

import (
	"hash/maphash"
	"slices"
	"strings"
)

// pending is one bucket's buffered writes: entries (key, value) in
// fixed-size chunks, found through an open-addressing hash table of their
// indexes. It does what a map[string]int would, but
//   - a miss leaves the slot where the key would go, so the insert that
//     follows (an import's usual sequence) does not hash and probe again;
//   - the table is 8 bytes a slot and the entries never move: a large
//     import neither copies them to grow nor pins the caller's strings
//     (keys are the write buffer's arena copies, set once).
//
// Fresh memory is what costs most here (each new page is a page fault),
// so the table and the chunks are allocated once and never copied.
type pending[V any] struct {
	seed   maphash.Seed
	slots  []uint64 // 0: empty; else tag<<32 | entry index+1
	chunks [][]pendEntry[V]
	// perms[c] lists chunk c's entries in key order, sorted as soon as
	// the chunk is full: during an import the storing goroutine has time
	// to spare while it waits for the reader, and flush then only merges.
	perms [][]uint16
	n     int

	// The slot and hash of the last miss, for add.
	missKey  string
	missSlot int
	missHash uint64
}

type pendEntry[V any] struct {
	key string
	val V
}

const pendChunk = 4096

func (p *pending[V]) at(i int) *V { return &p.chunks[i/pendChunk][i%pendChunk].val }

func (p *pending[V]) keyAt(i int) string { return p.chunks[i/pendChunk][i%pendChunk].key }

// reserve makes room in the table for n more entries.
func (p *pending[V]) reserve(n int) {
	if want := p.n + n; n > 0 && want*4 > len(p.slots)*3 {
		p.resize(want)
	}
}

// resize makes a table for n entries at a load of at most 3/4 and puts the
// entries back.
func (p *pending[V]) resize(n int) {
	size := 16
	for size*3/4 < n {
		size *= 2
	}
	if p.slots == nil {
		p.seed = maphash.MakeSeed()
	}
	p.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for i := range p.n {
		h := maphash.String(p.seed, p.keyAt(i))
		s := h & mask
		for p.slots[s] != 0 {
			s = (s + 1) & mask
		}
		p.slots[s] = h>>32<<32 | uint64(i+1)
	}
	p.missKey = "" // slots moved
}

// find returns the entry index of key, or -1 and, for add, the free slot
// where key goes.
func (p *pending[V]) find(key string) int {
	if p.slots == nil {
		p.resize(0)
	}
	h := maphash.String(p.seed, key)
	mask := uint64(len(p.slots) - 1)
	tag := h >> 32 << 32
	for s := h & mask; ; s = (s + 1) & mask {
		e := p.slots[s]
		if e == 0 {
			p.missKey, p.missSlot, p.missHash = key, int(s), h
			return -1
		}
		if e&^(1<<32-1) == tag {
			if i := int(uint32(e)) - 1; p.keyAt(i) == key {
				return i
			}
		}
	}
}

// get returns the value of key, or nil. The pointer stays valid (entries
// never move).
func (p *pending[V]) get(key string) *V {
	if i := p.find(key); i >= 0 {
		return p.at(i)
	}
	return nil
}

// add adds a key that get did not find and returns its entry; key must
// not change later.
func (p *pending[V]) add(key string, v V) *V {
	if (p.n+1)*4 > len(p.slots)*3 {
		p.resize(p.n + 1)
	}
	if key == "" || p.missKey != key {
		if p.find(key) >= 0 {
			panic("storage: pending.add of a key already present")
		}
	}
	if p.n%pendChunk == 0 {
		if len(p.chunks) > 0 {
			p.perms = append(p.perms, sortChunk(p.chunks[len(p.chunks)-1]))
		}
		p.chunks = append(p.chunks, make([]pendEntry[V], 0, pendChunk))
	}
	c := &p.chunks[len(p.chunks)-1]
	*c = append(*c, pendEntry[V]{key, v})
	p.slots[p.missSlot] = p.missHash>>32<<32 | uint64(p.n+1)
	p.n++
	p.missKey = ""
	return &(*c)[len(*c)-1].val
}

// sortChunk returns the order of c's entries by key.
func sortChunk[V any](c []pendEntry[V]) []uint16 {
	perm := make([]uint16, len(c))
	for i := range perm {
		perm[i] = uint16(i)
	}
	slices.SortFunc(perm, func(a, b uint16) int { return strings.Compare(c[a].key, c[b].key) })
	return perm
}

// sorted returns the entries in key order, merging the chunks' sorted
// orders. p is empty afterwards.
func (p *pending[V]) sorted() []pendEntry[V] {
	ents := make([]pendEntry[V], 0, p.n)
	p.merge(func(block []pendEntry[V]) { ents = append(ents, block...) })
	return ents
}

// mergeBlock is how many entries merge hands over at a time.
const mergeBlock = 1024

// take returns p's entries as a pending of their own and leaves p empty,
// so that a goroutine can merge them (see send) while p takes new ones.
func (p *pending[V]) take() *pending[V] {
	own := *p
	*p = pending[V]{}
	return &own
}

// blocks returns a channel with room for every block merge will emit.
func (p *pending[V]) blocks() chan []pendEntry[V] {
	return make(chan []pendEntry[V], p.n/mergeBlock+1)
}

// send merges p's entries into key order, sends them in blocks on ch and
// closes it. ch must come from p.blocks, so that send never waits for
// the receiver, nor leaks when it stops receiving.
func (p *pending[V]) send(ch chan<- []pendEntry[V]) {
	p.merge(func(block []pendEntry[V]) { ch <- block })
	close(ch)
}

// merge calls emit with the entries in key order, in blocks of at most
// mergeBlock that emit may keep, and leaves p empty.
func (p *pending[V]) merge(emit func([]pendEntry[V])) {
	for c := len(p.perms); c < len(p.chunks); c++ {
		p.perms = append(p.perms, sortChunk(p.chunks[c]))
	}
	// A binary min-heap of chunk cursors, by their current key.
	type cursor struct{ c, i int }
	key := func(x cursor) string { return p.chunks[x.c][p.perms[x.c][x.i]].key }
	h := make([]cursor, 0, len(p.chunks))
	less := func(a, b int) bool { return key(h[a]) < key(h[b]) }
	down := func(i int) {
		for {
			l, m := 2*i+1, i
			if l < len(h) && less(l, m) {
				m = l
			}
			if r := l + 1; r < len(h) && less(r, m) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for c := range p.chunks {
		if len(p.chunks[c]) > 0 {
			h = append(h, cursor{c, 0})
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	block := make([]pendEntry[V], 0, min(p.n, mergeBlock))
	for len(h) > 0 {
		top := &h[0]
		block = append(block, p.chunks[top.c][p.perms[top.c][top.i]])
		if len(block) == cap(block) {
			emit(block)
			block = make([]pendEntry[V], 0, min(p.n, mergeBlock))
		}
		if top.i++; top.i == len(p.chunks[top.c]) {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	if len(block) > 0 {
		emit(block)
	}
	*p = pending[V]{}
}
