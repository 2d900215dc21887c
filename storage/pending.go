package storage

import (
	"slices"
	"strings"
)

// pending is one bucket's buffered writes: a map from key to an entry.
// Updates change the entry in place, so the key string stored first (the
// transaction arena's copy) stays the map's key rather than being replaced
// by the caller's string. Entries live in fixed-size chunks: a large
// import never copies them to grow (fresh memory is what costs here: on
// this kind of VM a page fault costs microseconds).
type pending[V any] struct {
	idx    map[string]int
	chunks [][]pendEntry[V]
	n      int
}

type pendEntry[V any] struct {
	key string
	val V
}

const pendChunk = 4096

// reserve sizes the map for n more entries, if it has not grown yet.
func (p *pending[V]) reserve(n int) {
	if p.n == 0 && n > 0 {
		p.idx = make(map[string]int, n)
	}
}

func (p *pending[V]) len() int { return p.n }

func (p *pending[V]) at(i int) *V { return &p.chunks[i/pendChunk][i%pendChunk].val }

// get returns the entry of key, or nil. The pointer is valid until the
// next add.
func (p *pending[V]) get(key string) *V {
	if i, ok := p.idx[key]; ok {
		return p.at(i)
	}
	return nil
}

// getBytes is get for a key in a byte slice (no conversion allocation).
func (p *pending[V]) getBytes(key []byte) *V {
	if i, ok := p.idx[string(key)]; ok {
		return p.at(i)
	}
	return nil
}

// add adds a key that get did not find; key must not change later.
func (p *pending[V]) add(key string, v V) {
	if p.idx == nil {
		p.idx = make(map[string]int)
	}
	if p.n%pendChunk == 0 {
		p.chunks = append(p.chunks, make([]pendEntry[V], 0, pendChunk))
	}
	c := &p.chunks[len(p.chunks)-1]
	*c = append(*c, pendEntry[V]{key, v})
	p.idx[key] = p.n
	p.n++
}

// sorted returns the entries in key order. p is empty afterwards.
func (p *pending[V]) sorted() []pendEntry[V] {
	ents := make([]pendEntry[V], 0, p.n)
	for _, c := range p.chunks {
		ents = append(ents, c...)
	}
	*p = pending[V]{}
	slices.SortFunc(ents, func(a, b pendEntry[V]) int { return strings.Compare(a.key, b.key) })
	return ents
}
