// Package storage is soundalike's bbolt schema: one database file holding
// the catalogue, the interactions, model versions and persisted indexes.
//
// It is a leaf: it deals in ids, byte slices and integers, and the root
// package owns the encoding of its own types. That keeps the import graph
// one-way (soundalike → storage → bbolt) while letting soundalike.Open take
// a path.
//
// # Layout (schema version 1)
//
//	meta          magic, schema, generation, counters, current model/index
//	tracks        track id → [seq u64][node u32][root-encoded track]
//	nodes         retired: node u32 → track id, written by the first
//	              releases and never read; kept so that those files open
//	deleted       node u32 → seq u64 (tombstones since the last reindex)
//	interactions  uvarint-prefixed user, track, action + ts i64 →
//	              uvarints count, scope, seen (see encodeInteraction)
//	users         user → interaction count (uvarint)
//	models        version u64 → bucket {blob, meta}
//	indexes       id u64 → bucket {meta, chunks: u32 → [crc32c u32][bytes]}
//	import_staging  only while an import stages (staging.go): staged
//	              copies of tracks, interactions and users; dropped when
//	              left behind
//
// # Writes
//
// A write transaction (Update) buffers its writes to tracks, interactions
// and users in a write buffer and writes them in key order at commit
// (buffer.go). An import whose buffer outgrows Options.WriteBuffer stages
// it: it flushes the buffer into copies of those buckets inside the file,
// committing as it goes, and switches the copies in at the end, so that
// it is still all or nothing (staging.go).
//
// Every committed write increments the generation, so a reader (a serving
// process) can tell cheaply whether anything changed.
package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the version of the layout this package reads and writes.
const SchemaVersion = 1

const magic = "soundalike"

var (
	bucketMeta         = []byte("meta")
	bucketTracks       = []byte("tracks")
	bucketNodes        = []byte("nodes")
	bucketDeleted      = []byte("deleted")
	bucketInteractions = []byte("interactions")
	bucketUsers        = []byte("users")
	bucketModels       = []byte("models")
	bucketIndexes      = []byte("indexes")

	allBuckets = [][]byte{bucketMeta, bucketTracks, bucketNodes, bucketDeleted,
		bucketInteractions, bucketUsers, bucketModels, bucketIndexes}

	keyMagic        = []byte("magic")
	keySchema       = []byte("schema")
	keyGeneration   = []byte("generation")
	keyNextNode     = []byte("next_node")
	keyCatalogSeq   = []byte("catalog_seq")
	keyNTracks      = []byte("n_tracks")
	keyNInteract    = []byte("n_interactions")
	keyNUsers       = []byte("n_users")
	keyCurrentModel = []byte("current_model")
	keyNextModel    = []byte("next_model")
	keyCurrentIndex = []byte("current_index")
	keyNextIndex    = []byte("next_index")
)

// Errors returned by Open.
var (
	// ErrLocked: another process holds the database.
	ErrLocked = errors.New("database is locked by another process")
	// ErrNotSoundalike: the file is not a soundalike database.
	ErrNotSoundalike = errors.New("not a soundalike database")
	// ErrSchema: the file has a schema version this build does not know.
	ErrSchema = errors.New("unknown schema version")
	// ErrNoDatabase: a reader's open of a path that holds no database
	// (no file, or an empty one).
	ErrNoDatabase = errors.New("no database")
	// errEmptyFile: a reader's try opened an empty file: a new one a
	// writer has not laid out yet, which replaced the file checkFile
	// found (see RemoveCreated).
	errEmptyFile = errors.New("the file is empty")
	// errReplaced: the path no longer named the file Open had locked
	// (another process removed it meanwhile, see RemoveCreated), for as
	// long as Options.Timeout.
	errReplaced = errors.New("the file was removed or replaced each time this process had opened it")
	// errRemovedMeanwhile: a writer's try found the file there, then gone
	// when it opened it (see RemoveCreated): openWaiting tries again.
	errRemovedMeanwhile = errors.New("the file was removed as it was opened")
)

// Options configure Open. The zero value means the documented defaults.
type Options struct {
	// Timeout is how long Open waits for another process's lock before it
	// fails with ErrLocked, naming the holder (see Holders). Default 1s.
	// OpenContext's ctx ends the wait sooner.
	Timeout time.Duration
	// OnWait, when set, is called once when the lock is not free at once
	// and Open starts waiting for it, with who holds it ("held by
	// soundalike serve (pid 12, reading since 16:02:11)"): a command
	// prints it so that a wait is not mistaken for a hang.
	OnWait func(holders string)
	// Command is how this process names itself in the lock-info file that
	// tells a waiting process who holds the lock. Default: the program's
	// name and its subcommand, e.g. "soundalike import".
	Command string
	// ReadOnly opens with a shared lock; writes fail. The file must exist.
	ReadOnly bool
	// Mode is the permission of a new file. Default 0600.
	Mode os.FileMode
	// NoSync skips fsync on commit: for tests and benchmarks only.
	NoSync bool
	// WriteBuffer is the size in bytes of a write transaction's write
	// buffer: an import whose buffered writes outgrow it stages them in
	// the file (see staging.go). It bounds the buffer, not the process:
	// bbolt's dirty pages, the merge at flush and the caller's own data
	// come on top. Default DefaultWriteBuffer; negative: never stage.
	WriteBuffer int
}

// DefaultWriteBuffer is Options.WriteBuffer's default, 128 MiB: imports of
// a few hundred thousand rows fit it and commit once; larger ones stage.
const DefaultWriteBuffer = 128 << 20

// DB is an open soundalike database. It is safe for concurrent use; bbolt
// allows many readers and one writer at a time within the process, and one
// writing process at a time across processes.
type DB struct {
	bolt        *bolt.DB
	path        string
	writeBuffer int // see Options.WriteBuffer; ≤ 0: never stage
	// writeMu serialises Update and WriteIndex: a staging import commits
	// several bolt transactions, and another writer must not slip in
	// between them. It is a writeLock, not a sync.Mutex, so that a wait
	// for it (Close's, Update's, RemoveCreated's) can end when the open
	// breaks: a write whose commit had begun then holds it for ever
	// (see Close).
	writeMu writeLock
	// lockInfo is the file recording this open as a holder of the lock
	// (lockinfo.go), removed at Close; "" if it could not be written.
	lockInfo string
	// file is the file this open locked, as it was when it was locked:
	// RemoveCreated removes the path only while it still names it.
	file os.FileInfo
	// created is set when this open created the file: the path named
	// nothing when Open ran, and this open made the file it holds. Of
	// processes opening a new path at once, one at most created it (see
	// lockedFile). RemoveCreated clears it when it removes the file.
	created bool
	// osFile is the file bbolt opened and locked (lockedFile.file): Close
	// of a broken open closes it itself, which lets go of its lock. It is
	// set once, at open, so that begin may stat it without beginMu.
	osFile *os.File
	// fileClosed is set when Close of a broken open has closed osFile.
	// Guarded by beginMu.
	fileClosed bool
	// pageSize is bbolt's page size in the file: its two meta pages are
	// the first two pages.
	pageSize int
	// beginMu serialises beginning a transaction and closing with
	// broken: none enters bbolt once a fault has left bbolt's locks held.
	beginMu sync.Mutex
	// broken is set when a fault left bbolt's locks held (see begin),
	// or its state unknown (see commit), by breakOpen: every later
	// transaction fails with it at once, and Close lets go of the file
	// without bbolt, which would wait on those locks for ever. Guarded by
	// beginMu; readable without it once brokenCh is closed.
	broken error
	// brokenCh is closed when broken is set: Close, and a write waiting
	// for writeMu, stop waiting then (a write in progress may wait on
	// bbolt's locks for ever).
	brokenCh chan struct{}
}

// writeLock is a mutex made of a one-token channel: unlike a sync.Mutex,
// a wait for it can end on something else too (lockUnless).
type writeLock chan struct{}

func (l writeLock) Lock()   { l <- struct{}{} }
func (l writeLock) Unlock() { <-l }

// lockUnless takes l, or gives up once done is closed: it reports which.
// l, when free, is taken whatever done.
func (l writeLock) lockUnless(done <-chan struct{}) bool {
	select {
	case l <- struct{}{}:
		return true
	default:
	}
	select {
	case l <- struct{}{}:
		return true
	case <-done:
		return false
	}
}

// Open opens or creates the database at path. A file that is not a
// soundalike database, or has an unknown schema version, is refused
// without being modified; a file the open created and could not lay out
// (a full disk) is removed.
//
// Open is OpenContext with context.Background(): only Options.Timeout
// ends a wait for another process's lock.
func Open(path string, opts *Options) (*DB, error) {
	return OpenContext(context.Background(), path, opts)
}

// OpenContext is Open with a ctx that stops a wait for another process's
// lock: it then returns ctx's error, naming the file and the process
// holding the lock, as the timeout's ErrLocked does. A lock that is free
// is taken whatever ctx: ctx bounds the wait, not the open.
func OpenContext(ctx context.Context, path string, opts *Options) (*DB, error) {
	if ctx == nil {
		return nil, fmt.Errorf("open %s: ctx is nil: pass context.Background() when there is no other context", path)
	}
	o := opts.withDefaults()
	if err := checkFile(path, o.ReadOnly); err != nil {
		return nil, err
	}
	var (
		bdb  *bolt.DB
		file lockedFile
	)
	err := protect(path, func() string { return "opening it (its meta pages and freelist)" }, func() (err error) {
		bdb, file, err = openWaiting(ctx, path, o)
		return err
	})
	if err != nil {
		return nil, openFailed(ctx, path, o, err)
	}
	db := &DB{bolt: bdb, path: path, writeBuffer: o.WriteBuffer, file: file.info, created: file.created,
		osFile: file.file, pageSize: bdb.Info().PageSize, writeMu: make(writeLock, 1), brokenCh: make(chan struct{})}
	removeDeadHolders(path)
	db.lockInfo = writeLockInfo(path, o.Command, !o.ReadOnly)
	if err := db.init(o.ReadOnly); err != nil {
		err = db.removeUnlaid(err)
		db.removeLockInfo()
		db.closeBolt()
		if errors.Is(err, ErrDamaged) {
			return nil, fmt.Errorf("open %w", err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// withDefaults returns a copy of o (nil: the zero Options) with every
// unset field at its default.
func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.Timeout <= 0 {
		d.Timeout = time.Second
	}
	if d.Mode == 0 {
		d.Mode = 0o600
	}
	if d.WriteBuffer == 0 {
		d.WriteBuffer = DefaultWriteBuffer
	}
	return d
}

// checkFile refuses, before bbolt maps it, a path that holds no database
// Open could use: a directory, a file too small or too large to be one, a
// path in a directory that does not exist, and, for a reader, a missing
// or empty file. An empty file is no database yet, as a missing one is:
// a reader refuses it, a writer lays a new database out in it.
func checkFile(path string, readOnly bool) error {
	st, statErr := os.Stat(path)
	if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return fmt.Errorf("open %s: %w", path, statErr)
	}
	exists := statErr == nil
	if !exists {
		if err := checkDir(path, readOnly); err != nil {
			return err
		}
	}
	if readOnly && (!exists || !st.IsDir() && st.Size() == 0) {
		return noDatabase(path, exists)
	}
	switch {
	case !exists:
		return nil
	case st.IsDir():
		return fmt.Errorf("open %s: is a directory, want a database file", path)
	case st.Size() > 0 && st.Size() < 4096:
		return fmt.Errorf("open %s: %w (file too small to be a bbolt database)", path, ErrNotSoundalike)
	}
	if err := checkSize(path); err != nil {
		return fmt.Errorf("open %w", err)
	}
	return nil
}

// checkDir refuses a path whose directory does not exist, which a writer
// cannot create a file in and a reader finds no database in.
func checkDir(path string, readOnly bool) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return nil // there, or not readable: the open says why
	}
	return &missingDirError{path: path, dir: dir, readOnly: readOnly}
}

// missingDirError is Open's error for a path whose directory does not
// exist. It is fs.ErrNotExist, and for a reader also ErrNoDatabase, as a
// missing file is; its message names the path once and says what is
// missing, which bbolt's "open P: no such file or directory" does not.
type missingDirError struct {
	path, dir string
	readOnly  bool
}

func (e *missingDirError) Error() string {
	if e.readOnly {
		return fmt.Sprintf("open %s: %v there: directory %s does not exist: check the path", e.path, ErrNoDatabase, e.dir)
	}
	return fmt.Sprintf("open %s: directory %s does not exist: create it, or check the path", e.path, e.dir)
}

func (e *missingDirError) Is(target error) bool {
	return target == fs.ErrNotExist || e.readOnly && target == ErrNoDatabase
}

// noDatabase is a reader's error for path, which holds no database yet:
// no file, or an empty one (empty). An empty file may be a database
// that something emptied (truncated, or written over by a copy that
// failed): its remedy, a backup, comes first, and import, for a new
// database, second.
func noDatabase(path string, empty bool) error {
	if empty {
		return fmt.Errorf("open %s: %w there yet (the file is empty): restore it from a backup if it held one (something emptied it), "+
			"or run `soundalike import` to create it", path, ErrNoDatabase)
	}
	return fmt.Errorf("open %s: %w there yet: run `soundalike import` to create it, or check the path", path, ErrNoDatabase)
}

// openFailed is Open's error for err, openWaiting's: a wait ctx stopped
// or that timed out names who holds the lock; a file bbolt cannot read
// is ErrNotSoundalike.
func openFailed(ctx context.Context, path string, o Options, err error) error {
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return fmt.Errorf("open %s: stopped waiting for the lock, %s: %w", path, describeHolders(Holders(path)), err)
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open %s: %w: %s; waited %v: try again when it has finished", path, ErrLocked, describeHolders(Holders(path)), o.Timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("open %s: %w (%v)", path, ErrNotSoundalike, err)
	case errors.Is(err, ErrDamaged):
		return fmt.Errorf("open %w", err)
	case o.ReadOnly && errors.Is(err, fs.ErrNotExist):
		return noDatabase(path, false) // removed since checkFile found it (see RemoveCreated)
	case errors.Is(err, errEmptyFile):
		return noDatabase(path, true)
	case errors.Is(err, errReplaced):
		return fmt.Errorf("open %s: %w, for %v: another process is creating and removing it; try again", path, err, o.Timeout)
	}
	// The os's error opening the file names the path too: say it once.
	// Only the open's own: a write's, or one joined to a cleanup's
	// (removeUnopened), says more than its cause.
	pe, ok := err.(*fs.PathError)
	if !ok || pe.Op != "open" || pe.Path != path {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if errors.Is(pe.Err, fs.ErrPermission) {
		need := "read and write"
		if o.ReadOnly {
			need = "read"
		}
		return fmt.Errorf("open %s: %w: this user may not %s it: check the owner and mode of the file and its directory (ls -l)", path, pe.Err, need)
	}
	return fmt.Errorf("open %s: %w", path, pe.Err)
}

// firstTry is how long Open tries for the lock before it tells
// Options.OnWait that it waits.
const firstTry = 100 * time.Millisecond

// lockRetry is how often Open tries the lock while it waits: bbolt's own
// interval, which bbolt sleeps through without a ctx.
const lockRetry = 50 * time.Millisecond

// openWaiting opens the bbolt file, trying for the lock every lockRetry
// until it is free, o.Timeout has passed (bbolt's ErrTimeout) or ctx is
// done (ctx's error), and calling o.OnWait once when it has waited
// firstTry. Each try is one bolt.Open that tries the lock once, so that
// the waiting is here, where ctx can end it. A try whose file the path no
// longer names once it is locked (another process removed it meanwhile,
// see RemoveCreated) is let go and tried again, as a lock not free is:
// the lock of a removed file guards nothing.
func openWaiting(ctx context.Context, path string, o Options) (*bolt.DB, lockedFile, error) {
	start := time.Now()
	told := o.OnWait == nil
	// made is the file a try created, which a later try may be the one
	// to lock (a process that opened it meanwhile held its lock first).
	var made os.FileInfo
	for {
		bdb, f, err := openBolt(path, o)
		if f.created {
			made = f.info
		}
		switch {
		case err == nil && pathNames(path, f.info):
			f.created = made != nil && os.SameFile(made, f.info)
			return bdb, f, nil
		case err == nil:
			bdb.Close()
			err = errReplaced
		case errors.Is(err, errRemovedMeanwhile):
			err = errReplaced
		case !errors.Is(err, berrors.ErrTimeout):
			return nil, lockedFile{}, removeUnopened(path, f, err)
		}
		waited := time.Since(start)
		if waited >= o.Timeout {
			return nil, lockedFile{}, err
		}
		if !told && waited >= firstTry {
			told = true
			// OnWait is the application's code, run inside protect.
			RunCaller(func() error { o.OnWait(describeHolders(Holders(path))); return nil })
		}
		t := time.NewTimer(min(lockRetry, o.Timeout-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, lockedFile{}, ctx.Err()
		case <-t.C:
		}
	}
}

// lockedFile is the file one bolt.Open opened.
type lockedFile struct {
	info os.FileInfo // as it was when opened; nil if it was not
	file *os.File    // the open file, which bbolt owns
	// created is set when the open created the file. The open knows,
	// rather than guesses from a stat before it: a writer creates a
	// missing file itself, exclusively (O_EXCL), so that of two
	// processes opening a new path at once only one is told it created
	// the file.
	created bool
}

// openFile is bbolt's Options.OpenFile for one try: it opens the file as
// bbolt asks, creating it exclusively when bbolt would create it, and
// records it in f.
func (f *lockedFile) openFile(name string, flag int, mode os.FileMode) (*os.File, error) {
	create := flag&os.O_CREATE != 0
	if create {
		flag |= os.O_EXCL
	}
	file, err := os.OpenFile(name, flag, mode)
	created := create && err == nil
	if create && errors.Is(err, fs.ErrExist) {
		// There already: open it, and fail rather than create it again
		// if it is removed meanwhile (openWaiting tries again). Any other
		// missing file (a missing directory) fails the open.
		file, err = os.OpenFile(name, flag&^(os.O_CREATE|os.O_EXCL), mode)
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", errRemovedMeanwhile, err)
		}
	}
	if err != nil {
		return nil, err
	}
	if hook := testHookOpened.Load(); hook != nil {
		(*hook)(name)
	}
	info, err := file.Stat()
	if err == nil && flag&(os.O_WRONLY|os.O_RDWR) == 0 && info.Size() == 0 {
		err = errEmptyFile // bbolt would lay it out, which a reader cannot
	}
	if err != nil {
		file.Close()
		return nil, err
	}
	f.info, f.created, f.file = info, created, file
	return file, nil
}

// testHookOpened, set by tests only, runs when a try has opened the file,
// before bbolt reads or locks it.
var testHookOpened atomic.Pointer[func(path string)]

// pathNames reports whether path names file now: whether no process has
// removed or replaced it since it was opened.
func pathNames(path string, file os.FileInfo) bool {
	st, err := os.Stat(path)
	return err == nil && file != nil && os.SameFile(st, file)
}

// openBolt opens the bbolt file with soundalike's settings, trying for
// its lock once: bbolt gives up without sleeping when the timeout is
// shorter than its retry interval (a zero one would wait for ever). It
// returns the file it opened (f.info is nil when it opened none).
//
// A fault as bbolt reads the file (truncated since checkFile) panics out
// of bolt.Open, which then closes nothing: openBolt lets go of the file's
// lock and closes it, so that the lock does not outlive the failed open.
// (bbolt's memory map stays, as it does for a broken open: see Close.)
func openBolt(path string, o Options) (bdb *bolt.DB, f lockedFile, err error) {
	defer func() {
		if r := recover(); r != nil {
			if f.file != nil {
				unlockFile(f.file)
				f.file.Close()
			}
			panic(r) // protect's, as damage
		}
	}()
	bdb, err = bolt.Open(path, o.Mode, &bolt.Options{
		Timeout:      time.Nanosecond,
		ReadOnly:     o.ReadOnly,
		NoSync:       o.NoSync,
		FreelistType: bolt.FreelistMapType,
		// Map 256 MiB up front (address space, not file size): each time a
		// write transaction outgrows the mapping, bbolt remaps and copies
		// every key and value it holds in memory to the heap.
		InitialMmapSize: 256 << 20,
		OpenFile:        f.openFile,
	})
	return bdb, f, err
}

// init checks the magic and schema of an existing file, or lays out a new
// one. A file with buckets but no magic is foreign and left untouched.
func (db *DB) init(readOnly bool) error {
	check := func(tx *bolt.Tx) (fresh bool, err error) {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			empty := true
			tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return false, fmt.Errorf("%w: it is a bbolt database without soundalike's meta bucket", ErrNotSoundalike)
			}
			return true, nil
		}
		if string(meta.Get(keyMagic)) != magic {
			return false, fmt.Errorf("%w: bad magic in the meta bucket", ErrNotSoundalike)
		}
		v := meta.Get(keySchema)
		if len(v) != 4 {
			return false, fmt.Errorf("%w: no schema version", ErrNotSoundalike)
		}
		if s := binary.BigEndian.Uint32(v); s != SchemaVersion {
			return false, fmt.Errorf("%w %d: this soundalike reads schema %d; use a soundalike release that matches the file", ErrSchema, s, SchemaVersion)
		}
		return false, nil
	}
	var (
		fresh bool
		drop  func(*bolt.Tx) error
	)
	err := db.protect("reading the meta bucket", func() error {
		return db.view(func(tx *bolt.Tx) (err error) {
			fresh, err = check(tx)
			if err == nil && !fresh && !readOnly {
				drop = leftBehind(tx)
			}
			return err
		})
	})
	if err != nil {
		return err
	}
	if !fresh {
		// Only when there is something to drop: an open that writes
		// nothing leaves the file as it was (its bytes, its mtime), so
		// that a command that changed nothing does not modify it.
		if drop != nil {
			return db.protectedUpdate("dropping what a failed import or reindex left", drop)
		}
		return nil
	}
	if readOnly {
		return fmt.Errorf("%w: the file is empty", ErrNotSoundalike)
	}
	return db.protectedUpdate("creating the buckets", layOut)
}

// layOut lays a new database out in tx: its buckets, and the meta
// bucket's magic, schema version and generation.
func layOut(tx *bolt.Tx) error {
	if hook := testHookLayOut.Load(); hook != nil {
		if err := (*hook)(); err != nil {
			return err
		}
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], SchemaVersion)
	if err := meta.Put(keyMagic, []byte(magic)); err != nil {
		return err
	}
	if err := meta.Put(keySchema, s[:]); err != nil {
		return err
	}
	return putU64(meta, keyGeneration, initialGeneration)
}

// testHookLayOut, set by tests only, runs as layOut begins: an error it
// returns fails the layout, as a full disk would.
var testHookLayOut atomic.Pointer[func() error]

// leftBehind returns the drop, for a write transaction, of what a failed
// import or reindex left in btx: a staging bucket (staging.go) and the
// index entries still pending; nil when they left nothing. A writer's
// open finds them in a read transaction and drops them in a write
// transaction: no other process writes in between, as the open holds the
// file's exclusive lock.
func leftBehind(btx *bolt.Tx) func(*bolt.Tx) error {
	staging, pending := btx.Bucket(bucketStaging) != nil, pendingIndexes(btx)
	if !staging && len(pending) == 0 {
		return nil
	}
	return func(btx *bolt.Tx) error {
		if err := dropStaging(btx); err != nil {
			return err
		}
		return dropIndexes(btx, pending)
	}
}

// Close releases the database file and its lock. It waits for a write in
// progress (a staging import releases bbolt's writer lock between its
// commits, and must not lose its file there), unless the open is broken.
//
// An open broken by a fault (see begin) is closed without bbolt, whose
// Close would wait for ever on the locks the fault left held: Close lets
// go of the file's lock and closes it, and leaves bbolt's memory map of
// it mapped, as bbolt exports no way to unmap it: the process keeps that
// address space, and the file stays open (its disk space held, if it is
// removed) until the process exits. Nor does it wait for a write in
// progress then: one whose commit had begun at the break waits for ever
// on those locks (bbolt's commit takes the meta lock to write its meta
// page), holding writeMu, and its goroutine is lost; every other write
// fails at once with the broken open's error.
func (db *DB) Close() error {
	if db.writeMu.lockUnless(db.brokenCh) {
		defer db.writeMu.Unlock()
	}
	err := db.closeBolt()
	db.removeLockInfo()
	return err
}

// closeBolt closes bbolt's database, or, when a fault broke this open
// (see begin), lets go of the lock on the file bbolt opened and closes it.
func (db *DB) closeBolt() error {
	db.beginMu.Lock()
	defer db.beginMu.Unlock()
	if db.broken == nil {
		return db.bolt.Close()
	}
	if db.osFile == nil || db.fileClosed {
		return nil
	}
	db.fileClosed = true
	return errors.Join(unlockFile(db.osFile), db.osFile.Close())
}

// begin begins a bbolt transaction, inside protect.
//
// bbolt's Begin reads the meta pages from the memory map while it holds
// its locks (a reader's: the meta lock and the map's read lock; a
// writer's: the writer lock), and does not let go of them when that read
// panics: a fault, as the file was truncated under the map (cp, scp and
// rsync --inplace over a live database truncate it, then write it again),
// or meta pages that fail bbolt's check, caught half written. Every later
// transaction, and Close, would then wait on those locks for ever.
// So begin breaks the open instead: this transaction and every later one
// fail at once with a damage error (changedError), and Close lets go of
// the file without bbolt. The next open maps the file as it is then.
//
// A file too short for its meta pages fails the transaction before bbolt
// reads them (checkMetaPages), without breaking the open: the fault, and
// the break, are then left to a truncation in the moment between that
// check and bbolt's read. A read transaction of this open that another
// goroutine has open at a break still waits for ever as it ends (bbolt's
// rollback of one takes the meta lock), and so does a write whose commit
// had begun (see commit and Close): only bbolt letting go of its locks as
// Begin panics would end that.
func (db *DB) begin(writable bool) (btx *bolt.Tx, err error) {
	// Before beginMu: a stat need not hold every other begin up, and the
	// check is a guess whenever it runs (the recover below is the guard).
	if err := db.checkMetaPages(); err != nil {
		return nil, err
	}
	db.beginMu.Lock()
	defer db.beginMu.Unlock()
	if db.broken != nil {
		return nil, db.broken
	}
	defer func() {
		if r := recover(); r != nil {
			btx, err = nil, db.breakOpen("beginning a transaction", r, false)
		}
	}()
	return db.bolt.Begin(writable)
}

// breakOpen breaks the open, for a fault met doing what (cause: what it
// panicked with), unless it is broken already, and returns the broken
// open's error: see begin and commit. The caller holds beginMu.
func (db *DB) breakOpen(what string, cause any, damaged bool) error {
	if db.broken == nil {
		db.broken = &changedError{path: db.path, what: what, cause: cause, broken: true, damaged: damaged}
		close(db.brokenCh)
	}
	return db.broken
}

// brokenErr returns the broken open's error, nil when it is not broken.
// It takes no lock: brokenCh is closed only once broken is set.
func (db *DB) brokenErr() error {
	select {
	case <-db.brokenCh:
		return db.broken
	default:
		return nil
	}
}

// checkMetaPages returns the error of a file now too short to hold its two
// meta pages, which bbolt's Begin reads from the map: cp truncates a file
// it writes over, then writes its first pages.
func (db *DB) checkMetaPages() error {
	if db.osFile == nil || db.pageSize == 0 {
		return nil
	}
	st, err := db.osFile.Stat()
	if err != nil || st.Size() >= 2*int64(db.pageSize) {
		return nil // a Stat that fails (a closed file) leaves it to bbolt
	}
	return &changedError{path: db.path, what: "beginning a transaction",
		cause: fmt.Sprintf("the file is %d bytes, too short for its two meta pages of %d bytes each", st.Size(), db.pageSize)}
}

// commit commits btx, a write transaction begun by begin.
//
// An open broken meanwhile (see begin) fails it before bbolt's Commit,
// which would wait for ever on the meta lock the fault left held: the
// caller's rollback then ends it, which takes no lock of those.
//
// bbolt's Commit reads the map (the pages it frees, and, when a write
// fails, the meta page and freelist its rollback reloads) and does not
// let go of its writer lock, nor finish its freelist, when that read
// panics: a fault, as the file was truncated under the map, or meta pages
// failing bbolt's check. That breaks the open, as one in begin does: this
// commit fails with the broken open's error, and the caller's rollback
// lets go of the writer lock.
func (db *DB) commit(btx *bolt.Tx) (err error) {
	if err := db.brokenErr(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			db.beginMu.Lock()
			defer db.beginMu.Unlock()
			// A panic that is no fault of the map is bbolt's own check
			// of the file (a page freed twice): the file is damaged, not
			// changing under this process.
			_, fault := r.(runtime.Error)
			err = db.breakOpen("committing a transaction", r, !fault)
		}
	}()
	if hook := testHookCommit.Load(); hook != nil {
		(*hook)() // as bbolt's Commit begins: its panics are Commit's
	}
	if err := btx.Commit(); err != nil {
		// A write that began before a break fails on the closed file:
		// the broken open's error says why.
		if berr := db.brokenErr(); berr != nil {
			return berr
		}
		return err
	}
	return nil
}

// testHookCommit, set by tests only, runs as commit calls bbolt's Commit.
var testHookCommit atomic.Pointer[func()]

// view runs fn in a bbolt read transaction (begin), rolled back when fn
// returns or panics.
func (db *DB) view(fn func(*bolt.Tx) error) error {
	btx, err := db.begin(false)
	if err != nil {
		return err
	}
	defer btx.Rollback() // a reader's rollback reads nothing from the map
	return fn(btx)
}

func (db *DB) removeLockInfo() {
	if db.lockInfo != "" {
		os.Remove(db.lockInfo)
		db.lockInfo = ""
	}
}

// initialGeneration is the generation of a new database: nothing has been
// committed to it (Update, WriteIndex) since it was laid out.
const initialGeneration = 1

// RemoveCreated removes the database's file when this open created it
// and nothing has been committed to it since it was laid out: so that a
// first write that failed, or was rolled back, leaves the path as it
// was, with no file. It reports whether it removed the file; the
// caller must still Close db, which removes this open's lock-info file.
//
// It removes the file while it holds its lock, and every Open checks,
// once it holds a file's lock, that the path still names that file,
// opening again when it does not (see openWaiting): a process that opened
// the new file meanwhile and waits for its lock then creates a file of
// its own rather than write to the removed one. So RemoveCreated never
// removes a file that existed before this open, nor one that a write
// committed to, whoever wrote it.
func (db *DB) RemoveCreated() (bool, error) {
	if !db.writeMu.lockUnless(db.brokenCh) { // no write of this process commits meanwhile
		return false, db.broken // a write wedged at the break holds writeMu (see Close)
	}
	defer db.writeMu.Unlock()
	if !db.created {
		return false, nil
	}
	g, err := db.Generation()
	if err != nil || g != initialGeneration {
		return false, err
	}
	return db.removeCreated("nothing was committed to")
}

// removeCreated removes the file this open created, which holds no
// database or nothing committed to (what says which, for the error),
// while the path still names it: see RemoveCreated. The caller holds the
// file's lock (db is open) and writeMu, or is Open.
func (db *DB) removeCreated(what string) (bool, error) {
	if !db.created {
		return false, nil
	}
	removed, err := removeMade(db.path, db.file, what)
	if removed {
		db.created = false
	}
	return removed, err
}

// removeMade removes path while it names file, which this open created
// and what (for the error): it reports whether it removed it.
func removeMade(path string, file os.FileInfo, what string) (bool, error) {
	if !pathNames(path, file) {
		return false, nil
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("remove %s, which this open created and %s: %w", path, what, err)
	}
	return true, nil
}

// removeUnopened returns the failure of a try, err, having removed the
// file f when the try created it: bbolt failed on the new file, most
// likely as it wrote its first pages (a full disk, a file size limit),
// and the failed open leaves the path as it was, as removeUnlaid does
// when the layout after bbolt's fails. The error says so when the file
// could not be removed.
//
// Unlike RemoveCreated, it removes the file without its lock, which
// bbolt let go of as it failed: a process that has the file open could,
// in that moment, take the lock, lay the file out where this try could
// not, and find the path still naming it. Taking the lock back would
// need a file lock of our own (flock, LockFileEx): bbolt exports none.
func removeUnopened(path string, f lockedFile, err error) error {
	if !f.created {
		return err
	}
	if _, rmErr := removeMade(path, f.info, "bbolt could not open"); rmErr != nil {
		return fmt.Errorf("%w; %w", err, rmErr)
	}
	return err
}

// removeUnlaid returns init's failure, err, having removed the file when
// this open created it: it holds no database (the layout failed, say for
// a full disk), and the failed open leaves the path as it was. The error
// says so when the file could not be removed.
func (db *DB) removeUnlaid(err error) error {
	if _, rmErr := db.removeCreated("could not lay out"); rmErr != nil {
		return fmt.Errorf("%w; %w", err, rmErr)
	}
	return err
}

// Path returns the file the database was opened from.
func (db *DB) Path() string { return db.path }

// File returns the file this open locked and reads, as a stat of it found
// it when it was opened, just before the lock: its identity (os.SameFile) is the file's, read
// from the open descriptor, whatever the path names now; its size and
// modification time are as they were then.
func (db *DB) File() os.FileInfo { return db.file }

// View runs fn in a read-only transaction. Damage met in it is an error
// wrapping ErrDamaged (see protect).
func (db *DB) View(fn func(*Tx) error) error {
	var tx *Tx
	return protect(db.path, func() string { return tx.doing() }, func() error {
		return db.view(func(btx *bolt.Tx) error {
			tx = &Tx{tx: btx, path: db.path, file: db.osFile}
			return fn(tx)
		})
	})
}

// protect runs fn, a use of db.bolt outside a Tx, protected from damage
// (see protect): what names what it reads.
func (db *DB) protect(what string, fn func() error) error {
	return protect(db.path, func() string { return what }, fn)
}

// protectedUpdate is bbolt's Update protected from damage: fn runs in a
// write transaction (begin), committed when fn succeeds and rolled back
// when it fails or panics.
func (db *DB) protectedUpdate(what string, fn func(*bolt.Tx) error) error {
	return db.protect(what, func() error {
		btx, err := db.begin(true)
		if err != nil {
			return err
		}
		committed := false
		defer func() {
			if !committed {
				btx.Rollback() // bbolt's Rollback reads nothing from the map
			}
		}()
		if err := fn(btx); err != nil {
			return err
		}
		if err := db.commit(btx); err != nil {
			return err
		}
		committed = true
		return nil
	})
}

// Update runs fn in a read-write transaction. If fn returns an error,
// nothing it wrote is kept. On success the generation is incremented. An
// import too large for its write buffer commits several bolt transactions
// under the hood (see staging.go); it is still all or nothing. fn must not
// hold a read transaction of the same database (View) while it writes.
func (db *DB) Update(fn func(*Tx) error) error {
	if !db.writeMu.lockUnless(db.brokenCh) {
		return db.broken // a write wedged at the break holds writeMu (see Close)
	}
	defer db.writeMu.Unlock()
	return db.update(fn)
}

// update is Update for a caller that holds writeMu. Damage met in it rolls
// the transaction back and returns an error wrapping ErrDamaged.
func (db *DB) update(fn func(*Tx) error) error {
	var tx *Tx
	return protect(db.path, func() string { return tx.doing() }, func() error {
		btx, err := db.begin(true)
		if err != nil {
			return err
		}
		tx = &Tx{tx: btx, db: db, path: db.path, file: db.osFile, scopeBase: uint64(btx.ID())}
		return db.run(tx, fn)
	})
}

// run runs fn in tx and commits, or rolls back when fn fails or panics.
func (db *DB) run(tx *Tx, fn func(*Tx) error) error {
	tx.buf.limit = db.writeBuffer
	stop, committed := func() {}, false
	defer func() {
		stop()
		if !committed {
			tx.abort() // also when fn panics; bbolt's Rollback reads nothing from the map
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if tx.err != nil {
		return tx.err // a flush failed; fn may have gone on
	}
	n := tx.buf.puts()
	if err := tx.finish(); err != nil {
		return err
	}
	if err := tx.bumpGeneration(); err != nil {
		return err
	}
	if n >= writebackAfter && !db.bolt.NoSync {
		stop = startWriteback(db.path)
	}
	if err := db.commit(tx.tx); err != nil {
		return err
	}
	committed = true
	return nil
}

// writebackAfter is how many buffered puts make a commit large enough to
// start writeback early (see startWriteback): about 1 MiB of pages.
const writebackAfter = 4096

// Generation returns the database's generation: it changes with every
// committed write.
func (db *DB) Generation() (uint64, error) {
	var g uint64
	err := db.View(func(tx *Tx) error { g = tx.Generation(); return nil })
	return g, err
}

func getU64(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, k []byte, v uint64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return b.Put(k, buf[:])
}

func u64key(v uint64) []byte {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return buf[:]
}

func u32key(v uint32) []byte {
	var buf [4]byte
	binary.BigEndian.PutUint32(buf[:], v)
	return buf[:]
}
