package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Result is one neighbour found by a search. Score is the cosine similarity
// (the dot product of unit vectors): higher is closer, 1 is identical.
type Result struct {
	ID    uint32
	Score float32
}

// Filter decides which ids a search may return: true keeps id. A nil Filter
// keeps every id. Filtered-out nodes still guide the search through the
// graph; they are only left out of the results. A Filter must be cheap and
// safe to call from the searching goroutine while the index's read lock is
// held (it must not call back into the index).
type Filter func(id uint32) bool

// nStripes is the number of locks guarding neighbour lists during a
// parallel build. A power of two.
const nStripes = 1 << 12

// HNSW is a Hierarchical Navigable Small World graph (Malkov & Yashunin,
// arXiv:1603.09320) over unit vectors, searched by cosine similarity.
//
// HNSW is safe for concurrent use. Searches share a read lock and run in
// parallel. Add, AddBatch, Delete, Compact and SetOptions take the write
// lock: a search waits for at most the one write in progress (an Add links
// one node; a batch or a Compact links every node it holds, which takes far
// longer). To
// rebuild a large index while serving, build a new one and swap it in.
type HNSW struct {
	mu sync.RWMutex

	dim  int
	opt  Options // defaults filled in
	m    int     // neighbours per node on layers ≥ 1
	m0   int     // neighbours per node on layer 0 (2·m)
	mult float64 // level multiplier mL = 1/ln(M)
	rng  *rand.Rand

	// Per slot. A slot is a node in the graph; a deleted or superseded node
	// keeps its slot (a tombstone) until Compact.
	//
	// Layer 0 is one block of stride words per slot, as in hnswlib's
	// data_level0_memory_: the unit vector (vw words: dim halves, see
	// half.go), then the layer-0 neighbour slots (m0 words, the unused tail
	// filled with noSlot), so that visiting a node touches one run of cache
	// lines, not one in a vector array and another in a link array. The
	// array starts on a 64-byte boundary and stride is padded to a multiple
	// of 16 words when that costs at most an eighth (at dim 64, M 16 it is
	// exactly 64 words, four cache lines).
	l0       []uint32
	l0m      *poolMem // l0's memory when it is on the hugetlb pool, else nil
	stride   int      // words per slot in l0
	vw       int      // words of a block's vector: dim halves, two a word
	ids      []uint32 // the caller's id
	levels   []uint8  // top layer of the node
	dead     []bool   // tombstone
	upperOff []uint32 // offset into upper when levels[slot] > 0
	upper    []uint32 // per layer l ≥ 1 of a node: count, then up to m slots

	slots    map[uint32]uint32 // live id → slot
	idSlots  bool              // every slot s holds id s
	entry    uint32
	maxLevel int // -1 when the graph is empty
	nDead    int

	pool   sync.Pool // *scratch
	stripe [nStripes]sync.Mutex
	epMu   sync.Mutex // entry and maxLevel during a parallel build
}

// scratch is the per-search working memory, pooled so that steady-state
// searches do not allocate.
type scratch struct {
	visited visitedSet
	cands   minHeap
	res     maxHeap
	q       []float32 // the query: normalised, or the node being linked widened
	nbuf    []uint32  // neighbour list copy (parallel build)
	todo    []uint32  // unvisited neighbours of the current node
	sel     []cand    // the new node's neighbours on a layer (insert)
	tmp     []cand    // a layer's candidates, closest first
	lk      []cand    // candidates for a full list (setList, addLink)
	keep    []cand    // a full list re-selected (setList, addLink)
	xbuf    []uint32  // a neighbour list being written
}

// New returns an empty HNSW for vectors of dim dimensions. opts may be nil
// for the defaults; it is validated and copied.
func New(dim int, opts *Options) (*HNSW, error) {
	if dim < 1 || dim > MaxDim {
		return nil, fmt.Errorf("index: dimension %d: want 1..%d", dim, MaxDim)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.WithDefaults()
	g := &HNSW{dim: dim}
	g.init(o)
	return g, nil
}

func (g *HNSW) init(o Options) {
	g.opt = o
	g.m = o.M
	g.m0 = 2 * o.M
	g.mult = 1 / math.Log(float64(o.M))
	g.rng = rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed_50da_11ce))
	g.slots = make(map[uint32]uint32)
	g.maxLevel = -1
	g.vw = (g.dim + 1) / 2
	g.stride = blockStride(g.vw, g.m0)
	g.l0, g.l0m, g.ids, g.levels, g.dead = nil, nil, nil, nil, nil
	g.upperOff, g.upper = nil, nil
	g.entry, g.nDead = 0, 0
	g.idSlots = true
}

// Dim returns the dimension of the vectors.
func (g *HNSW) Dim() int { return g.dim }

// Options returns the options in effect, defaults filled in.
func (g *HNSW) Options() Options {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.opt
}

// SetOptions sets the options that do not shape the graph, EfSearch,
// Workers and MaxTombstoneRatio, to o's (a zero field: its default), so
// that an index built or read earlier is searched, updated, compacted and
// saved with new ones. M, EfConstruction and Seed shaped the graph: o's,
// defaults filled in, must equal the index's, or SetOptions returns an
// error naming each that differs and changes nothing. o may be nil (every
// default).
func (g *HNSW) SetOptions(o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	n := o.WithDefaults()
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []string
	for _, f := range []struct {
		name      string
		got, want int64
	}{
		{"M", int64(n.M), int64(g.opt.M)},
		{"EfConstruction", int64(n.EfConstruction), int64(g.opt.EfConstruction)},
		{"Seed", n.Seed, g.opt.Seed},
	} {
		if f.got != f.want {
			errs = append(errs, fmt.Sprintf("%s = %d: the graph was built with %d", f.name, f.got, f.want))
		}
	}
	if len(errs) > 0 {
		return errors.New("index: set options: " + strings.Join(errs, "; ") + " (a new value needs a new index)")
	}
	g.opt.EfSearch, g.opt.Workers, g.opt.MaxTombstoneRatio = n.EfSearch, n.Workers, n.MaxTombstoneRatio
	return nil
}

// Len returns the number of live (not deleted) vectors.
func (g *HNSW) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.slots)
}

// Contains reports whether id is live in the index.
func (g *HNSW) Contains(id uint32) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.slotOf(id)
	return ok
}

// Vector returns the vector of id as the index holds it: its direction in
// half precision (see half.go), scaled to unit length, so that its dot
// product with a unit query is the score a search gives id.
func (g *HNSW) Vector(id uint32) ([]float32, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok := g.slotOf(id) // not the map: a miss or two at a million ids
	if !ok {
		return nil, false
	}
	v := make([]float32, g.dim)
	widenUnit(v, g.vec(s))
	return v, true
}

// noSlot marks an unused entry of a layer-0 neighbour list. Slots stay
// below math.MaxUint32-1 (roomFor), so it is never a node.
const noSlot = math.MaxUint32

// blockStride is the number of words of a layer-0 block: the vector's vw
// words and m0 links, padded to whole 64-byte cache lines when that adds
// at most an eighth.
func blockStride(vw, m0 int) int {
	w := vw + m0
	if pad := (16 - w%16) % 16; pad*8 <= w {
		w += pad
	}
	return w
}

// alignedWords returns a slice of n zero words and capacity c ≥ n whose
// first element is 64-byte aligned.
func alignedWords(n, c int) []uint32 {
	buf := make([]uint32, c+15)
	off := int((64-uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%64)%64) / 4
	return buf[off : off+n : off+c]
}

// vec returns the stored unit vector of slot s in halves (a view into its
// block).
func (g *HNSW) vec(s uint32) []uint16 {
	o := int(s) * g.stride
	return unsafe.Slice((*uint16)(unsafe.Pointer(&g.l0[o])), g.dim)
}

// links0 returns the layer-0 neighbour area of slot s: m0 words, the
// neighbours first, then noSlot.
func (g *HNSW) links0(s uint32) []uint32 {
	o := int(s)*g.stride + g.vw
	return g.l0[o : o+g.m0 : o+g.m0]
}

// count0 returns the number of neighbours in a layer-0 area.
func count0(lst []uint32) int {
	n := 0
	for n < len(lst) && lst[n] != noSlot {
		n++
	}
	return n
}

// list returns the neighbour list of slot s on layer l ≥ 1, count
// included at index 0.
func (g *HNSW) list(s uint32, l int) []uint32 {
	o := int(g.upperOff[s]) + (l-1)*(g.m+1)
	return g.upper[o : o+g.m+1 : o+g.m+1]
}

// nbrs returns the neighbours of slot s on layer l, aliasing the graph.
func (g *HNSW) nbrs(s uint32, l int) []uint32 {
	if l == 0 {
		lst := g.links0(s)
		return lst[:count0(lst)]
	}
	lst := g.list(s, l)
	return lst[1 : 1+lst[0]]
}

// setNbrs replaces the neighbours of slot s on layer l by xs, which must
// fit (at most m0 on layer 0, m above) and must not alias the list.
func (g *HNSW) setNbrs(s uint32, l int, xs []uint32) {
	if l == 0 {
		lst := g.links0(s)
		n := copy(lst, xs)
		for i := n; i < len(lst); i++ {
			lst[i] = noSlot
		}
		return
	}
	lst := g.list(s, l)
	lst[0] = uint32(copy(lst[1:], xs))
}

// Add inserts vec under id, or, when id is already present with a different
// vector, re-links it: the old node becomes a tombstone and the new vector is
// inserted as a fresh node. vec is normalised to unit length (a copy is
// stored); it must have Dim components, all finite, not all zero.
func (g *HNSW) Add(id uint32, vec []float32) error {
	buf := make([]float32, g.dim)
	if err := normalizeInto(buf, vec, g.dim); err != nil {
		return fmt.Errorf("index: add %d: %w", id, err)
	}
	hv := make([]uint16, g.dim)
	toHalves(hv, buf)
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.slots[id]; ok && sameHalves(g.vec(s), hv) {
		return nil
	}
	if err := g.roomFor(1); err != nil {
		return err
	}
	first := g.appendSlot(id, hv)
	g.link(first, first+1, 1)
	return nil
}

// AddBatch inserts or updates len(ids) vectors, linking them in parallel on
// Options.Workers goroutines. vecs holds the vectors one after another
// (len(ids)·Dim floats). Every vector is checked before any is added, so on
// error the index is unchanged. An id may appear once per batch.
func (g *HNSW) AddBatch(ids []uint32, vecs []float32) error {
	if len(vecs) != len(ids)*g.dim {
		return fmt.Errorf("index: add batch: %d floats for %d ids of dimension %d: want %d", len(vecs), len(ids), g.dim, len(ids)*g.dim)
	}
	norm := make([]float32, g.dim)
	hvs := make([]uint16, len(vecs))
	seen := make(map[uint32]int, len(ids))
	for i, id := range ids {
		if j, dup := seen[id]; dup {
			return fmt.Errorf("index: add batch: ids[%d] = %d repeats ids[%d]", i, id, j)
		}
		seen[id] = i
		o := i * g.dim
		if err := normalizeInto(norm, vecs[o:o+g.dim], g.dim); err != nil {
			return fmt.Errorf("index: add batch: vector %d (id %d): %w", i, id, err)
		}
		toHalves(hvs[o:o+g.dim], norm)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.roomFor(len(ids)); err != nil {
		return err
	}
	g.reserve(len(ids))
	first := uint32(len(g.ids))
	for i, id := range ids {
		v := hvs[i*g.dim : (i+1)*g.dim]
		if s, ok := g.slots[id]; ok && sameHalves(g.vec(s), v) {
			continue
		}
		g.appendSlot(id, v)
	}
	g.link(first, uint32(len(g.ids)), g.opt.Workers)
	return nil
}

// reserve grows the per-slot arrays for n more nodes at once, so that a
// batch does not leave append's spare capacity behind.
func (g *HNSW) reserve(n int) {
	g.growL0(n)
	g.ids = slices.Grow(g.ids, n)
	g.levels = slices.Grow(g.levels, n)
	g.dead = slices.Grow(g.dead, n)
	g.upperOff = slices.Grow(g.upperOff, n)
}

// growL0 makes room in l0 for n more blocks, keeping it 64-byte aligned.
// Searches never run meanwhile (g.mu is held for writing).
func (g *HNSW) growL0(n int) {
	need := len(g.l0) + n*g.stride
	if need <= cap(g.l0) {
		return
	}
	c := max(need, cap(g.l0)+cap(g.l0)/4, 64*g.stride)
	c -= c % g.stride
	nl := alignedWords(len(g.l0), c)
	copy(nl, g.l0)
	g.l0, g.l0m = nl, nil
}

// roomFor checks that n more slots fit in uint32 slot numbers.
func (g *HNSW) roomFor(n int) error {
	if len(g.ids)+n > math.MaxUint32-1 {
		return errors.New("index: full: more than 2³²−2 nodes; Compact or shard")
	}
	return nil
}

// appendSlot allocates a node for id with the unit vector v (in halves),
// draws its level, and makes it the live slot of id (the previous one, if
// any, becomes a tombstone). The node is not linked yet. g.mu must be held.
func (g *HNSW) appendSlot(id uint32, v []uint16) uint32 {
	s := uint32(len(g.ids))
	if old, ok := g.slots[id]; ok {
		g.dead[old] = true
		g.nDead++
	}
	g.slots[id] = s
	g.ids = append(g.ids, id)
	g.idSlots = g.idSlots && id == s
	g.growL0(1)
	g.l0 = g.l0[:len(g.l0)+g.stride]
	copy(g.vec(s), v)
	g.setNbrs(s, 0, nil)
	g.dead = append(g.dead, false)
	lvl := g.randomLevel()
	g.levels = append(g.levels, uint8(lvl))
	if lvl > 0 {
		g.upperOff = append(g.upperOff, uint32(len(g.upper)))
		g.upper = append(g.upper, make([]uint32, lvl*(g.m+1))...)
	} else {
		g.upperOff = append(g.upperOff, 0)
	}
	return s
}

func (g *HNSW) randomLevel() int {
	u := 1 - g.rng.Float64() // (0, 1]
	l := int(-math.Log(u) * g.mult)
	return min(l, maxLevelCap)
}

// Delete removes id, leaving a tombstone that still guides searches but is
// never returned. It reports whether id was present.
func (g *HNSW) Delete(id uint32) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.slots[id]
	if !ok {
		return false
	}
	delete(g.slots, id)
	g.dead[s] = true
	g.nDead++
	return true
}

// NeedsCompact reports whether tombstones (deleted and superseded nodes)
// exceed Options.MaxTombstoneRatio of all nodes. Compaction is explicit:
// the index never rebuilds itself behind the caller's back.
func (g *HNSW) NeedsCompact() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.nDead > 0 && float64(g.nDead) > g.opt.MaxTombstoneRatio*float64(len(g.ids))
}

// Compact rebuilds the graph from the live vectors, dropping every
// tombstone. It holds the write lock for the whole rebuild (about as long
// as AddBatch of Len vectors).
func (g *HNSW) Compact() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.nDead == 0 {
		return
	}
	n := len(g.slots)
	ids := make([]uint32, 0, n)
	vecs := make([]uint16, 0, n*g.dim)
	for s, id := range g.ids {
		if !g.dead[s] {
			ids = append(ids, id)
			vecs = append(vecs, g.vec(uint32(s))...)
		}
	}
	g.init(g.opt)
	g.reserve(len(ids))
	for i, id := range ids {
		g.appendSlot(id, vecs[i*g.dim:(i+1)*g.dim])
	}
	g.link(0, uint32(len(g.ids)), g.opt.Workers)
}

// Stats describes the index.
type Stats struct {
	Len            int     // live vectors
	Nodes          int     // graph nodes, tombstones included
	Tombstones     int     // deleted or superseded nodes
	TombstoneRatio float64 // Tombstones / Nodes
	MaxLevel       int     // top layer, -1 when empty
	Dim, M         int
	// MemoryBytes is the size of the vector and graph arrays (capacity,
	// not length) plus an estimate of the id map: HNSW.Footprint's two
	// parts together.
	MemoryBytes int64
	// PoolBytes is the part of MemoryBytes on the hugetlb pool
	// (ReadOptions.HugeTLB): layer 0's, or 0 when it is on the heap.
	PoolBytes int64
}

// Stats returns a snapshot of the index's size and shape.
func (g *HNSW) Stats() Stats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	st := Stats{
		Len:        len(g.slots),
		Nodes:      len(g.ids),
		Tombstones: g.nDead,
		MaxLevel:   g.maxLevel,
		Dim:        g.dim,
		M:          g.m,
	}
	if st.Nodes > 0 {
		st.TombstoneRatio = float64(st.Tombstones) / float64(st.Nodes)
	}
	vectors, graph := g.memory()
	st.MemoryBytes = vectors + graph
	if g.l0m != nil {
		st.PoolBytes = int64(4 * cap(g.l0))
	}
	return st
}

func (g *HNSW) getScratch() *scratch {
	sc, _ := g.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{q: make([]float32, g.dim)}
	}
	sc.visited.fit(len(g.ids))
	sc.visited.reset()
	return sc
}
