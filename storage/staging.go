package storage

import (
	"bytes"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// Staging is how an import larger than its write buffer stays all or
// nothing with bounded memory.
//
// An import buffers its writes in memory (buffer.go) and flushes them into
// the live buckets at commit. When the buffer grows past DB.writeBuffer
// bytes, the import stages: it creates the staging bucket and commits;
// each import bucket (tracks, interactions, users) is copied into it, a
// batch of keys per transaction, the first time a flush writes to it.
// From then on the buffer flushes into the staged copies, committing as
// it goes, and lookups read the staged copies. Nothing outside the staging
// bucket changes, so readers (and a crash) see the catalogue as it was.
// At the end, one transaction writes the tombstones and the counters,
// drops the staged buckets' live originals and moves the staged ones into
// their place: bbolt moves a bucket by its root page, whatever its size.
// A failed import drops the staging bucket; so does the next writable Open
// when a process died in the middle.
var (
	bucketStaging = []byte("import_staging")
	stagedBuckets = [][]byte{bucketTracks, bucketInteractions, bucketUsers}
)

// stagingState is where a write transaction stands. It moves only forward:
//
//	inMemory ──► staging ──► finishing ──► switched
//	    │
//	    └──► inMemoryOnly
type stagingState uint8

const (
	// inMemory: the write buffer is flushed into the live buckets at
	// commit; it starts staging when it outgrows DB.writeBuffer.
	inMemory stagingState = iota
	// inMemoryOnly: the transaction wrote to the file before its buffer
	// outgrew the limit (a scan flushed it, or it stored a model), and
	// staging commits, which would publish that write early: the buffer
	// stays in memory, however large.
	inMemoryOnly
	// staging: the staging bucket is committed; flushes write into its
	// copies and commit as they go. A failure from here on drops it.
	staging
	// finishing: the last transaction, which writes the few held-back
	// writes to unstaged buckets live, the tombstones and counters, and
	// switches the staged buckets in. It does not commit part way.
	finishing
	// switched: the staged buckets are live; only the commit is left.
	switched
)

// stager is a write transaction's progress through the states above.
type stager struct {
	state stagingState
	// copied says which of stagedBuckets have their copy in the staging
	// bucket: reads and writes of those go to the copy.
	copied [3]bool
	// flushes counts the buffer's flushes into the staging bucket.
	flushes int
	// puts counts staged puts since the last node count check.
	puts int
}

// committed reports whether the staging bucket may hold committed data,
// which a failed import must drop.
func (s *stager) committed() bool { return s.state >= staging }

// staged reports whether the transaction reads and writes staged copies.
func (s *stager) staged() bool { return s.state == staging || s.state == finishing }

// copyBatch is how many keys a transaction copies into the staging bucket.
const copyBatch = 64 << 10

// bucket returns one of the import buckets: the staged copy once it has
// been copied into the staging bucket.
func (tx *Tx) bucket(name []byte) *bolt.Bucket {
	if tx.stage.staged() && tx.isCopied(name) {
		return tx.tx.Bucket(bucketStaging).Bucket(name)
	}
	return tx.tx.Bucket(name)
}

// isCopied reports whether bucket name has its copy in the staging bucket.
func (tx *Tx) isCopied(name []byte) bool {
	for i, n := range stagedBuckets {
		if bytes.Equal(n, name) {
			return tx.stage.copied[i]
		}
	}
	return false
}

// maybeStage flushes the write buffer into the staging bucket when it has
// outgrown DB.writeBuffer. It runs at the start of a write, when the
// caller holds no byte slice from the transaction.
func (tx *Tx) maybeStage() error {
	if tx.err != nil {
		return tx.err
	}
	if tx.db == nil || tx.buf.limit <= 0 || tx.buf.size() < tx.buf.limit {
		return nil
	}
	if s := tx.stage.state; s != inMemory && s != staging {
		return nil
	}
	if !tx.mayCommit() {
		return nil // buffered until it may
	}
	if err := tx.stageBuffer(); err != nil {
		tx.err = err
		return err
	}
	return nil
}

// mayCommit reports whether a staging import may commit now: not inside a
// scan of this transaction, whose cursor would outlive the commit. (A read
// transaction of another goroutine only delays a commit's remap; one of
// the importing goroutine would block it for good, which Update forbids.)
func (tx *Tx) mayCommit() bool { return tx.scanning == 0 }

// direct is called by the writes that do not go through the write buffer
// (models): once an import stages, its intermediate commits would publish
// them early.
func (tx *Tx) direct(what string) error {
	if tx.stage.committed() {
		return fmt.Errorf("%s: not in the transaction of an import that stages its writes", what)
	}
	return nil
}

// StagedFlushes returns how many times this transaction has flushed its
// write buffer into the staging bucket (see staging.go): 0 for an import
// that fits its write buffer.
func (tx *Tx) StagedFlushes() int { return tx.stage.flushes }

// stageBuffer flushes the write buffer into the staging bucket (creating
// it first, and copying into it each bucket the flush writes to for the
// first time) and commits, which frees the buffer.
func (tx *Tx) stageBuffer() error {
	if tx.stage.state == inMemory {
		// Staging commits the transaction: only when it has written
		// nothing yet (a scan in it flushed the buffer, or it wrote a
		// model), else the import keeps its buffer in memory.
		if st := tx.tx.Stats(); st.GetNodeCount() > 0 {
			tx.stage.state = inMemoryOnly
			return nil
		}
		if err := tx.startStaging(); err != nil {
			return fmt.Errorf("stage the import: %w", err)
		}
	}
	if err := tx.flush(); err != nil { // copies what it writes to (copyNeeded)
		return err
	}
	if err := tx.commitAndBegin(); err != nil {
		return fmt.Errorf("stage the import: %w", err)
	}
	tx.buf.committed()
	tx.stage.flushes++
	return nil
}

// startStaging creates the staging bucket and commits it. The transaction
// it commits holds no other write (stageBuffer checks): the buffer is not
// flushed yet, and deletions wait in its tombstones. A staging bucket left
// by a failed import of this process is dropped first.
func (tx *Tx) startStaging() error {
	tx.stage.state = staging // from here on, a failure drops the staging bucket
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
	return tx.commitAndBegin()
}

// copyNeeded copies into the staging bucket each import bucket that the
// buffer writes to and that has no copy yet, so that a staging import
// never writes a live bucket before its final transaction. The copy
// commits a batch at a time when it may (mayCommit), else it is one
// transaction.
func (tx *Tx) copyNeeded() error {
	for i, name := range stagedBuckets {
		if !tx.stage.copied[i] && tx.bufferWrites(i) {
			if err := tx.copyBucket(name, tx.mayCommit()); err != nil {
				return fmt.Errorf("stage the import: copy %s: %w", name, err)
			}
			tx.stage.copied[i] = true
		}
	}
	return nil
}

// bufferWrites reports whether the buffer holds writes for
// stagedBuckets[i].
func (tx *Tx) bufferWrites(i int) bool {
	switch i {
	case 0:
		return tx.buf.tracks.n > 0
	case 1:
		return tx.buf.inter.n > 0
	default:
		return tx.buf.users.n > 0
	}
}

// copyBucket copies bucket name into its staged copy, a batch of keys a
// transaction, in key order (so the copy's pages are packed full). Each
// batch is copied out of the pages before it is written, so that nothing
// the puts hold points into a page that a commit may remap.
func (tx *Tx) copyBucket(name []byte, commit bool) error {
	batch := min(copyBatch, max(1024, tx.buf.limit/256))
	if !commit {
		batch = math.MaxInt // one transaction: all of it
	}
	var after []byte
	for {
		kvs, more, err := tx.readBatch(name, after, batch)
		if err != nil {
			return err
		}
		dst := tx.tx.Bucket(bucketStaging).Bucket(name)
		dst.FillPercent = 1.0
		for i := 0; i < len(kvs); i += 2 {
			if err := dst.Put(kvs[i], kvs[i+1]); err != nil {
				return err
			}
		}
		if !more {
			// Commit the copy too: bbolt splits nodes only at commit, and
			// the flush that follows would otherwise insert into one node
			// holding the whole copy, shifting it at every put.
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

// readBatch returns up to batch keys and values of bucket name after the
// key after (from the first when nil), alternating and owned, and whether
// more follow.
func (tx *Tx) readBatch(name, after []byte, batch int) (kvs [][]byte, more bool, err error) {
	c := tx.tx.Bucket(name).Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	for ; k != nil && len(kvs) < 2*batch; k, v = c.Next() {
		if v == nil {
			return nil, false, fmt.Errorf("key %q is a bucket", k)
		}
		kvs = append(kvs, bytes.Clone(k), bytes.Clone(v))
	}
	return kvs, k != nil, nil
}

// stagedCheckpoint commits a staging flush part way when its transaction
// holds many dirty nodes, and returns bucket name of the next transaction
// (b itself when it does not commit). A transaction that puts keys
// scattered over a large bucket materialises a node for every leaf it
// touches (bbolt keeps them until commit), so memory is bounded by nodes,
// not by puts.
func (tx *Tx) stagedCheckpoint(b *bolt.Bucket, name []byte) (*bolt.Bucket, error) {
	if tx.stage.state != staging || !tx.isCopied(name) {
		return b, nil
	}
	if tx.stage.puts++; tx.stage.puts < 256 {
		return b, nil
	}
	tx.stage.puts = 0
	if st := tx.tx.Stats(); st.GetNodeCount() < int64(max(64, tx.buf.limit/(16<<10))) || !tx.mayCommit() {
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

// commitAndBegin commits the bolt transaction and begins the next.
func (tx *Tx) commitAndBegin() error {
	if err := tx.db.commit(tx.tx); err != nil {
		return err
	}
	btx, err := tx.db.begin(true)
	if err != nil {
		return err
	}
	tx.tx = btx
	return nil
}

// finish writes everything the transaction buffered, ready for commit:
// the write buffer, and for a staging import the final switch.
func (tx *Tx) finish() error {
	if tx.stage.state != staging {
		return tx.flush()
	}
	held, err := tx.flushAllButFew()
	if err != nil {
		return err
	}
	tx.stage.state = finishing
	tx.buf.tracks, tx.buf.inter, tx.buf.users = held.tracks, held.inter, held.users
	if err := tx.flush(); err != nil {
		return err
	}
	if err := tx.flushLive(); err != nil {
		return err
	}
	if err := tx.switchStaged(); err != nil {
		return err
	}
	tx.stage.state = switched
	return nil
}

// heldWrites are writes to buckets without a staged copy, held back for
// the final transaction.
type heldWrites struct {
	tracks pending[[]byte]
	inter  pending[interValue]
	users  pending[uint64]
}

// flushAllButFew flushes the buffer into the staging bucket and commits,
// except the writes to a bucket without a staged copy that has only a few
// (a quarter of the buffer's worth): those are held back and returned,
// to go straight into the live bucket in the final transaction, which
// has no checkpoints; more are copied and flushed here. The commit is
// needed because bbolt's MoveBucket moves a bucket as its parent's page
// records it, dropping what the transaction changed in it.
func (tx *Tx) flushAllButFew() (heldWrites, error) {
	limit := tx.buf.limit / 4 / entryBytes
	held := heldWrites{
		tracks: holdFew(&tx.buf.tracks, !tx.stage.copied[0], limit),
		inter:  holdFew(&tx.buf.inter, !tx.stage.copied[1], limit),
		users:  holdFew(&tx.buf.users, !tx.stage.copied[2], limit),
	}
	if err := tx.flush(); err != nil {
		return heldWrites{}, err
	}
	return held, tx.commitAndBegin()
}

// holdFew takes p's entries out, leaving p empty, when hold is set and
// they are at most limit; else it leaves p as it is and returns nothing.
func holdFew[V any](p *pending[V], hold bool, limit int) pending[V] {
	if !hold || p.n > limit {
		return pending[V]{}
	}
	return *p.take()
}

// switchStaged replaces each live bucket that has a staged copy by that
// copy, and drops the staging bucket.
func (tx *Tx) switchStaged() error {
	st := tx.tx.Bucket(bucketStaging)
	for i, name := range stagedBuckets {
		if !tx.stage.copied[i] {
			continue // written live by the final flush, if at all
		}
		if err := tx.tx.DeleteBucket(name); err != nil {
			return fmt.Errorf("switch %s: %w", name, err)
		}
		if err := tx.tx.MoveBucket(name, st, nil); err != nil {
			return fmt.Errorf("switch %s: %w", name, err)
		}
	}
	tx.stage.copied = [3]bool{}
	return tx.tx.DeleteBucket(bucketStaging)
}

// abort rolls back, and drops the staging bucket if one was committed.
func (tx *Tx) abort() error {
	tx.tx.Rollback()
	if !tx.stage.committed() {
		return nil
	}
	return tx.db.protectedUpdate("dropping a failed import's staging bucket", dropStaging)
}

// dropStaging deletes a staging bucket left by an import that failed or
// whose process died.
func dropStaging(btx *bolt.Tx) error {
	if btx.Bucket(bucketStaging) == nil {
		return nil
	}
	return btx.DeleteBucket(bucketStaging)
}
