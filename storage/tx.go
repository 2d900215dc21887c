package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// Tx is a transaction. Byte slices it returns are valid only until the
// transaction ends, or its next write or scan (a large import commits as
// it goes: see bulk.go): copy what you keep.
type Tx struct {
	tx *bolt.Tx
	db *DB // nil in a read-only transaction

	// A large import stages its writes: see spill. bulk says the buffers
	// flush into the staging buckets; staged that the staging bucket has
	// been committed (and must be dropped if the import fails).
	bulk, staged bool
	stagedSet    [3]bool // which of stagedBuckets are staged
	noBulk       bool    // this transaction wrote before it could stage
	final        bool    // finish's last transaction: see stageNeeded
	tombsSpilled int     // len(tombs) at the last spill
	// err is the first failure of a spill: every later write and Update
	// return it, so that an import cannot go on past lost writes.
	err error
	// scanning counts the scans (ForEachTrack, ...) running in this
	// transaction: a write inside a scan's callback must not commit.
	scanning int
	spills   int
	puts     int // staged puts since the last node count check
	// arenaUsed is the memory the buffers hold (arena chunks and entries),
	// checked against DB.bulkAfter.
	arenaUsed int
	// tombs are the deletions' tombstones, written by flush (at the
	// import's end when staged).
	tombs []tomb
	// scopeBase is the bolt id of the first transaction of this Update:
	// a staged import commits several (see occurrenceScope).
	scopeBase uint64

	// Writes to the big buckets wait here and are written in key order by
	// flush, before commit or any scan. bbolt splits nodes only at commit,
	// so puts in random key order into one large transaction memmove ever
	// larger leaves (quadratic): the import was 10x slower that way.
	//
	// pendTracks holds whole stored values (nil: a pending delete);
	// pendInter the decoded interaction values; pendUsers each touched
	// user's interaction count.
	pendTracks pending[[]byte]
	pendInter  pending[interValue]
	pendUsers  pending[uint64]

	// arena backs the keys and values of the pending maps: one allocation
	// per 256 KiB instead of two or three per row, and map keys that do
	// not pin the caller's input line. It is append-only, so strings made
	// over it never change; bbolt keeps the values it is given until
	// commit, so they must not be reused either.
	arena []byte
	// missID is the last id Track did not find, so that PutTrack right
	// after it (an import's usual sequence) skips the second lookup.
	missID string
	// lastPut is the id PutTrack last stored, so that PutInteraction for
	// the same row need not look it up again.
	lastPut string
	keyBuf  []byte

	// scope numbers the sources of this transaction (see NewSource).
	scope uint64

	// The catalogue's counters, read once and written by flush: every
	// row of an import moves several of them.
	ctr [numCounters]struct {
		v             uint64
		loaded, dirty bool
	}
}

// tomb is a deleted track's node and the catalogue seq of its deletion.
type tomb struct {
	node uint32
	seq  uint64
}

// interValue is an interaction's stored value, decoded (see
// encodeInteraction).
type interValue struct{ count, scope, seen uint64 }

// The counters Tx caches, indexes into Tx.ctr and counterKeys.
const (
	cNextNode = iota
	cNTracks
	cCatalogSeq
	cNUsers
	cNInteract
	numCounters
)

var counterKeys = [numCounters][]byte{keyNextNode, keyNTracks, keyCatalogSeq, keyNUsers, keyNInteract}

func (tx *Tx) counter(c int) uint64 {
	if e := &tx.ctr[c]; !e.loaded {
		e.v, e.loaded = getU64(tx.meta(), counterKeys[c]), true
	}
	return tx.ctr[c].v
}

func (tx *Tx) setCounter(c int, v uint64) {
	tx.ctr[c].v, tx.ctr[c].loaded, tx.ctr[c].dirty = v, true, true
}

const arenaChunk = 256 << 10

// alloc returns n bytes of the arena, never handed out before.
func (tx *Tx) alloc(n int) []byte {
	if cap(tx.arena)-len(tx.arena) < n {
		chunk := arenaChunk
		if tx.db != nil && tx.db.bulkAfter > 0 {
			chunk = min(chunk, max(4096, tx.db.bulkAfter/8)) // a small budget: small chunks
		}
		tx.arena = make([]byte, 0, max(n, chunk))
		tx.arenaUsed += cap(tx.arena)
	}
	l := len(tx.arena)
	tx.arena = tx.arena[:l+n]
	return tx.arena[l : l+n : l+n]
}

// keep copies s into the arena and returns it as a string.
func (tx *Tx) keep(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	b := tx.alloc(len(s))
	copy(b, s)
	return unsafe.String(&b[0], len(b))
}

// unkeep gives back the bytes of s, the string keep returned last.
func (tx *Tx) unkeep(s string) {
	if l := len(tx.arena) - len(s); l >= 0 && len(s) > 0 && unsafe.StringData(s) == &tx.arena[l] {
		tx.arena = tx.arena[:l]
	}
}

// bytesOf views a string's bytes without copying, for bbolt calls that do
// not keep or modify them (Get, Delete, and Put's key, which it clones).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// flush writes the pending puts in key order. The two big buckets are
// merged into order, one after the other, on a goroutine of its own while
// this one writes what it has merged so far. (One goroutine, not one per
// bucket: on two cores, two merges took both while the writer waited.)
func (tx *Tx) flush() error {
	if tx.err != nil {
		return tx.err
	}
	if err := tx.flushBuffers(); err != nil {
		tx.err = err // the buffers are gone: nothing may commit after this
		return err
	}
	return nil
}

func (tx *Tx) flushBuffers() error {
	if tx.bulk {
		if err := tx.stageNeeded(); err != nil {
			return err
		}
	}
	pt, pi := tx.pendTracks.take(), tx.pendInter.take()
	tracks, inter := pt.blocks(), pi.blocks()
	go func() {
		pt.send(tracks)
		pi.send(inter)
	}()
	users := make(chan []pendEntry[uint64], 1)
	users <- tx.pendUsers.sorted()
	close(users)

	err := writeSorted(tx, bucketTracks, tracks, func(e pendEntry[[]byte]) []byte { return e.val })
	if err == nil {
		err = writeSorted(tx, bucketInteractions, inter, func(e pendEntry[interValue]) []byte { return tx.encodeInteraction(e.val) })
	}
	if err == nil {
		err = writeSorted(tx, bucketUsers, users, func(e pendEntry[uint64]) []byte {
			v := tx.alloc(binary.MaxVarintLen64)
			return v[:binary.PutUvarint(v, e.val)]
		})
	}
	if err != nil {
		return err
	}
	tx.missID, tx.lastPut = "", ""
	if tx.bulk {
		return nil // tombstones and counters go with the final switch
	}
	return tx.flushLive()
}

// writeSorted writes blocks of entries, in key order, into bucket name:
// value gives an entry's stored bytes, nil to delete it. A bucket whose
// new keys all come after its old ones is packed full (appendOnly); a
// staged import may commit along the way (stagedCheckpoint).
func writeSorted[V any](tx *Tx, name []byte, blocks <-chan []pendEntry[V], value func(pendEntry[V]) []byte) error {
	b := tx.bucket(name)
	first := true
	for block := range blocks {
		if first && len(block) > 0 {
			appendOnly(b, block[0].key)
			first = false
		}
		for _, e := range block {
			var err error
			if v := value(e); v == nil {
				err = b.Delete(bytesOf(e.key))
			} else {
				err = b.Put(bytesOf(e.key), v)
			}
			if err == nil {
				b, err = tx.stagedCheckpoint(b, name)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// flushLive writes the tombstones and the counters, which live outside the
// staged buckets.
func (tx *Tx) flushLive() error {
	for _, t := range tx.tombs {
		// Files written before the nodes bucket was retired still hold
		// entries there: drop the track's.
		if err := tx.tx.Bucket(bucketNodes).Delete(u32key(t.node)); err != nil {
			return err
		}
		if err := tx.tx.Bucket(bucketDeleted).Put(u32key(t.node), u64key(t.seq)); err != nil {
			return err
		}
	}
	tx.tombs = tx.tombs[:0]
	for c := range tx.ctr {
		if e := &tx.ctr[c]; e.dirty {
			if err := putU64(tx.meta(), counterKeys[c], e.v); err != nil {
				return err
			}
			e.dirty = false
		}
	}
	return nil
}

// appendOnly packs b's new pages full when every sorted key goes after the
// keys b holds (a first import, ids that only grow): no later insert will
// split them, and the file and the commit are half the size. Inserts
// among existing keys keep bbolt's default of half-full pages.
func appendOnly(b *bolt.Bucket, first string) {
	last, _ := b.Cursor().Last()
	if last == nil || bytes.Compare(bytesOf(first), last) > 0 {
		b.FillPercent = 1.0
	}
}

// Reserve is a hint that about tracks tracks and interactions interactions
// are coming: the write buffers are sized for them.
func (tx *Tx) Reserve(tracks, interactions int) {
	if tx.db != nil && tx.db.bulkAfter > 0 {
		most := tx.db.bulkAfter / 128 // the buffers spill long before
		tracks, interactions = min(tracks, most), min(interactions, most)
	}
	tx.pendTracks.reserve(tracks)
	tx.pendInter.reserve(interactions)
}

// lookupTrack returns the stored value of a track: its pending entry p
// (nil when there is none), or else what the bucket holds. A miss is
// remembered in missID, so that the PutTrack that usually follows a failed
// Track does not look again.
func (tx *Tx) lookupTrack(id string) (p *[]byte, v []byte) {
	if id == tx.missID {
		return nil, nil
	}
	if p = tx.pendTracks.get(id); p != nil {
		return p, *p
	}
	if v = tx.bucket(bucketTracks).Get(bytesOf(id)); v == nil {
		tx.missID = id
	}
	return nil, v
}

// ErrUnknownTrack: an interaction refers to a track that is not stored.
var ErrUnknownTrack = errors.New("unknown track")

func (tx *Tx) meta() *bolt.Bucket { return tx.tx.Bucket(bucketMeta) }

// Writable reports whether tx can write.
func (tx *Tx) Writable() bool { return tx.tx.Writable() }

// Generation returns the generation the transaction sees.
func (tx *Tx) Generation() uint64 { return getU64(tx.meta(), keyGeneration) }

func (tx *Tx) bumpGeneration() error {
	m := tx.meta()
	return putU64(m, keyGeneration, getU64(m, keyGeneration)+1)
}

// NodeLimit returns one more than the highest node id ever given to a
// track: every node id is below it.
func (tx *Tx) NodeLimit() uint32 { return uint32(min(tx.counter(cNextNode), 1<<32-1)) }

// CatalogSeq returns the catalogue's change sequence: every track write or
// delete takes the next value, so "changed since S" is "seq > S".
func (tx *Tx) CatalogSeq() uint64 { return tx.counter(cCatalogSeq) }

// Counts are the sizes of the catalogue.
type Counts struct {
	Tracks       int
	Users        int
	Interactions int
}

// Counts returns the catalogue's sizes, kept as counters (O(1)).
func (tx *Tx) Counts() Counts {
	return Counts{
		Tracks:       int(tx.counter(cNTracks)),
		Users:        int(tx.counter(cNUsers)),
		Interactions: int(tx.counter(cNInteract)),
	}
}

func (tx *Tx) addCounter(c int, d int64) {
	tx.setCounter(c, uint64(int64(tx.counter(c))+d))
}

// trackHeader is the storage-owned prefix of a track value.
const trackHeader = 12 // seq u64, node u32

// Track returns the stored bytes and node id of a track.
func (tx *Tx) Track(id string) (node uint32, data []byte, ok bool) {
	_, v := tx.lookupTrack(id)
	if len(v) < trackHeader {
		return 0, nil, false
	}
	return binary.BigEndian.Uint32(v[8:12]), v[trackHeader:], true
}

// PutTrack stores data as the track id. A new track gets the next node id;
// a known one keeps its node. When data equals what is stored nothing is
// written and changed is false.
func (tx *Tx) PutTrack(id string, data []byte) (node uint32, added, changed bool, err error) {
	if id == "" {
		return 0, false, false, errors.New("put track: empty id")
	}
	if len(id) > bolt.MaxKeySize {
		return 0, false, false, fmt.Errorf("put track: id of %d bytes; at most %d", len(id), bolt.MaxKeySize)
	}
	if err := tx.maybeSpill(); err != nil {
		return 0, false, false, err
	}
	p, old := tx.lookupTrack(id) // p is updated in place below
	if len(old) >= trackHeader {
		node = binary.BigEndian.Uint32(old[8:12])
		if bytes.Equal(old[trackHeader:], data) {
			return node, false, false, nil
		}
	} else {
		next := tx.counter(cNextNode)
		if next > 1<<32-1 {
			return 0, false, false, errors.New("put track: more than 2^32 tracks")
		}
		node = uint32(next)
		tx.setCounter(cNextNode, next+1)
		// Node ids are never reused (next_node only grows), so a new
		// node has no tombstone to clear.
		tx.addCounter(cNTracks, 1)
		added = true
	}
	seq := tx.counter(cCatalogSeq) + 1
	tx.setCounter(cCatalogSeq, seq)
	v := tx.alloc(trackHeader + len(data))
	binary.BigEndian.PutUint64(v[0:8], seq)
	binary.BigEndian.PutUint32(v[8:12], node)
	copy(v[trackHeader:], data)
	if p != nil {
		*p = v
	} else {
		if id == tx.missID {
			tx.missID = ""
		}
		id = tx.keep(bytesOf(id))
		tx.pendTracks.add(id, v)
	}
	tx.lastPut = id
	return node, added, true, nil
}

// DeleteTrack removes a track and records a tombstone for the next
// incremental reindex. Its interactions stay (they are history).
func (tx *Tx) DeleteTrack(id string) (bool, error) {
	if err := tx.maybeSpill(); err != nil {
		return false, err
	}
	p, v := tx.lookupTrack(id)
	if len(v) < trackHeader {
		return false, nil
	}
	node := binary.BigEndian.Uint32(v[8:12])
	tx.lastPut = ""
	seq := tx.counter(cCatalogSeq) + 1
	tx.setCounter(cCatalogSeq, seq)
	if p != nil {
		*p = nil // deleted at flush, in case it is stored
	} else {
		tx.pendTracks.add(tx.keep(bytesOf(id)), nil)
	}
	tx.tombs = append(tx.tombs, tomb{node, seq})
	tx.addCounter(cNTracks, -1)
	return true, nil
}

// TrackEntry is one stored track as ForEachTrack sees it.
type TrackEntry struct {
	ID   string
	Node uint32
	Seq  uint64 // the catalogue seq of its last change
	Data []byte // valid only during the callback's transaction
}

// ForEachTrack calls fn for every track, in id order.
func (tx *Tx) ForEachTrack(fn func(e TrackEntry) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	tx.scanning++
	defer func() { tx.scanning-- }()
	return tx.bucket(bucketTracks).ForEach(func(k, v []byte) error {
		if len(v) < trackHeader {
			return fmt.Errorf("track %q: corrupt record (%d bytes)", k, len(v))
		}
		return fn(TrackEntry{
			ID:   string(k),
			Seq:  binary.BigEndian.Uint64(v[0:8]),
			Node: binary.BigEndian.Uint32(v[8:12]),
			Data: v[trackHeader:],
		})
	})
}

// ForEachDeleted calls fn for every track node deleted at a seq after since.
func (tx *Tx) ForEachDeleted(since uint64, fn func(node uint32) error) error {
	if !tx.bulk && len(tx.tombs) > 0 {
		if err := tx.flush(); err != nil {
			return err
		}
	}
	tx.scanning++
	defer func() { tx.scanning-- }()
	err := tx.tx.Bucket(bucketDeleted).ForEach(func(k, v []byte) error {
		if len(k) == 4 && len(v) == 8 && binary.BigEndian.Uint64(v) > since {
			return fn(binary.BigEndian.Uint32(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range tx.tombs { // a staged import's, written at its end
		if t.seq > since {
			if err := fn(t.node); err != nil {
				return err
			}
		}
	}
	return nil
}

// NewSource starts counting interaction occurrences afresh: call it before
// each file (or query) of an import. See PutInteraction.
func (tx *Tx) NewSource() { tx.scope++ }

// occurrenceScope identifies the current source of the current write
// transaction, uniquely over the database's life: bbolt's transaction id
// (which grows with each committed write; the first one's, when a staged
// import commits several) and the source's number in it.
func (tx *Tx) occurrenceScope() uint64 { return tx.scopeBase<<16 | tx.scope&0xffff }

// PutInteraction stores one occurrence of an interaction. Identical
// interactions (same user, track, action and time) are counted rather than
// merged: the stored count is the most times one source (one file or query
// of an import, see NewSource) held the interaction. So re-importing a
// file, or giving it twice, adds nothing, while a file that lists the same
// interaction twice (the dev file has playlists listed under two genres,
// without timestamps) stores it twice. added reports whether the count
// grew. The track must be stored.
func (tx *Tx) PutInteraction(user, track, action string, unixNano int64) (added bool, err error) {
	if user == "" || track == "" || action == "" {
		return false, errors.New("put interaction: empty user, track or action")
	}
	if n := len(user) + len(track) + len(action) + 3*binary.MaxVarintLen64 + 8; n > bolt.MaxKeySize {
		return false, fmt.Errorf("put interaction: user, track and action of %d bytes together; at most %d", n, bolt.MaxKeySize-3*binary.MaxVarintLen64-8)
	}
	if err := tx.maybeSpill(); err != nil {
		return false, err
	}
	if track != tx.lastPut {
		if _, _, ok := tx.Track(track); !ok {
			return false, fmt.Errorf("%w %q", ErrUnknownTrack, track)
		}
	}
	tx.keyBuf = appendInteractionKey(tx.keyBuf[:0], user, track, action, unixNano)
	// The key goes into the arena before the lookup, so that a miss (the
	// usual case) is added with the slot the lookup found; a hit gives
	// the bytes back.
	key := tx.keep(tx.keyBuf)
	var v interValue
	p := tx.pendInter.get(key)
	if p != nil {
		tx.unkeep(key)
		v = *p
	} else {
		v.count, v.scope, v.seen = decodeInteraction(tx.bucket(bucketInteractions).Get(tx.keyBuf))
	}
	if cur := tx.occurrenceScope(); v.scope != cur {
		v.scope, v.seen = cur, 0
	}
	v.seen++
	added = v.seen > v.count
	if added {
		v.count = v.seen
	}
	if p != nil {
		*p = v
	} else {
		tx.pendInter.add(key, v)
	}
	if !added {
		return false, nil
	}
	n := tx.pendUsers.get(user)
	if n == nil {
		stored, _ := binary.Uvarint(tx.bucket(bucketUsers).Get(bytesOf(user)))
		n = tx.pendUsers.add(tx.keep(bytesOf(user)), stored)
	}
	if *n == 0 {
		tx.addCounter(cNUsers, 1)
	}
	*n++
	tx.addCounter(cNInteract, 1)
	return true, nil
}

// An interaction's value is uvarints: how many times it is stored, and the
// last source (occurrenceScope) that put it with how many times it did.
// The first format's value, present (a single 1), reads as a count of 1.
func (tx *Tx) encodeInteraction(v interValue) []byte {
	b := tx.alloc(3 * binary.MaxVarintLen64)[:0]
	b = binary.AppendUvarint(b, v.count)
	b = binary.AppendUvarint(b, v.scope)
	return binary.AppendUvarint(b, v.seen)
}

func decodeInteraction(v []byte) (count, txid, seen uint64) {
	count, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, 0, 0
	}
	v = v[n:]
	txid, n = binary.Uvarint(v)
	if n <= 0 {
		return count, 0, 0
	}
	seen, _ = binary.Uvarint(v[n:])
	return count, txid, seen
}

// ForEachInteraction calls fn for every interaction, grouped by user.
func (tx *Tx) ForEachInteraction(fn func(user, track, action string, unixNano int64) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	tx.scanning++
	defer func() { tx.scanning-- }()
	return tx.bucket(bucketInteractions).ForEach(func(k, _ []byte) error {
		u, t, a, ts, err := parseInteractionKey(k)
		if err != nil {
			return err
		}
		return fn(u, t, a, ts)
	})
}

func appendInteractionKey(k []byte, user, track, action string, ts int64) []byte {
	for _, s := range [...]string{user, track, action} {
		k = binary.AppendUvarint(k, uint64(len(s)))
		k = append(k, s...)
	}
	return binary.BigEndian.AppendUint64(k, uint64(ts))
}

func parseInteractionKey(k []byte) (user, track, action string, ts int64, err error) {
	var parts [3]string
	rest := k
	for i := range parts {
		n, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < n {
			return "", "", "", 0, fmt.Errorf("corrupt interaction key %x", k)
		}
		parts[i] = string(rest[w : w+int(n)])
		rest = rest[w+int(n):]
	}
	if len(rest) != 8 {
		return "", "", "", 0, fmt.Errorf("corrupt interaction key %x", k)
	}
	return parts[0], parts[1], parts[2], int64(binary.BigEndian.Uint64(rest)), nil
}
