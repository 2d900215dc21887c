package storage

import (
	"bytes"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// A large import stages its writes, so that its memory stays bounded and
// it is still all or nothing.
//
// An import buffers its writes in memory (see Tx.flush). When the buffers
// hold more than DB.bulkAfter bytes, the import "spills": it creates the
// staging bucket and commits; each import bucket (tracks, interactions,
// users) is copied into it, a batch of keys per transaction, the first
// time the buffers write to it. From then on the buffers flush into the
// staged copies, committing as they go, and lookups read the staged
// copies. Nothing outside the staging bucket changes, so readers (and a
// crash) see the catalogue as it was. At the end, one transaction writes
// the tombstones and the counters, drops the staged buckets' live
// originals and moves the staged ones into their place: bbolt moves a
// bucket by its root page, whatever its size. A failed import drops the
// staging bucket; so does the next writable Open when a process died in
// the middle.
var (
	bucketStaging = []byte("import_staging")
	stagedBuckets = [][]byte{bucketTracks, bucketInteractions, bucketUsers}
)

// copyBatch is how many keys a transaction copies into the staging bucket.
const copyBatch = 64 << 10

// bucket returns one of the import buckets: the staged copy once the
// import has spilled.
func (tx *Tx) bucket(name []byte) *bolt.Bucket {
	if tx.bulk && tx.isStaged(name) {
		return tx.tx.Bucket(bucketStaging).Bucket(name)
	}
	return tx.tx.Bucket(name)
}

// maybeSpill spills the buffers when they hold more than the DB allows.
// It runs at the start of a write, when the caller holds no byte slice
// from the transaction.
func (tx *Tx) maybeSpill() error {
	if tx.err != nil {
		return tx.err
	}
	if tx.db == nil || tx.db.bulkAfter <= 0 || tx.noBulk {
		return nil
	}
	if tx.arenaUsed+64*(tx.pendTracks.n+tx.pendInter.n+tx.pendUsers.n)+16*(len(tx.tombs)-tx.tombsSpilled) < tx.db.bulkAfter {
		return nil
	}
	if !tx.mayCommit() {
		return nil // buffered until it may
	}
	if err := tx.spill(); err != nil {
		tx.err = err
		return err
	}
	return nil
}

// mayCommit reports whether a staged import may commit now: not inside a
// scan of this transaction, whose cursor would outlive the commit. (A read
// transaction of another goroutine only delays a commit's remap; one of
// the importing goroutine would block it for good, which Update forbids.)
func (tx *Tx) mayCommit() bool { return tx.scanning == 0 }

// direct is called by the writes that do not go through the buffers
// (models): once an import has staged, its intermediate commits would
// publish them early.
func (tx *Tx) direct(what string) error {
	if tx.staged {
		return fmt.Errorf("%s: not in the transaction of an import that has staged its writes", what)
	}
	return nil
}

// Spills returns how many times this transaction has spilled its buffers
// into the staging bucket (see bulk.go).
func (tx *Tx) Spills() int { return tx.spills }

// spill writes the buffers into the staging bucket (creating it, and
// copying into it each bucket the buffers write to for the first time)
// and commits, which frees them.
func (tx *Tx) spill() error {
	if !tx.staged {
		// Staging commits the transaction: only when it has written
		// nothing yet (a scan in it flushed the buffers, or it wrote a
		// model), else the import keeps its buffers in memory.
		if st := tx.tx.Stats(); st.GetNodeCount() > 0 {
			tx.noBulk = true
			return nil
		}
		if err := tx.startBulk(); err != nil {
			return fmt.Errorf("stage the import: %w", err)
		}
	}
	if err := tx.flush(); err != nil { // stages what it writes to (stageNeeded)
		return err
	}
	if err := tx.commitAndBegin(); err != nil {
		return fmt.Errorf("stage the import: %w", err)
	}
	tx.arena, tx.arenaUsed = nil, 0 // committed: bbolt holds none of it
	tx.tombsSpilled = len(tx.tombs) // they stay until the end, and count once
	tx.spills++
	return nil
}

// stageNeeded copies into the staging bucket each import bucket that the
// buffers write to and that is not staged yet, so that a staged import
// never writes a live bucket before its final transaction. The copy
// commits a batch at a time when it may (mayCommit), else it is one
// transaction.
func (tx *Tx) stageNeeded() error {
	if tx.final {
		return nil // finish: unstaged buckets are written live, in the last transaction
	}
	for i, name := range stagedBuckets {
		if !tx.stagedSet[i] && tx.pendingFor(i) {
			if err := tx.copyBucket(name, tx.mayCommit()); err != nil {
				return fmt.Errorf("stage the import: copy %s: %w", name, err)
			}
			tx.stagedSet[i] = true
		}
	}
	return nil
}

// pendingFor reports whether the buffers hold writes for stagedBuckets[i].
func (tx *Tx) pendingFor(i int) bool {
	switch i {
	case 0:
		return tx.pendTracks.n > 0
	case 1:
		return tx.pendInter.n > 0
	default:
		return tx.pendUsers.n > 0
	}
}

// startBulk creates the staging bucket and commits it. The transaction it
// commits holds no other write (spill checks): the buffers are not flushed
// yet, and deletions wait in tx.tombs. A staging bucket left by a failed
// import of this process is dropped first.
func (tx *Tx) startBulk() error {
	tx.staged = true // from here on, a failure drops the staging bucket
	if err := dropStaging(tx.tx); err != nil {
		return err
	}
	st, err := tx.tx.CreateBucket(bucketStaging)
	if err != nil {
		return err
	}
	for _, name := range stagedBuckets {
		if _, err := st.CreateBucket(name); err != nil {
			return err
		}
	}
	if err := tx.commitAndBegin(); err != nil {
		return err
	}
	tx.bulk = true
	return nil
}

// copyBucket copies bucket name into its staged copy, copyBatch keys a
// transaction, in key order (so the copy's pages are packed full). Each
// batch is copied out of the pages before it is written, so that nothing
// the puts hold points into a page that a commit may remap.
func (tx *Tx) copyBucket(name []byte, commit bool) error {
	var after []byte
	var kvs [][]byte // keys and values, alternating, owned
	for {
		c := tx.tx.Bucket(name).Cursor()
		k, v := c.First()
		if after != nil {
			if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		kvs = kvs[:0]
		batch := min(copyBatch, max(1024, tx.db.bulkAfter/256))
		if !commit {
			batch = math.MaxInt // one transaction: all of it
		}
		for ; k != nil && len(kvs) < 2*batch; k, v = c.Next() {
			if v == nil {
				return fmt.Errorf("key %q is a bucket", k)
			}
			kvs = append(kvs, bytes.Clone(k), bytes.Clone(v))
		}
		more := k != nil
		dst := tx.tx.Bucket(bucketStaging).Bucket(name)
		dst.FillPercent = 1.0
		for i := 0; i < len(kvs); i += 2 {
			if err := dst.Put(kvs[i], kvs[i+1]); err != nil {
				return err
			}
		}
		if !more {
			// Commit the copy too: bbolt splits nodes only at commit, and
			// the flush that follows would otherwise insert among one
			// node holding the whole copy, shifting it at every put
			// (15 s for 300,000 interactions before a 20,000-key copy).
			if commit {
				return tx.commitAndBegin()
			}
			return nil
		}
		after = kvs[len(kvs)-2]
		if err := tx.commitAndBegin(); err != nil {
			return err
		}
	}
}

// stagedCheckpoint commits a staged import's flush part way when its
// transaction holds many dirty nodes, and returns bucket name of the next
// transaction (b itself when it does not commit). A transaction that puts
// keys scattered over a large bucket materialises a node for every leaf
// it touches (bbolt keeps them until commit), so memory is bounded by
// nodes, not by puts.
func (tx *Tx) stagedCheckpoint(b *bolt.Bucket, name []byte) (*bolt.Bucket, error) {
	if !tx.bulk || !tx.isStaged(name) {
		return b, nil
	}
	if tx.puts++; tx.puts < 256 {
		return b, nil
	}
	tx.puts = 0
	if st := tx.tx.Stats(); st.GetNodeCount() < int64(max(64, tx.db.bulkAfter/(16<<10))) || !tx.mayCommit() {
		return b, nil
	}
	if err := tx.commitAndBegin(); err != nil {
		tx.err = fmt.Errorf("stage the import: %w", err)
		return nil, tx.err
	}
	nb := tx.bucket(name)
	nb.FillPercent = b.FillPercent
	return nb, nil
}

// isStaged reports whether bucket name is read and written in staging.
func (tx *Tx) isStaged(name []byte) bool {
	for i, n := range stagedBuckets {
		if bytes.Equal(n, name) {
			return tx.stagedSet[i]
		}
	}
	return false
}

// commitAndBegin commits the bolt transaction and begins the next.
func (tx *Tx) commitAndBegin() error {
	if err := tx.tx.Commit(); err != nil {
		return err
	}
	btx, err := tx.db.bolt.Begin(true)
	if err != nil {
		return err
	}
	tx.tx = btx
	return nil
}

// finish writes everything the import buffered, ready for commit: the
// buffers, and for a staged import the final switch. A bucket the import
// has not staged yet, and that has only a few writes left (a quarter of
// the budget), is not copied at the end: its last writes go straight into
// the live bucket, in the final transaction.
func (tx *Tx) finish() error {
	if !tx.bulk {
		return tx.flush()
	}
	// Hold back a few writes to unstaged buckets (the final transaction
	// has no checkpoints: more are staged, copied then flushed), flush
	// the rest into staging and commit it: bbolt's MoveBucket moves a
	// bucket as its parent's page records it, dropping what the
	// transaction changed in it.
	limit := tx.db.bulkAfter / 4 / 64
	tracks := holdFew(&tx.pendTracks, !tx.stagedSet[0], limit)
	inter := holdFew(&tx.pendInter, !tx.stagedSet[1], limit)
	users := holdFew(&tx.pendUsers, !tx.stagedSet[2], limit)
	if err := tx.flush(); err != nil {
		return err
	}
	if err := tx.commitAndBegin(); err != nil {
		return err
	}
	// The final transaction: the held writes into their live buckets (no
	// staging: bucket returns the live one for an unstaged bucket), the
	// tombstones and counters, the switch.
	tx.pendTracks, tx.pendInter, tx.pendUsers = tracks, inter, users
	tx.final = true
	if err := tx.flush(); err != nil {
		return err
	}
	if err := tx.flushLive(); err != nil {
		return err
	}
	st := tx.tx.Bucket(bucketStaging)
	for i, name := range stagedBuckets {
		if !tx.stagedSet[i] {
			continue // written above, if at all
		}
		if err := tx.tx.DeleteBucket(name); err != nil {
			return fmt.Errorf("switch %s: %w", name, err)
		}
		if err := tx.tx.MoveBucket(name, st, nil); err != nil {
			return fmt.Errorf("switch %s: %w", name, err)
		}
	}
	tx.bulk, tx.stagedSet = false, [3]bool{}
	return tx.tx.DeleteBucket(bucketStaging)
}

// holdFew takes p's entries out, leaving p empty, when hold is set and
// they are at most limit; else it leaves p as it is and returns nothing.
func holdFew[V any](p *pending[V], hold bool, limit int) pending[V] {
	if !hold || p.n > limit {
		return pending[V]{}
	}
	return *p.take()
}

// abort rolls back, and drops the staging bucket if one was committed.
func (tx *Tx) abort() error {
	tx.tx.Rollback()
	if !tx.staged {
		return nil
	}
	return tx.db.bolt.Update(dropStaging)
}

// dropStaging deletes a staging bucket left by an import that failed or
// whose process died.
func dropStaging(btx *bolt.Tx) error {
	if btx.Bucket(bucketStaging) == nil {
		return nil
	}
	return btx.DeleteBucket(bucketStaging)
}
