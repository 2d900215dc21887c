package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"
	"slices"
	"strings"
)

// ErrDamaged: the database file is damaged: a page that does not decode,
// a fault reading the memory map, or a file shorter than its own pages.
// bbolt reports such damage by panicking, and a read past the end of a
// truncated file faults; every transaction of this package turns both into
// an error wrapping ErrDamaged that names the file and what was being
// read (see protect). A write transaction that meets damage rolls back.
var ErrDamaged = errors.New("database file is damaged")

// remedy is what a damaged-file error tells its reader to do.
const remedy = "restore it from a backup"

// damaged is the error of damage found at path while doing what; cause is
// what bbolt or the runtime panicked with, or what was found.
func damaged(path, what string, cause any) error {
	return fmt.Errorf("%s: %w: %s: %v: %s", path, ErrDamaged, what, cause, remedy)
}

// corruptf is the error of a record that does not decode: damage found by
// this package's own checks (a checksum, a record's length) rather than by
// bbolt. The caller's wrapping names the file.
func corruptf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, a...))
}

// changedError is the error of a file that changed under this process as
// it began or committed a transaction, doing what (see DB.begin): it
// became shorter than the meta pages bbolt reads there, or they faulted
// or failed bbolt's check. It wraps ErrDamaged, but the file need not be
// damaged: one written over in place (cp, scp, rsync --inplace) is whole
// again once the copy has finished, so its remedy is to try again rather
// than to restore it. broken says the fault broke the open, which can no
// longer read the file: the remedy is then to open it again.
type changedError struct {
	path, what string
	cause      any // what was found, or what the runtime or bbolt panicked with
	broken     bool
	// damaged says bbolt found the file inconsistent (a panic of its own,
	// not a fault of the map): damage, which trying again will not mend.
	damaged bool
}

func (e *changedError) Error() string {
	return fmt.Sprintf("%s: %v: %s: %v: %s", e.path, ErrDamaged, e.what, e.cause, e.Remedy())
}

func (e *changedError) Unwrap() error { return ErrDamaged }

// Remedy says what to do about the file (see protect).
func (e *changedError) Remedy() string {
	if e.damaged {
		return "bbolt found the file inconsistent, and this open can no longer write it: restore it from a backup"
	}
	again := "try again once it is whole"
	if e.broken {
		again = "this open can no longer read it: open it again once it is whole"
	}
	return "the file changed under this process: it was truncated, or is being written over in place " +
		"(as cp, scp and rsync --inplace do; a copy moved into place with mv replaces it whole): " +
		again + ", or restore it from a backup"
}

// protect runs fn so that damage cannot crash the process: a fault on the
// memory map panics instead of killing the process (SetPanicOnFault, for
// this goroutine and only while fn runs), and a panic of fn becomes an
// error wrapping ErrDamaged. what names what fn reads, the description
// used when the panic comes before any read has named itself (see Tx.reading).
//
// Every panic counts as damage, not only bbolt's: the bytes a decoder
// panics on came from the file. The one exception is a panic of the
// application's own code, which RunCaller marks: the transaction is
// rolled back (bbolt's View and Update roll back on a panic) and the
// panic goes on with its own value, as database/sql and bbolt let a
// callback's panic through.
//
// An error of fn that wraps ErrDamaged (a record failing this package's own
// checks, see corruptf) gets the file's name and the remedy too, unless it
// says a remedy of its own (a Remedy method: a derived part of the file,
// such as an index, is rebuilt rather than restored).
func protect(path string, what func() string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		switch r := recover().(type) {
		case nil:
		case callerPanic:
			panic(r.v)
		case damagePanic:
			err = damaged(path, what(), r.v)
		default:
			err = damaged(path, what(), r)
		}
	}()
	err = fn()
	var own interface{ Remedy() string }
	if errors.Is(err, ErrDamaged) && !errors.As(err, &own) && !strings.Contains(err.Error(), remedy) {
		err = fmt.Errorf("%s: %w: %s", path, err, remedy)
	}
	return err
}

// callerPanic carries a panic of the application's code (see RunCaller)
// through protect, which re-panics with v.
type callerPanic struct{ v any }

// damagePanic carries a panic of this package's reads that happened inside
// the application's code (see markDamage) through RunCaller, which would
// otherwise take it for the application's own.
type damagePanic struct{ v any }

// RunCaller runs fn, code of the application (an import callback, a
// scan's visitor), inside a transaction of this package. A panic in fn is
// the application's bug, not damage: the transaction rolls back and the
// panic reaches the caller of View or Update with its own value. A panic
// of this package's own reads made from fn (Tx.PutTrack meeting a damaged
// page, say) is still damage: those methods mark theirs (markDamage), and
// a nested View or Update turns its damage into an error itself.
func RunCaller(fn func() error) error {
	defer func() {
		if r := recover(); r != nil {
			switch r.(type) {
			case callerPanic, damagePanic:
				panic(r)
			}
			panic(callerPanic{r})
		}
	}()
	return fn()
}

// markDamage, deferred by a Tx method that the application's code calls
// inside RunCaller, marks a panic of that method as damage, so that
// RunCaller does not take it for the application's own.
func markDamage() {
	if r := recover(); r != nil {
		switch r.(type) {
		case callerPanic, damagePanic:
			panic(r)
		}
		panic(damagePanic{r})
	}
}

// Protect runs fn, which decodes bytes copied out of the file at path
// after its transaction ended, with a transaction's protection from
// damage: a panic becomes an error wrapping ErrDamaged, naming the file
// and what.
func Protect(path, what string, fn func() error) error {
	return protect(path, func() string { return what }, fn)
}

// reading names what the transaction reads from here on, for the error
// that damage met there returns.
func (tx *Tx) setReading(what string) { tx.reading = what }

// doing describes what the transaction was doing, for a damage error.
func (tx *Tx) doing() string {
	if tx == nil || tx.reading == "" {
		return "reading the meta bucket"
	}
	return tx.reading
}

// bbolt's meta page, as laid out in the file (little-endian, after the
// 16-byte page header): magic u32, version u32, page size u32, flags u32,
// root bucket {pgid, sequence}, freelist pgid, high-water pgid, txid,
// checksum (FNV-64a of the fields before it).
const (
	pageHeaderSize = 16
	metaMagic      = 0xED0CDAED
	metaVersion    = 2
	metaFreeOff    = pageHeaderSize + 32
	metaPgidOff    = pageHeaderSize + 40
	metaTxidOff    = pageHeaderSize + 48
	metaSumOff     = pageHeaderSize + 56
	metaSize       = metaSumOff + 8
)

// metaPage is the part of a bbolt meta page checkSize needs.
type metaPage struct {
	pageSize             int64
	freelist, pgid, txid uint64
}

// readMeta decodes the meta page at off in f. fault says why it is not a
// valid one, "" when it is: bbolt's validation (its magic, its version,
// its checksum), then a page size bbolt could have written, or why it
// could not be read (a short file).
func readMeta(f *os.File, off int64) (m metaPage, fault string) {
	var b [metaSize]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return m, fmt.Sprintf("it cannot be read: %v", err)
	}
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(b[pageHeaderSize:metaSumOff])
	m.pageSize = int64(le.Uint32(b[pageHeaderSize+8:]))
	m.freelist, m.pgid, m.txid = le.Uint64(b[metaFreeOff:]), le.Uint64(b[metaPgidOff:]), le.Uint64(b[metaTxidOff:])
	switch {
	case le.Uint32(b[pageHeaderSize:]) != metaMagic:
		return m, "it lacks bbolt's magic"
	case le.Uint32(b[pageHeaderSize+4:]) != metaVersion:
		return m, fmt.Sprintf("its version is %d, not bbolt's %d", le.Uint32(b[pageHeaderSize+4:]), metaVersion)
	case h.Sum64() != le.Uint64(b[metaSumOff:]):
		return m, "its checksum does not match its contents"
	case m.pageSize < 512 || m.pageSize&(m.pageSize-1) != 0:
		return m, fmt.Sprintf("its page size %d is not a power of two of at least 512", m.pageSize)
	}
	return m, ""
}

// metaPageDamage is the finding of meta page id failing validation (fault
// says how), other being the other meta page and otherFault its fault.
// bbolt opens a file with one valid meta page without a word, reading
// that one; when the damaged page was the newer, the file reads as of the
// write before: the last committed write is undone, silently. Which of
// the two was newer cannot be told (the damaged page's txid is not to be
// trusted), so the finding says what may be lost.
func metaPageDamage(id int64, fault string, other metaPage, otherFault string) error {
	if otherFault != "" {
		return corruptf("meta page %d fails bbolt's validation (%s), and so does meta page %d (%s): bbolt will not open the file again", id, fault, 1-id, otherFault)
	}
	return corruptf("meta page %d fails bbolt's validation (%s): bbolt reads the other meta page, of transaction %d: "+
		"the last write(s) after it may be lost: restore the file from a backup, "+
		"or back it up as it reads now (`soundalike backup`, whose copy has both meta pages whole) to keep it",
		id, fault, other.txid)
}

// looksLikeBolt reports whether f, whose meta pages are both invalid, was
// a bbolt database all the same: a meta page still carries bbolt's magic
// at its fixed place, or the first MiB holds the meta bucket's "magic" key
// next to soundalike's magic, its value, as a bbolt leaf page stores a key
// and its value. Such a file is damaged, not foreign; a text that merely
// mentions the word "soundalike" is foreign.
func looksLikeBolt(f *os.File) bool {
	var b [4]byte
	for _, off := range []int64{0, 4096, 8192, 16384, 65536} {
		if _, err := f.ReadAt(b[:], off+pageHeaderSize); err == nil && binary.LittleEndian.Uint32(b[:]) == metaMagic {
			return true
		}
	}
	head := make([]byte, 1<<20)
	n, _ := f.ReadAt(head, 0)
	return bytes.Contains(head[:n], append(slices.Clone(keyMagic), magic...))
}

// checkSize finds truncation before bbolt maps the file: the file must
// hold every page its newest valid meta page counts (its high-water mark,
// pgid × page size). A read past the end of a mapped file faults, so a
// truncated file would crash its first reader instead. A file with no
// valid meta page is left to bbolt, which refuses it.
func checkSize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bbolt's open reports it
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return nil
	}
	m0, fault0 := readMeta(f, 0)
	ok0 := fault0 == ""
	var m1 metaPage
	ok1 := false
	if ok0 {
		var fault1 string
		m1, fault1 = readMeta(f, m0.pageSize)
		ok1 = fault1 == ""
	} else {
		// Meta 0 is damaged: try meta 1 at the usual page sizes.
		for _, ps := range []int64{4096, 8192, 16384, 65536} {
			var fault1 string
			if m1, fault1 = readMeta(f, ps); fault1 == "" && m1.pageSize == ps {
				ok1 = true
				break
			}
		}
	}
	m := m0
	switch {
	case ok0 && ok1 && m1.txid > m0.txid, !ok0 && ok1:
		m = m1
	case !ok0 && !ok1:
		if looksLikeBolt(f) {
			return damaged(path, "reading its meta pages", "both meta pages are damaged (neither passes bbolt's check of its magic, version and checksum)")
		}
		return nil // not a bbolt file: bbolt refuses it
	}
	if want := int64(m.pgid) * m.pageSize; m.pgid > 0 && st.Size() < want {
		return damaged(path, "reading its meta pages", fmt.Sprintf("truncated: the file is %d bytes, its pages need %d", st.Size(), want))
	}
	return nil
}
