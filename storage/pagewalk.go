package storage

import (
	"encoding/binary"
	"fmt"
	"os"
)

// walkPages checks the page structure bbolt's page check follows, reading
// the file with ReadAt rather than through the memory map: bbolt's check
// runs on a goroutine of its own, where a fault (a page id or an element
// beyond the file) cannot be recovered. It reports page ids beyond the
// high-water mark, pages that do not identify as themselves or are not
// branch or leaf pages, elements that reach past their page, and pages
// reachable twice (which also stops a cycle).
type pageWalker struct {
	f        *os.File
	pageSize int64
	hw       uint64 // pages [0, hw) exist
	seen     map[uint64]bool
	report   func(error)
	found    int
}

const (
	branchPageFlag = 0x01
	leafPageFlag   = 0x02
	bucketLeafFlag = 0x01
	maxPageDepth   = 64
)

func (w *pageWalker) problem(format string, a ...any) {
	w.found++
	w.report(corruptf("page check: "+format, a...))
}

// read returns page id with its overflow pages, or nil after reporting why
// it cannot be read.
func (w *pageWalker) read(id uint64, from string) []byte {
	if id < 2 || id >= w.hw {
		w.problem("page %d (%s): out of bounds (the file has %d pages)", id, from, w.hw)
		return nil
	}
	if w.seen[id] {
		w.problem("page %d (%s): reachable twice", id, from)
		return nil
	}
	w.seen[id] = true
	var h [pageHeaderSize]byte
	if _, err := w.f.ReadAt(h[:], int64(id)*w.pageSize); err != nil {
		w.problem("page %d (%s): %v", id, from, err)
		return nil
	}
	le := binary.LittleEndian
	if got := le.Uint64(h[0:]); got != id {
		w.problem("page %d (%s): identifies as page %d", id, from, got)
		return nil
	}
	overflow := uint64(le.Uint32(h[12:]))
	if id+overflow >= w.hw {
		w.problem("page %d (%s): %d overflow pages reach past the file's %d", id, from, overflow, w.hw)
		return nil
	}
	buf := make([]byte, int64(overflow+1)*w.pageSize)
	if _, err := w.f.ReadAt(buf, int64(id)*w.pageSize); err != nil {
		w.problem("page %d (%s): %v", id, from, err)
		return nil
	}
	for o := uint64(1); o <= overflow; o++ {
		w.seen[id+o] = true
	}
	return buf
}

// walk checks page id and what it leads to.
func (w *pageWalker) walk(id uint64, from string, depth int) {
	if depth > maxPageDepth {
		w.problem("page %d (%s): nested deeper than %d", id, from, maxPageDepth)
		return
	}
	if p := w.read(id, from); p != nil {
		w.elements(p, id, from, depth)
	}
}

// elements checks the elements of page p (id 0 for a bucket's inline page)
// and walks the pages they point to.
func (w *pageWalker) elements(p []byte, id uint64, from string, depth int) {
	le := binary.LittleEndian
	if len(p) < pageHeaderSize {
		w.problem("page %d (%s): %d bytes, shorter than a page header", id, from, len(p))
		return
	}
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if flags != branchPageFlag && flags != leafPageFlag {
		w.problem("page %d (%s): flags %#x: neither a branch nor a leaf page", id, from, flags)
		return
	}
	if pageHeaderSize+16*count > len(p) {
		w.problem("page %d (%s): %d elements do not fit in it", id, from, count)
		return
	}
	for i := range count {
		off := pageHeaderSize + 16*i
		e := p[off:]
		pos, ksize := int(le.Uint32(e[4:])), int(le.Uint32(e[8:]))
		if flags == branchPageFlag {
			pos, ksize = int(le.Uint32(e[0:])), int(le.Uint32(e[4:]))
			if off+pos+ksize > len(p) {
				w.problem("page %d (%s): element %d reaches past the page", id, from, i)
				return
			}
			w.walk(le.Uint64(e[8:]), fmt.Sprintf("%s, child of page %d", from, id), depth+1)
			continue
		}
		vsize := int(le.Uint32(e[12:]))
		if off+pos+ksize+vsize > len(p) || pos < 0 || ksize < 0 || vsize < 0 {
			w.problem("page %d (%s): element %d reaches past the page", id, from, i)
			return
		}
		if le.Uint32(e[0:])&bucketLeafFlag == 0 {
			continue
		}
		key := p[off+pos : off+pos+ksize]
		v := p[off+pos+ksize : off+pos+ksize+vsize]
		if len(v) < 16 {
			w.problem("page %d (%s): bucket %q: a header of %d bytes", id, from, key, len(v))
			continue
		}
		sub := fmt.Sprintf("bucket %q", key)
		if from != "" {
			sub = from + ", " + sub
		}
		if root := le.Uint64(v); root != 0 {
			w.walk(root, sub, depth+1)
		} else {
			w.elements(v[16:], 0, sub+" (inline)", depth+1)
		}
	}
}

// CheckStructure walks the file's pages from its meta page (the one of
// tx's transaction), reading the file rather than the memory map, and
// reports what it finds wrong. It returns false when bbolt's own page
// check (CheckPages) must not run: it would follow what was found and
// could fault where no recover reaches.
func (tx *Tx) CheckStructure(report func(error)) bool {
	tx.setReading("checking its page structure")
	f, err := os.Open(tx.path)
	if err != nil {
		report(fmt.Errorf("page check: %w", err))
		return false
	}
	defer f.Close()
	root := uint64(tx.tx.Cursor().Bucket().Root())
	ps := int64(tx.tx.DB().Info().PageSize)
	w := &pageWalker{f: f, pageSize: ps, hw: uint64(tx.tx.Size() / ps), seen: map[uint64]bool{}, report: report}
	w.walk(root, "", 0)
	w.freelist(uint64(tx.tx.ID()))
	return w.found == 0
}

// freelist checks the freelist page of the meta page of transaction txid
// (bbolt's check loads it through the memory map).
func (w *pageWalker) freelist(txid uint64) {
	var m metaPage
	found := false
	for _, off := range []int64{0, w.pageSize} {
		if mm, fault := readMeta(w.f, off); fault == "" && mm.txid == txid {
			m, found = mm, true
		}
	}
	if !found || m.freelist == ^uint64(0) { // not found: bbolt chose it; none kept
		return
	}
	p := w.read(m.freelist, "the freelist")
	if p == nil {
		return
	}
	le := binary.LittleEndian
	n, start := uint64(le.Uint16(p[10:])), pageHeaderSize
	if n == 0xFFFF {
		n, start = le.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	if le.Uint16(p[8:]) != 0x10 || n > uint64(len(p)-start)/8 {
		w.problem("page %d (the freelist): not a freelist of %d ids", m.freelist, n)
	}
}
