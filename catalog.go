package soundalike

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/internal/prefetch"
)

// catalog holds a snapshot's tracks in a flat layout: each node's record
// (its id, then the track as the tracks bucket stores it, encodeTrack's
// bytes) is copied into large byte chunks, located by one word per node.
// A million tracks are then a few hundred pointer-free chunks, not
// millions of strings and slices for the garbage collector to scan at
// every cycle and for the load to allocate one by one.
//
// The chunks never change once written: tracks are decoded on demand with
// their strings pointing into them (decodeTrackAliased), and every decode
// gets slices of its own, so a Track handed out shares nothing mutable
// with the snapshot.
type catalog struct {
	chunks [][]byte
	loc    []uint64 // by node: chunk index << 32 | offset; locFree where there is no track
}

// locFree marks a node without a track.
const locFree = math.MaxUint64

// catalogChunk is the size of a chunk; a record larger than that gets a
// chunk of its own.
const catalogChunk = 1 << 20

func newCatalog(n int) catalog {
	c := catalog{loc: make([]uint64, n)}
	for i := range c.loc {
		c.loc[i] = locFree
	}
	return c
}

// len returns the number of nodes (tracks and free nodes).
func (c *catalog) len() int { return len(c.loc) }

// holdsTrack reports whether node n (below len) holds a track: an index
// node whose track was deleted since the index was built, or a node never
// given one, is free.
func (c *catalog) holdsTrack(n uint32) bool { return c.loc[n] != locFree }

// record returns node n's id and encoded track, or ok false when the node
// has no track.
func (c *catalog) record(n uint32) (id string, data []byte, ok bool) {
	l := c.loc[n]
	if l == locFree { // !holdsTrack(n), on the location read once
		return "", nil, false
	}
	b := c.chunks[l>>32][uint32(l):]
	k, w := binary.Uvarint(b)
	b = b[w:]
	if k > 0 {
		id = unsafe.String(&b[0], int(k))
	}
	b = b[k:]
	m, w := binary.Uvarint(b)
	return id, b[w : w+int(m) : w+int(m)], true
}

// id returns node n's track id ("" for a free node).
func (c *catalog) id(n uint32) TrackID {
	id, _, _ := c.record(n)
	return TrackID(id)
}

// decode sets *t to node n's track, the zero Track for a free node. The
// records were decoded once when the catalogue loaded, so decoding cannot
// fail here.
func (c *catalog) decode(n uint32, t *Track) {
	id, data, ok := c.record(n)
	if !ok {
		*t = Track{}
		return
	}
	t.ID = TrackID(id)
	decodeTrackAliased(data, t)
}

// prefetch brings the records of pool[i] for i in picked towards the cache:
// first their locations, then the records' first lines, so that the
// misses of each step overlap where decoding them one by one would take
// them in turn.
func (c *catalog) prefetch(pool []index.Result, picked []int) {
	for _, i := range picked {
		if n := pool[i].ID; int(n) < len(c.loc) {
			prefetch.Line(unsafe.Pointer(&c.loc[n]))
		}
	}
	for _, i := range picked {
		if n := pool[i].ID; int(n) < len(c.loc) {
			if l := c.loc[n]; l != locFree {
				prefetch.Line(unsafe.Pointer(&c.chunks[l>>32][uint32(l)]))
			}
		}
	}
}

// track returns node n's track.
func (c *catalog) track(n uint32) *Track {
	t := new(Track)
	c.decode(n, t)
	return t
}

// catalogWriter appends records to a catalog being loaded. A record is
// written once and never moved, so that decoding workers may read it
// while later records are appended.
type catalogWriter struct {
	c   *catalog
	cur []byte // the chunk being filled
}

// add stores node n's record.
func (w *catalogWriter) add(n uint32, id string, data []byte) error {
	size := binary.MaxVarintLen64*2 + len(id) + len(data)
	if len(w.cur)+size > cap(w.cur) {
		if len(w.c.chunks) == math.MaxUint32 {
			return fmt.Errorf("track %s: the catalogue does not fit in memory chunks", id)
		}
		w.cur = make([]byte, 0, max(catalogChunk, size))
		w.c.chunks = append(w.c.chunks, nil)
	}
	off := len(w.cur)
	w.cur = binary.AppendUvarint(w.cur, uint64(len(id)))
	w.cur = append(w.cur, id...)
	w.cur = binary.AppendUvarint(w.cur, uint64(len(data)))
	w.cur = append(w.cur, data...)
	ci := len(w.c.chunks) - 1
	w.c.chunks[ci] = w.cur
	w.c.loc[n] = uint64(ci)<<32 | uint64(off)
	return nil
}

// bytes counts the catalog's chunks and locations.
func (c *catalog) bytes() int64 {
	n := int64(cap(c.loc)) * 8
	for _, ch := range c.chunks {
		n += int64(cap(ch))
	}
	return n
}
