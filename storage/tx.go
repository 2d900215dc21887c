package storage

import (
	"bytes"
	"encoding/binary"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Tx is a transaction: a bbolt transaction, the write buffer that orders
// its writes to the big buckets (buffer.go), and, for an import that
// outgrows that buffer, its progress through staging (staging.go). Byte
// slices it returns are valid only until the transaction ends, or its
// next write or scan (a staging import commits as it goes): copy what you
// keep.
type Tx struct {
	tx *bolt.Tx
	db *DB // nil in a read-only transaction

	buf   writeBuffer
	stage stager

	// The catalogue's counters, read once and written by flush: every
	// row of an import moves several of them.
	ctr [numCounters]counter

	// scope numbers the sources of this transaction (see BeginSource);
	// scopeBase is the bolt id of the first transaction of this Update (a
	// staging import commits several; see occurrenceScope).
	scope, scopeBase uint64
	// scanning counts the scans (ForEachTrack, ...) running in this
	// transaction: a write inside a scan's callback must not commit.
	scanning int
	// path is the file's, and reading what the transaction reads now:
	// the error of damage met there names both (damage.go).
	path, reading string
	// file is the file the open reads (DB.osFile), whatever the path
	// names now: CheckMetaPages reads its meta pages. nil when unknown.
	file *os.File

	// err is the first failure of a flush: every later write and Update
	// return it, so that an import cannot go on past lost writes.
	err error
}

// counter is a cached meta counter.
type counter struct {
	v             uint64
	loaded, dirty bool
}

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

func (tx *Tx) addCounter(c int, d int64) {
	tx.setCounter(c, uint64(int64(tx.counter(c))+d))
}

// flush writes the write buffer in key order: into the live buckets, or
// into the staged copies once the import stages (after copying each
// bucket it writes to for the first time). A failure is kept in tx.err:
// the buffer is gone, so nothing may commit after it.
func (tx *Tx) flush() error {
	if tx.err != nil {
		return tx.err
	}
	if tx.db == nil {
		return nil // a read-only transaction has nothing buffered
	}
	tx.setReading("writing the import's buffered tracks and interactions")
	if err := tx.flushBuffer(); err != nil {
		tx.err = err
		return err
	}
	return nil
}

// flushBuffer is flush's work. The two big buckets are merged into order,
// one after the other, on a goroutine of its own while this one writes
// what it has merged so far. (One goroutine, not one per bucket: on two
// cores, two merges would take both while the writer waits.)
func (tx *Tx) flushBuffer() error {
	if tx.stage.state == staging {
		if err := tx.copyNeeded(); err != nil {
			return err
		}
	}
	pt, pi := tx.buf.tracks.take(), tx.buf.inter.take()
	tracks, inter := pt.blocks(), pi.blocks()
	go func() {
		pt.send(tracks)
		pi.send(inter)
	}()
	users := make(chan []pendEntry[uint64], 1)
	users <- tx.buf.users.sorted()
	close(users)

	err := writeSorted(tx, bucketTracks, tracks, func(e pendEntry[[]byte]) []byte { return e.val })
	if err == nil {
		err = writeSorted(tx, bucketInteractions, inter, func(e pendEntry[interValue]) []byte { return tx.encodeInteraction(e.val) })
	}
	if err == nil {
		err = writeSorted(tx, bucketUsers, users, func(e pendEntry[uint64]) []byte {
			v := tx.buf.alloc(binary.MaxVarintLen64)
			return v[:binary.PutUvarint(v, e.val)]
		})
	}
	if err != nil {
		return err
	}
	tx.buf.forgetLookups()
	if tx.stage.staged() {
		return nil // tombstones and counters go with the final switch
	}
	return tx.flushLive()
}

// writeSorted writes blocks of entries, in key order, into bucket name:
// value gives an entry's stored bytes, nil to delete it. A bucket whose
// new keys all come after its old ones is packed full (appendOnly); a
// staging import may commit along the way (stagedCheckpoint).
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
	for _, t := range tx.buf.tombs {
		// Files written before the nodes bucket was retired still hold
		// entries there: drop the track's.
		if err := tx.tx.Bucket(bucketNodes).Delete(u32key(t.node)); err != nil {
			return err
		}
		if err := tx.tx.Bucket(bucketDeleted).Put(u32key(t.node), u64key(t.seq)); err != nil {
			return err
		}
	}
	tx.buf.tombs, tx.buf.tombsCounted = tx.buf.tombs[:0], 0
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
// are coming: the write buffer's tables are sized for them, up to what
// the buffer holds before it is staged.
func (tx *Tx) Reserve(tracks, interactions int) {
	defer markDamage() // called from an import callback (RunCaller)
	if tx.buf.limit > 0 {
		most := tx.buf.limit / 128 // the buffer is staged long before
		tracks, interactions = min(tracks, most), min(interactions, most)
	}
	tx.buf.tracks.reserve(tracks)
	tx.buf.inter.reserve(interactions)
}

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
