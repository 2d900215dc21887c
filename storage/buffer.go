package storage

import "unsafe"

// writeBuffer holds a write transaction's writes to the big buckets until
// they are flushed (see Tx.flush), in key order. bbolt splits nodes only
// at commit, so puts in random key order into one large transaction
// memmove ever larger leaves, which is quadratic in the number of puts;
// sorted puts append to the leaf they fill.
//
// Its size is bounded by DB.writeBuffer: past it, the import stages the
// buffer in the file (see staging.go).
type writeBuffer struct {
	// tracks holds whole stored values (nil: a pending delete); inter the
	// decoded interaction values; users each touched user's interaction
	// count.
	tracks pending[[]byte]
	inter  pending[interValue]
	users  pending[uint64]

	// tombs are the deletions' tombstones, written by flush (at the
	// import's end when it stages). tombsCounted of them have been
	// counted in a staged flush's size already: they stay in memory
	// until the end, and count once.
	tombs        []tomb
	tombsCounted int

	// arena backs the keys and values of the pending maps: one allocation
	// per arena chunk instead of two or three per row, and map keys that
	// do not pin the caller's input line. It is append-only, so strings
	// made over it never change; bbolt keeps the values it is given until
	// commit, so they must not be reused either. arenaUsed is what its
	// chunks take since the last staged commit.
	arena     []byte
	arenaUsed int
	// limit is DB.writeBuffer (≤ 0: unbounded); it also sizes the arena's
	// chunks, so that a small buffer does not allocate a large chunk.
	limit int

	// missID is the last id Tx.Track did not find, so that PutTrack right
	// after it (an import's usual sequence) skips the second lookup.
	missID string
	// lastPut is the id PutTrack last stored, so that PutInteraction for
	// the same row need not look it up again.
	lastPut string
	keyBuf  []byte
}

// tomb is a deleted track's node and the catalogue seq of its deletion.
type tomb struct {
	node uint32
	seq  uint64
}

// interValue is an interaction's stored value, decoded (see
// encodeInteraction).
type interValue struct{ count, scope, seen uint64 }

// arenaChunk is the arena's allocation unit for an unbounded or large
// write buffer.
const arenaChunk = 256 << 10

// entryBytes and tombBytes are what size charges for an entry of the
// pending tables (its slot, entry and share of the sort order) and for a
// tombstone, beyond the arena bytes of its key and value.
const (
	entryBytes = 64
	tombBytes  = 16
)

// size estimates the memory the buffer holds, for the staging threshold.
func (b *writeBuffer) size() int {
	return b.arenaUsed + entryBytes*(b.tracks.n+b.inter.n+b.users.n) + tombBytes*(len(b.tombs)-b.tombsCounted)
}

// puts returns how many track and interaction writes the buffer holds.
func (b *writeBuffer) puts() int { return b.tracks.n + b.inter.n }

// committed forgets the arena once a staged flush has committed (bbolt
// holds none of it any more) and counts the tombstones as staged.
func (b *writeBuffer) committed() {
	b.arena, b.arenaUsed = nil, 0
	b.tombsCounted = len(b.tombs)
}

// forgetLookups drops the lookup caches: a flush moves the pending
// entries they stand for into the buckets.
func (b *writeBuffer) forgetLookups() { b.missID, b.lastPut = "", "" }

// alloc returns n bytes of the arena, never handed out before.
func (b *writeBuffer) alloc(n int) []byte {
	if cap(b.arena)-len(b.arena) < n {
		chunk := arenaChunk
		if b.limit > 0 {
			chunk = min(chunk, max(4096, b.limit/8))
		}
		b.arena = make([]byte, 0, max(n, chunk))
		b.arenaUsed += cap(b.arena)
	}
	l := len(b.arena)
	b.arena = b.arena[:l+n]
	return b.arena[l : l+n : l+n]
}

// keep copies s into the arena and returns it as a string.
func (b *writeBuffer) keep(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	v := b.alloc(len(s))
	copy(v, s)
	return unsafe.String(&v[0], len(v))
}

// unkeep gives back the bytes of s, the string keep returned last.
func (b *writeBuffer) unkeep(s string) {
	if l := len(b.arena) - len(s); l >= 0 && len(s) > 0 && unsafe.StringData(s) == &b.arena[l] {
		b.arena = b.arena[:l]
	}
}

// bytesOf views a string's bytes without copying, for bbolt calls that do
// not keep or modify them (Get, Delete, and Put's key, which it clones).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
