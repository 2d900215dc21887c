package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

var (
	keyPending    = []byte("pending")
	keyChunks     = []byte("chunks")
	keyIndexSeq   = []byte("catalog_seq")
	batchBytes    = 64 << 20 // index bytes committed per write transaction
	errIndexAbort = errors.New("index write aborted")
)

// ErrNoIndex: no index has been stored yet.
var ErrNoIndex = errors.New("no index stored")

// IndexInfo describes the current index.
type IndexInfo struct {
	ID         uint64
	CatalogSeq uint64 // the catalogue seq the index reflects
	Meta       []byte // the caller's metadata document
}

// IndexPart is a named byte stream stored with an index, beside its
// chunks, in checksummed chunks of its own (the map layout is one). It is
// written before the index becomes current and dropped with the index, so
// a reader never sees an index with another index's parts.
type IndexPart struct {
	Name  string
	Write func(w io.Writer) error
}

// ErrNoIndexPart: the current index has no part of that name (it was
// built by a soundalike that did not write it).
var ErrNoIndexPart = errors.New("index part not stored")

// partBucket names the bucket of index part name.
func partBucket(name string) []byte { return []byte("part:" + name) }

// WriteIndex stores a new index and makes it current in one atomic switch.
//
// write streams the index's bytes; they are cut into checksummed chunks and
// committed in bounded batches under a pending entry that no reader sees.
// Only the last transaction makes the new index current, drops the old one
// and clears the tombstones it has absorbed (those up to catalogSeq). A
// failure or crash at any point before that leaves the previous index
// current; a pending entry left by a crash is removed the next time the
// database is opened for writing.
// The parts are stored the same way before the switch.
func (db *DB) WriteIndex(meta []byte, catalogSeq uint64, write func(w io.Writer) error, parts ...IndexPart) (id uint64, err error) {
	if !db.writeMu.lockUnless(db.brokenCh) {
		return 0, db.broken // a write wedged at the break holds writeMu (see Close)
	}
	defer db.writeMu.Unlock()
	pending, err := db.createPendingIndex()
	if err != nil {
		return 0, fmt.Errorf("write index: %w", err)
	}
	defer func() {
		if err != nil { // drop the pending index now, not at the next Open
			db.protectedUpdate("dropping a failed index", func(btx *bolt.Tx) error {
				return btx.Bucket(bucketIndexes).DeleteBucket(u64key(pending))
			})
		}
	}()
	id = pending
	if err := db.writeIndexChunks(id, keyChunks, write); err != nil {
		return 0, fmt.Errorf("write index: %w", err)
	}
	for _, part := range parts {
		if err := db.writeIndexChunks(id, partBucket(part.Name), part.Write); err != nil {
			return 0, fmt.Errorf("write index: %s: %w", part.Name, err)
		}
	}
	if err := db.update(func(tx *Tx) error { return tx.switchIndex(id, meta, catalogSeq) }); err != nil {
		return 0, fmt.Errorf("write index: switch: %w", err)
	}
	return id, nil
}

// createPendingIndex commits the next index id's bucket, marked pending.
func (db *DB) createPendingIndex() (id uint64, err error) {
	err = db.protectedUpdate("creating an index", func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		id = getU64(m, keyNextIndex) + 1
		if err := putU64(m, keyNextIndex, id); err != nil {
			return err
		}
		b, err := btx.Bucket(bucketIndexes).CreateBucket(u64key(id))
		if err != nil {
			return err
		}
		if err := b.Put(keyPending, []byte{1}); err != nil {
			return err
		}
		_, err = b.CreateBucket(keyChunks)
		return err
	})
	return id, err
}

// indexChunk is one chunk of an index waiting for its batch's commit.
type indexChunk struct {
	seq  uint32
	data []byte
}

// writeIndexChunks streams write's bytes into the chunk bucket named
// bucket of pending index id, committing a transaction every batchBytes.
func (db *DB) writeIndexChunks(id uint64, bucket []byte, write func(w io.Writer) error) error {
	var batch []indexChunk
	size := 0
	w := &chunkWriter{put: func(seq uint32, chunk []byte) error {
		batch = append(batch, indexChunk{seq, append([]byte(nil), chunk...)})
		size += len(chunk)
		if size < batchBytes {
			return nil
		}
		err := db.putIndexChunks(id, bucket, batch)
		batch, size = batch[:0], 0
		return err
	}}
	if err := write(w); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return db.putIndexChunks(id, bucket, batch)
}

// putIndexChunks commits batch into the chunk bucket named bucket of
// pending index id, creating it; it fails with errIndexAbort when the
// index is no longer pending.
func (db *DB) putIndexChunks(id uint64, bucket []byte, batch []indexChunk) error {
	return db.protectedUpdate("writing an index", func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketIndexes).Bucket(u64key(id))
		if b == nil || b.Get(keyPending) == nil {
			return errIndexAbort
		}
		cb, err := b.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		cb.FillPercent = 1.0 // keys only ever increase
		for _, c := range batch {
			if err := cb.Put(u32key(c.seq), c.data); err != nil {
				return err
			}
		}
		return nil
	})
}

// switchIndex makes pending index id current: it stores its metadata,
// drops every other index and the tombstones up to catalogSeq.
func (tx *Tx) switchIndex(id uint64, meta []byte, catalogSeq uint64) error {
	idx := tx.tx.Bucket(bucketIndexes)
	b := idx.Bucket(u64key(id))
	if err := b.Put(keyMeta, meta); err != nil {
		return err
	}
	if err := putU64(b, keyIndexSeq, catalogSeq); err != nil {
		return err
	}
	if err := b.Delete(keyPending); err != nil {
		return err
	}
	var old [][]byte
	idx.ForEachBucket(func(k []byte) error {
		if binary.BigEndian.Uint64(k) != id {
			old = append(old, append([]byte(nil), k...))
		}
		return nil
	})
	for _, k := range old {
		if err := idx.DeleteBucket(k); err != nil {
			return err
		}
	}
	if err := putU64(tx.meta(), keyCurrentIndex, id); err != nil {
		return err
	}
	return tx.clearDeleted(catalogSeq)
}

func (tx *Tx) clearDeleted(upTo uint64) error {
	b := tx.tx.Bucket(bucketDeleted)
	var drop [][]byte
	b.ForEach(func(k, v []byte) error {
		if len(v) == 8 && binary.BigEndian.Uint64(v) <= upTo {
			drop = append(drop, append([]byte(nil), k...))
		}
		return nil
	})
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// CurrentIndex returns the current index's description.
func (tx *Tx) CurrentIndex() (IndexInfo, bool) {
	tx.setReading("reading the indexes bucket")
	id := getU64(tx.meta(), keyCurrentIndex)
	if id == 0 {
		return IndexInfo{}, false
	}
	b := tx.tx.Bucket(bucketIndexes).Bucket(u64key(id))
	if b == nil {
		return IndexInfo{}, false
	}
	return IndexInfo{ID: id, CatalogSeq: getU64(b, keyIndexSeq), Meta: b.Get(keyMeta)}, true
}

// ReadIndex streams the current index to fn inside a read transaction. The
// reader checks every chunk's checksum; fn must not keep it after
// returning.
func (tx *Tx) ReadIndex(fn func(info IndexInfo, r io.Reader) error) error {
	info, ok := tx.CurrentIndex()
	if !ok {
		return ErrNoIndex
	}
	cb := tx.tx.Bucket(bucketIndexes).Bucket(u64key(info.ID)).Bucket(keyChunks)
	if cb == nil {
		return corruptf("index %d: no chunks: a full reindex rebuilds it", info.ID)
	}
	return fn(info, newChunkReader(cb))
}

// ReadIndexPart streams the current index's part name to fn inside a read
// transaction, checking every chunk's checksum. It fails with ErrNoIndex
// when there is no index and ErrNoIndexPart when the index has no such
// part.
func (tx *Tx) ReadIndexPart(name string, fn func(info IndexInfo, r io.Reader) error) error {
	info, ok := tx.CurrentIndex()
	if !ok {
		return ErrNoIndex
	}
	pb := tx.tx.Bucket(bucketIndexes).Bucket(u64key(info.ID)).Bucket(partBucket(name))
	if pb == nil {
		return fmt.Errorf("index %d: %q: %w", info.ID, name, ErrNoIndexPart)
	}
	return fn(info, newChunkReader(pb))
}

// dropIndexes removes the index entries keys (pendingIndexes' keys, left
// pending by a crashed write).
func dropIndexes(btx *bolt.Tx, keys [][]byte) error {
	for _, k := range keys {
		if err := btx.Bucket(bucketIndexes).DeleteBucket(k); err != nil {
			return err
		}
	}
	return nil
}

// pendingIndexes returns the keys of the index entries still pending: a
// crashed or failing write's, which no reader sees.
func pendingIndexes(btx *bolt.Tx) [][]byte {
	idx := btx.Bucket(bucketIndexes)
	if idx == nil {
		return nil
	}
	var keys [][]byte
	idx.ForEachBucket(func(k []byte) error {
		if idx.Bucket(k).Get(keyPending) != nil {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	return keys
}
