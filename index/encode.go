package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"unsafe"
)

// The persisted format, version 1. The stream is the 8-byte magic
// "SNDLKIDX" followed by frames; a frame is
//
//	length  uint32 little-endian, 1..frameMax (0 ends the stream)
//	crc     uint32 little-endian, CRC-32C (Castagnoli) of the payload
//	payload length bytes
//
// so a stream cut anywhere into storage chunks (bbolt values) can be
// checked frame by frame when it is put back together, and a reader never
// trusts more than one frame of unchecked bytes. Concatenated, the payloads
// hold, all little-endian:
//
//	version uint32 (1), kind uint32 (1, an HNSW index: Read refuses any
//	other kind), dim uint32
//	HNSW: M, EfConstruction, EfSearch uint32, Seed int64,
//	      MaxTombstoneRatio float64, nodes, live uint32, maxLevel int32,
//	      entry, upperLen uint32;
//	      ids [nodes]uint32, levels [nodes]uint8, dead [nodes]uint8,
//	      vectors [nodes·dim]float32 (each a half, as the index keeps them),
//	      layer-0 lists [nodes·(2M+1)]uint32 (count, then neighbour slots),
//	      upper lists [upperLen]uint32 (per node with level L > 0, in slot
//	      order, L lists of M+1)
//
// Every count in the header is checked against what the arrays hold, every
// link against the node count, and arrays are allocated as their bytes
// arrive, so a corrupt length cannot force a huge allocation.
const (
	magic       = "SNDLKIDX"
	formatV1    = 1
	kindHNSW    = 1
	frameMax    = 64 << 10
	growElems   = 1 << 20 // allocate arrays at most this many elements ahead of the data
	maxReadDim  = MaxDim
	maxReadNode = math.MaxUint32 - 1
)

// ErrCorrupt is wrapped by every error that Read returns for a
// stream that is truncated, damaged, or not an index: check it with
// errors.Is.
var ErrCorrupt = errors.New("corrupt or truncated index")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// frameWriter buffers payload bytes and writes them as checksummed frames.
type frameWriter struct {
	w   io.Writer
	buf []byte
	n   int64
	err error
}

func newFrameWriter(w io.Writer) *frameWriter {
	fw := &frameWriter{w: w, buf: make([]byte, 8, 8+frameMax)}
	fw.raw([]byte(magic))
	return fw
}

func (fw *frameWriter) raw(p []byte) {
	if fw.err != nil {
		return
	}
	n, err := fw.w.Write(p)
	fw.n += int64(n)
	fw.err = err
}

func (fw *frameWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 && fw.err == nil {
		room := 8 + frameMax - len(fw.buf)
		k := min(room, len(p))
		fw.buf = append(fw.buf, p[:k]...)
		p = p[k:]
		if len(fw.buf) == 8+frameMax {
			fw.flush()
		}
	}
	return total, fw.err
}

func (fw *frameWriter) flush() {
	payload := fw.buf[8:]
	if len(payload) == 0 {
		return
	}
	binary.LittleEndian.PutUint32(fw.buf[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(fw.buf[4:], crc32.Checksum(payload, castagnoli))
	fw.raw(fw.buf)
	fw.buf = fw.buf[:8]
}

// close flushes the last frame and writes the end marker.
func (fw *frameWriter) close() error {
	fw.flush()
	fw.raw(make([]byte, 8))
	return fw.err
}

func (fw *frameWriter) u32(v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	fw.Write(b[:])
}

func (fw *frameWriter) u64(v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	fw.Write(b[:])
}

func writeArray[T uint32 | float32 | uint8](fw *frameWriter, xs []T) {
	if len(xs) == 0 {
		return
	}
	size := int(unsafe.Sizeof(xs[0]))
	if littleEndian || size == 1 {
		fw.Write(unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), len(xs)*size))
		return
	}
	var b [4]byte
	for _, x := range xs {
		binary.LittleEndian.PutUint32(b[:], *(*uint32)(unsafe.Pointer(&x)))
		fw.Write(b[:])
	}
}

// WriteTo writes the index in the persisted format (see the package
// documentation). It holds the read lock, so searches continue meanwhile.
func (g *HNSW) WriteTo(w io.Writer) (int64, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	fw := newFrameWriter(w)
	for _, v := range []uint32{formatV1, kindHNSW, uint32(g.dim), uint32(g.m), uint32(g.opt.EfConstruction), uint32(g.opt.EfSearch)} {
		fw.u32(v)
	}
	fw.u64(uint64(g.opt.Seed))
	fw.u64(math.Float64bits(g.opt.MaxTombstoneRatio))
	fw.u32(uint32(len(g.ids)))
	fw.u32(uint32(len(g.slots)))
	fw.u32(uint32(int32(g.maxLevel)))
	fw.u32(g.entry)
	fw.u32(uint32(len(g.upper)))
	writeArray(fw, g.ids)
	writeArray(fw, g.levels)
	dead := make([]uint8, len(g.dead))
	for i, d := range g.dead {
		if d {
			dead[i] = 1
		}
	}
	writeArray(fw, dead)
	// In memory each node's vector (in halves) and layer-0 links share a
	// block; the stream keeps version 1's separate arrays and float32
	// vectors, which hold the halves exactly.
	v := make([]float32, g.dim)
	for s := range len(g.ids) {
		fromHalves(v, g.vec(uint32(s)))
		writeArray(fw, v)
	}
	lst := make([]uint32, 1+g.m0)
	for s := range len(g.ids) {
		nb := g.nbrs(uint32(s), 0)
		lst[0] = uint32(len(nb))
		clear(lst[1+copy(lst[1:], nb):])
		writeArray(fw, lst)
	}
	writeArray(fw, g.upper)
	err := fw.close()
	if err != nil {
		err = fmt.Errorf("index: write: %w", err)
	}
	return fw.n, err
}

// frameReader checks frames and hands out their payload bytes.
type frameReader struct {
	r     io.Reader
	buf   []byte
	pos   int   // next unread byte of buf
	off   int64 // stream offset of the next frame
	frame int
	ended bool
	// avail is how many stream bytes are left after the header when the
	// reader says (its Len method), else -1: an array whose bytes fit in
	// it is allocated at once.
	avail int64
}

// fits reports whether n elements of size bytes can still be in the
// stream, so that allocating them at once is safe: a corrupt count cannot
// ask for more memory than the stream holds.
func (fr *frameReader) fits(n, size int) bool {
	return fr.avail >= 0 && int64(n)*int64(size) <= fr.avail
}

func corruptf(format string, a ...any) error {
	return fmt.Errorf("index: read: %w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

func (fr *frameReader) next() error {
	var h [8]byte
	if _, err := io.ReadFull(fr.r, h[:]); err != nil {
		return fr.ioErr(err, "frame header")
	}
	n := binary.LittleEndian.Uint32(h[:])
	sum := binary.LittleEndian.Uint32(h[4:])
	if n == 0 {
		if sum != 0 {
			return corruptf("frame %d at byte %d: end marker has checksum %#x, want 0", fr.frame, fr.off, sum)
		}
		fr.ended = true
		return nil
	}
	if n > frameMax {
		return corruptf("frame %d at byte %d: length %d exceeds %d", fr.frame, fr.off, n, frameMax)
	}
	fr.buf = fr.buf[:n]
	if _, err := io.ReadFull(fr.r, fr.buf); err != nil {
		return fr.ioErr(err, "frame payload")
	}
	if got := crc32.Checksum(fr.buf, castagnoli); got != sum {
		return corruptf("frame %d at byte %d: checksum %#x, want %#x", fr.frame, fr.off, got, sum)
	}
	fr.pos = 0
	fr.off += 8 + int64(n)
	fr.frame++
	return nil
}

func (fr *frameReader) ioErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corruptf("truncated in %s of frame %d at byte %d", what, fr.frame, fr.off)
	}
	return fmt.Errorf("index: read: %w", err)
}

// read fills p from the frames' payloads.
func (fr *frameReader) read(p []byte, what string) error {
	for len(p) > 0 {
		if fr.pos == len(fr.buf) {
			if fr.ended {
				return corruptf("stream ends inside %s", what)
			}
			if err := fr.next(); err != nil {
				return err
			}
			continue
		}
		n := copy(p, fr.buf[fr.pos:])
		fr.pos += n
		p = p[n:]
	}
	return nil
}

// end checks that the payload is used up and the end marker follows.
func (fr *frameReader) end() error {
	if fr.pos != len(fr.buf) {
		return corruptf("%d unexpected bytes after the index", len(fr.buf)-fr.pos)
	}
	if !fr.ended {
		if err := fr.next(); err != nil {
			return err
		}
		if !fr.ended {
			return corruptf("frame %d: unexpected data after the index", fr.frame-1)
		}
	}
	return nil
}

func (fr *frameReader) u32(what string) (uint32, error) {
	var b [4]byte
	if err := fr.read(b[:], what); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func (fr *frameReader) u64(what string) (uint64, error) {
	var b [8]byte
	if err := fr.read(b[:], what); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// readArray reads n elements, growing the slice as bytes arrive.
func readArray[T uint32 | float32 | uint8](fr *frameReader, n int, what string) ([]T, error) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	ahead := growElems
	if fr.fits(n, size) {
		ahead = n
	}
	out := make([]T, 0, min(n, ahead))
	for len(out) < n {
		k := min(n-len(out), growElems)
		if cap(out)-len(out) < k {
			out = slices.Grow(out, min(n-len(out), max(len(out), k)))
		}
		chunk := out[len(out) : len(out)+k]
		b := unsafe.Slice((*byte)(unsafe.Pointer(&chunk[0])), k*size)
		if err := fr.read(b, what); err != nil {
			return nil, err
		}
		if !littleEndian && size == 4 {
			for i := range chunk {
				u := binary.LittleEndian.Uint32(b[i*4:])
				chunk[i] = *(*T)(unsafe.Pointer(&u))
			}
		}
		out = out[:len(out)+k]
	}
	return out, nil
}

func readHeader(r io.Reader) (*frameReader, uint32, int, error) {
	var m [len(magic)]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, 0, corruptf("truncated in the magic number")
		}
		return nil, 0, 0, fmt.Errorf("index: read: %w", err)
	}
	if string(m[:]) != magic {
		return nil, 0, 0, corruptf("magic %q, want %q: not a soundalike index", m[:], magic)
	}
	fr := &frameReader{r: r, buf: make([]byte, 0, frameMax), off: int64(len(magic)), avail: -1}
	if l, ok := r.(interface{ Len() int }); ok {
		fr.avail = int64(l.Len())
	}
	ver, err := fr.u32("version")
	if err != nil {
		return nil, 0, 0, err
	}
	if ver != formatV1 {
		return nil, 0, 0, corruptf("format version %d: this build reads version %d", ver, formatV1)
	}
	kind, err := fr.u32("kind")
	if err != nil {
		return nil, 0, 0, err
	}
	dim, err := fr.u32("dim")
	if err != nil {
		return nil, 0, 0, err
	}
	if dim < 1 || dim > maxReadDim {
		return nil, 0, 0, corruptf("dimension %d: want 1..%d", dim, maxReadDim)
	}
	return fr, kind, int(dim), nil
}

// Read decodes an HNSW written by (*HNSW).WriteTo. A damaged or truncated
// stream gives an error wrapping ErrCorrupt, never a panic. The loaded index
// returns exactly the results the saved one did. Options.Workers takes its
// default. It is ReadUnchecked followed by Check.
func Read(r io.Reader) (*HNSW, error) {
	u, err := ReadUnchecked(r, nil)
	if err != nil {
		return nil, err
	}
	return u.Check()
}

// Unchecked is an HNSW read from its stream whose structure is not checked
// yet: nothing may search it before Check. It holds no reference to the
// stream, so a reader of a memory-mapped file may release the file before
// checking (the structural checks are most of a load's CPU time).
type Unchecked struct {
	g       *HNSW
	dead    []uint8
	h       graphCounts
	poolErr error // why layer 0 is not on the hugetlb pool that ReadOptions asked for
}

// ReadOptions say where a read index keeps its arrays. The zero value
// keeps them all on the Go heap.
type ReadOptions struct {
	// HugeTLB puts layer 0 (the vectors and their layer-0 links, 256 bytes
	// a node at 64-d, most of a large index) on the pool of huge pages that
	// sysctl vm.nr_hugepages reserves, when the pool has room for it and
	// the stream says its size up front (a reader with a Len method). The
	// kernel's page-access monitor (DAMON) does not check those pages, so
	// its checks do not stall the searches that read them at random
	// (docs/benchmarks.md, issue 17). Without room it stays on the heap:
	// Unchecked.PoolError says why, and Stats.PoolBytes how much is on the
	// pool. The pages go back to the pool once the index is unreachable.
	HugeTLB bool
}

// PoolError returns why layer 0 is not on the hugetlb pool that
// ReadOptions.HugeTLB asked for; nil when it is, or was not asked for.
func (u *Unchecked) PoolError() error { return u.poolErr }

// ReadUnchecked reads an HNSW stream in its order (header, options,
// counts, arrays) into the index's own arrays, checking every frame's
// checksum, every count the arrays' sizes depend on, and every vector
// (finite, unit length) before it is rounded to halves. A reader with a
// Len method (bytes.Reader, storage's chunk reader) lets it allocate each
// array once at its final size rather than grow it as the bytes arrive.
// opts may be nil for the defaults.
func ReadUnchecked(r io.Reader, opts *ReadOptions) (*Unchecked, error) {
	fr, kind, dim, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	if kind != kindHNSW {
		return nil, corruptf("stream holds index kind %d, want %d (an HNSW index)", kind, kindHNSW)
	}
	o, err := readOptions(fr)
	if err != nil {
		return nil, err
	}
	h, err := readCounts(fr)
	if err != nil {
		return nil, err
	}
	g := &HNSW{dim: dim}
	g.init(o.WithDefaults())
	g.rng = rand.New(rand.NewPCG(uint64(o.Seed), uint64(h.nodes)))
	var ro ReadOptions
	if opts != nil {
		ro = *opts
	}
	u := &Unchecked{g: g, h: h}
	if u.dead, u.poolErr, err = g.readArrays(fr, h, ro); err != nil {
		return nil, err
	}
	return u, nil
}

// Check checks the structure a search will trust (tombstones and levels,
// the entry point, every link) and returns the index. Check is called
// once; a failure wraps ErrCorrupt.
func (u *Unchecked) Check() (*HNSW, error) {
	g := u.g
	if g == nil {
		return nil, corruptf("index checked twice")
	}
	u.g = nil
	if err := g.checkNodes(u.dead, u.h); err != nil {
		return nil, err
	}
	if err := g.checkEntry(u.h); err != nil {
		return nil, err
	}
	if err := g.checkLinks(); err != nil {
		return nil, err
	}
	return g, nil
}

// readOptions reads the persisted Options (M, EfConstruction, EfSearch,
// Seed, MaxTombstoneRatio), each of which WriteTo always sets.
func readOptions(fr *frameReader) (Options, error) {
	var h [3]uint32
	var err error
	for i, what := range []string{"M", "EfConstruction", "EfSearch"} {
		if h[i], err = fr.u32(what); err != nil {
			return Options{}, err
		}
	}
	seed, err := fr.u64("seed")
	if err != nil {
		return Options{}, err
	}
	ratio, err := fr.u64("tombstone ratio")
	if err != nil {
		return Options{}, err
	}
	o := Options{M: int(h[0]), EfConstruction: int(h[1]), EfSearch: int(h[2]), Seed: int64(seed), MaxTombstoneRatio: math.Float64frombits(ratio)}
	if o.M < 2 || o.EfConstruction < 1 || o.EfSearch < 1 || o.Seed == 0 || o.MaxTombstoneRatio <= 0 {
		return Options{}, corruptf("options %+v: want every field set", o)
	}
	if err := o.Validate(); err != nil {
		return Options{}, corruptf("%v", err)
	}
	return o, nil
}

// graphCounts is the HNSW header after the options: what the arrays that
// follow must agree with.
type graphCounts struct {
	nodes, live, entry, upperLen uint32
	maxLevel                     int
}

func readCounts(fr *frameReader) (graphCounts, error) {
	var nodes, live, maxLevel, entry, upperLen uint32
	for _, p := range []struct {
		v    *uint32
		what string
	}{{&nodes, "node count"}, {&live, "live count"}, {&maxLevel, "max level"}, {&entry, "entry point"}, {&upperLen, "upper layer size"}} {
		var err error
		if *p.v, err = fr.u32(p.what); err != nil {
			return graphCounts{}, err
		}
	}
	if nodes > maxReadNode || live > nodes {
		return graphCounts{}, corruptf("%d live of %d nodes", live, nodes)
	}
	return graphCounts{nodes: nodes, live: live, entry: entry, upperLen: upperLen, maxLevel: int(int32(maxLevel))}, nil
}

// readArrays reads the per-node arrays into g and returns the tombstone
// flags, which checkNodes validates, and why layer 0 is not on the hugetlb
// pool when ro asked for it.
func (g *HNSW) readArrays(fr *frameReader, h graphCounts, ro ReadOptions) (dead []uint8, poolErr error, err error) {
	n := int(h.nodes)
	if g.ids, err = readArray[uint32](fr, n, "ids"); err != nil {
		return nil, nil, err
	}
	if g.levels, err = readArray[uint8](fr, n, "levels"); err != nil {
		return nil, nil, err
	}
	if dead, err = readArray[uint8](fr, n, "tombstones"); err != nil {
		return nil, nil, err
	}
	if poolErr, err = g.readLayer0(fr, n, ro); err != nil {
		return nil, nil, err
	}
	if g.upper, err = readArray[uint32](fr, int(h.upperLen), "upper links"); err != nil {
		return nil, nil, err
	}
	return dead, poolErr, fr.end()
}

// checkNodes fills the tombstones, the live id map and each node's offset
// into the upper lists, checking that no id is live twice, levels are in
// range, and the upper lists hold exactly what the levels need.
func (g *HNSW) checkNodes(dead []uint8, h graphCounts) error {
	n := len(g.ids)
	g.dead = make([]bool, n)
	g.upperOff = make([]uint32, n)
	g.slots = make(map[uint32]uint32, h.live)
	g.idSlots = true
	off := 0
	for s := range n {
		g.idSlots = g.idSlots && g.ids[s] == uint32(s)
		switch dead[s] {
		case 0:
			id := g.ids[s]
			if prev, dup := g.slots[id]; dup {
				return corruptf("id %d is live in nodes %d and %d", id, prev, s)
			}
			g.slots[id] = uint32(s)
		case 1:
			g.dead[s] = true
			g.nDead++
		default:
			return corruptf("node %d: tombstone flag %d, want 0 or 1", s, dead[s])
		}
		lv := int(g.levels[s])
		if lv > maxLevelCap {
			return corruptf("node %d: level %d exceeds %d", s, lv, maxLevelCap)
		}
		if lv > 0 {
			g.upperOff[s] = uint32(off)
			off += lv * (g.m + 1)
			if off > int(h.upperLen) {
				return corruptf("upper links hold %d entries, levels need more", h.upperLen)
			}
		}
	}
	if off != int(h.upperLen) {
		return corruptf("upper links hold %d entries, levels need %d", h.upperLen, off)
	}
	if len(g.slots) != int(h.live) {
		return corruptf("%d live nodes, header says %d", len(g.slots), h.live)
	}
	return nil
}

// checkEntry sets the top layer and entry point from the header after
// checking them against the levels: the entry is a node on the top layer.
func (g *HNSW) checkEntry(h graphCounts) error {
	top := -1
	for _, lv := range g.levels {
		top = max(top, int(lv))
	}
	g.maxLevel = h.maxLevel
	if g.maxLevel != top {
		return corruptf("max level %d, levels say %d", g.maxLevel, top)
	}
	if len(g.ids) > 0 {
		if h.entry >= h.nodes || int(g.levels[h.entry]) != top {
			return corruptf("entry point %d is not a node on the top layer %d", h.entry, top)
		}
		g.entry = h.entry
	}
	return nil
}

// checkLinks checks every upper list's count and that every neighbour is a
// node present on that layer. (readLayer0 checked the layer-0 counts.)
func (g *HNSW) checkLinks() error {
	nodes := uint32(len(g.ids))
	for s := range nodes {
		for l := 0; l <= int(g.levels[s]); l++ {
			if l > 0 {
				if c := int(g.list(s, l)[0]); c > g.m {
					return corruptf("node %d layer %d: %d neighbours exceeds the maximum", s, l, c)
				}
			}
			for _, nb := range g.nbrs(s, l) {
				if nb >= nodes || int(g.levels[nb]) < l {
					return corruptf("node %d layer %d: neighbour %d is not a node on that layer", s, l, nb)
				}
			}
		}
	}
	return nil
}

// readLayer0 reads n vectors and then n layer-0 lists (count, then m0
// slots) into the blocks of l0, growing it as the bytes arrive. Both are
// read a chunk of nodes at a time into a buffer and scattered from there;
// the vectors are checked (finite, unit length) as float32 and stored in
// halves. It returns why l0 is not on the hugetlb pool when ro asked for
// it, beside the read's error.
func (g *HNSW) readLayer0(fr *frameReader, n int, ro ReadOptions) (poolErr, err error) {
	const chunk = 4096 // nodes
	first := min(n, max(chunk, growElems/g.stride))
	if fr.fits(n, 4*(g.dim+1+g.m0)) {
		first = n // the stream holds them all: one allocation, no copies
	}
	g.l0, g.l0m, poolErr = layer0Memory(first*g.stride, first == n, ro)
	buf := make([]uint32, chunk*max(g.dim, 1+g.m0))
	read := func(words []uint32, what string) error {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 4*len(words))
		if err := fr.read(b, what); err != nil {
			return err
		}
		if !littleEndian {
			for i, x := range words {
				words[i] = bits.ReverseBytes32(x)
			}
		}
		return nil
	}
	for first := 0; first < n; first += chunk {
		k := min(chunk, n-first)
		vs := buf[:k*g.dim]
		if err := read(vs, "vectors"); err != nil {
			return nil, err
		}
		if need := (first + k) * g.stride; need > cap(g.l0) {
			nl := alignedWords(len(g.l0), min(n, max(first+k, 2*cap(g.l0)/g.stride))*g.stride)
			copy(nl, g.l0)
			g.l0 = nl // never on the pool: its room is final
		}
		g.l0 = g.l0[:(first+k)*g.stride]
		fs := unsafe.Slice((*float32)(unsafe.Pointer(&vs[0])), len(vs))
		if err := checkVectors(fs, g.dim, first); err != nil {
			return nil, err
		}
		for i := range k {
			toHalves(g.vec(uint32(first+i)), fs[i*g.dim:(i+1)*g.dim])
		}
	}
	w := 1 + g.m0
	for first := 0; first < n; first += chunk {
		k := min(chunk, n-first)
		ls := buf[:k*w]
		if err := read(ls, "layer-0 links"); err != nil {
			return nil, err
		}
		for i := range k {
			lst := ls[i*w : (i+1)*w]
			s := first + i
			if c := int(lst[0]); c > g.m0 {
				return nil, corruptf("node %d layer 0: %d neighbours exceeds the maximum", s, c)
			}
			nb := lst[1 : 1+lst[0]]
			if slices.Contains(nb, noSlot) {
				return nil, corruptf("node %d layer 0: neighbour %d is not a node", s, uint32(noSlot))
			}
			g.setNbrs(uint32(s), 0, nb)
		}
	}
	return poolErr, nil
}

// layer0Memory returns room for c words of layer 0: from the hugetlb pool,
// with the poolMem that owns it, when ro asks for it and the room is final
// (c words hold the whole layer), else on the heap (with transparent huge
// pages advised when final), with the reason when the pool was asked for.
func layer0Memory(c int, final bool, ro ReadOptions) ([]uint32, *poolMem, error) {
	var poolErr error
	if ro.HugeTLB && c > 0 {
		if !final {
			poolErr = errors.New("the index's size is not known before it is read (a reader without a Len method)")
		} else if words, m, err := poolWords(c); err == nil {
			return words, m, nil
		} else {
			poolErr = err
		}
	}
	words := alignedWords(0, c)
	if final {
		adviseHugePages(words)
	}
	return words, nil, poolErr
}

// checkVectors verifies every vector is finite and of unit length (within
// half-precision rounding), as Add stores them. first numbers the first
// vector of vecs in the errors.
func checkVectors(vecs []float32, dim, first int) error {
	for i := 0; i < len(vecs); i += dim {
		var ss float64
		for _, x := range vecs[i : i+dim] {
			f := float64(x)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return corruptf("vector %d: component %v", first+i/dim, x)
			}
			ss += f * f
		}
		if math.Abs(ss-1) > 1e-3 {
			return corruptf("vector %d: squared norm %v, want 1", first+i/dim, ss)
		}
	}
	return nil
}
