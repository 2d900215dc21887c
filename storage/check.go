package storage

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/audotics/soundalike/internal/clip"
)

// CheckMetaPages checks bbolt's two meta pages, read from the file: each
// must pass bbolt's validation (its magic, its version, its checksum). It
// calls report for each that does not, wrapping ErrDamaged: bbolt opens a
// file with one valid meta page without a word, reading that one, and
// when the damaged one was the newer, the last write is silently undone
// (see metaPageDamage). A healthy file's meta pages are both valid, of
// consecutive transactions.
//
// It reads the file the open reads (with ReadAt: the file is shared),
// not whatever the path names now, which may be another file renamed
// into place since.
func (tx *Tx) CheckMetaPages(report func(error)) {
	tx.setReading("checking its meta pages")
	f := tx.file
	if f == nil {
		report(fmt.Errorf("meta page check of %s: the transaction does not know the file its open reads", tx.path))
		return
	}
	ps := int64(tx.tx.DB().Info().PageSize)
	var m [2]metaPage
	var fault [2]string
	// A write of this process that commits meanwhile rewrites a meta page,
	// and a read during that write may see it half written: a fault must
	// still be there a moment later to be damage.
	for try := range metaReads {
		if try > 0 {
			time.Sleep(metaReread)
		}
		for id := range m {
			m[id], fault[id] = readMeta(f, int64(id)*ps)
		}
		if fault[0] == "" && fault[1] == "" {
			return
		}
	}
	for id := range m {
		if fault[id] != "" {
			report(metaPageDamage(int64(id), fault[id], m[1-id], fault[1-id]))
		}
	}
}

// metaReads is how many times CheckMetaPages reads the meta pages before
// it takes a fault for damage, metaReread apart.
const (
	metaReads  = 3
	metaReread = 10 * time.Millisecond
)

// CheckPages runs bbolt's page check on the file as tx sees it: pages
// reachable twice or freed and in use, pages out of bounds, keys out of
// order. It calls report for each problem found, each wrapping
// ErrDamaged.
func (tx *Tx) CheckPages(report func(error)) {
	tx.setReading("checking its pages")
	for err := range tx.tx.Check() {
		msg, stopped := strings.CutPrefix(err.Error(), "panic: ")
		if !stopped {
			report(corruptf("page check: %s", msg))
			continue
		}
		// bbolt's check stops at a page it cannot read, and reports the
		// assertion that stopped it as a recovered panic.
		msg = strings.TrimPrefix(msg, "assertion failed: ")
		msg = strings.Replace(msg, "Page expected to be: ", "page expected to be ", 1)
		report(corruptf("page check stopped at a page it cannot read: %s", msg))
	}
}

// CheckSchema checks what storage owns: the schema's buckets, the meta
// counters against the buckets they count, and every track record's
// header (a node below the node limit, each node used once). It calls
// report for each problem found.
func (tx *Tx) CheckSchema(report func(error)) {
	tx.setReading("checking the schema")
	for _, name := range allBuckets {
		if tx.tx.Bucket(name) == nil {
			report(corruptf("bucket %s is missing", name))
		}
	}
	m := tx.meta()
	if m == nil {
		return
	}
	for _, k := range [][]byte{keyGeneration, keyNextNode, keyCatalogSeq, keyNTracks, keyNUsers, keyNInteract} {
		if v := m.Get(k); v != nil && len(v) != 8 {
			report(corruptf("meta %s: %d bytes, want 8", k, len(v)))
		}
	}
	if b := tx.tx.Bucket(bucketTracks); b != nil {
		tx.checkTracks(b, report)
	}
	if b := tx.tx.Bucket(bucketUsers); b != nil {
		if n, want := b.Stats().KeyN, tx.Counts().Users; n != want {
			report(corruptf("users bucket holds %d users, the meta counter says %d", n, want))
		}
	}
}

// checkTracks checks the tracks bucket's records and count.
func (tx *Tx) checkTracks(b *bolt.Bucket, report func(error)) {
	tx.setReading("checking the tracks bucket")
	limit := tx.NodeLimit()
	seen := make(map[uint32]string)
	n := 0
	b.ForEach(func(k, v []byte) error {
		n++
		if len(v) < trackHeader {
			report(corruptf("track %q: a record of %d bytes, shorter than its header", clip.String(string(k)), len(v)))
			return nil
		}
		node := binary.BigEndian.Uint32(v[8:12])
		if node >= limit {
			report(corruptf("track %q: node %d beyond the node limit %d", clip.String(string(k)), node, limit))
		}
		if other, dup := seen[node]; dup {
			report(corruptf("tracks %q and %q share node %d", clip.String(other), clip.String(string(k)), node))
		}
		seen[node] = string(k)
		return nil
	})
	if want := tx.Counts().Tracks; n != want {
		report(corruptf("tracks bucket holds %d tracks, the meta counter says %d", n, want))
	}
}

// ForEachModelBlob reads every stored model's chunks, checking their
// checksums, and calls fn with each model's blob (for the caller to
// decode) or the error reading it.
func (tx *Tx) ForEachModelBlob(fn func(version uint64, blob []byte, err error)) error {
	return tx.ForEachModel(func(v uint64, _ []byte) error {
		blob, _, _, err := tx.Model(v)
		fn(v, blob, err)
		return nil
	})
}
