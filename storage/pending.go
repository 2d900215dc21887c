package storage

import (
	"slices"
	"strings"
)

// pending is one bucket's buffered writes: a map from key to an entry in a
// slice. Updates change the entry in place, so the key string stored first
// (the transaction arena's copy) stays the map's key rather than being
// replaced by the caller's string, and flush sorts the slice directly.
type pending[V any] struct {
	idx  map[string]int
	ents []pendEntry[V]
}

type pendEntry[V any] struct {
	key string
	val V
}

func (p *pending[V]) len() int { return len(p.ents) }

// get returns the entry of key, or nil.
func (p *pending[V]) get(key string) *V {
	if i, ok := p.idx[key]; ok {
		return &p.ents[i].val
	}
	return nil
}

// getBytes is get for a key in a byte slice (no conversion allocation).
func (p *pending[V]) getBytes(key []byte) *V {
	if i, ok := p.idx[string(key)]; ok {
		return &p.ents[i].val
	}
	return nil
}

// add adds a key that get did not find; key must not change later.
func (p *pending[V]) add(key string, v V) {
	if p.idx == nil {
		p.idx = make(map[string]int)
	}
	p.idx[key] = len(p.ents)
	p.ents = append(p.ents, pendEntry[V]{key, v})
}

// sorted returns the entries in key order. p is empty afterwards.
func (p *pending[V]) sorted() []pendEntry[V] {
	ents := p.ents
	slices.SortFunc(ents, func(a, b pendEntry[V]) int { return strings.Compare(a.key, b.key) })
	*p = pending[V]{}
	return ents
}
