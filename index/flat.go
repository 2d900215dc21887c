package index

import (
	"fmt"
	"slices"
	"sync"

	"github.com/audotics/soundalike/internal/memsize"
)

// Flat is an exact index: a search scores every vector. It has the same
// methods as HNSW and is the ground truth in tests and benchmarks. It is also
// the right choice for small catalogues; see the package documentation for
// where it stops being one. Flat is safe for concurrent use: searches share
// a read lock, Add, AddBatch and Delete take the write lock.
type Flat struct {
	mu    sync.RWMutex
	dim   int
	vecs  []float32 // slot*dim, unit vectors
	ids   []uint32
	slots map[uint32]uint32
	pool  sync.Pool // *flatScratch
}

type flatScratch struct {
	q   []float32
	res resultHeap
}

// NewFlat returns an empty exact index for vectors of dim dimensions.
func NewFlat(dim int) (*Flat, error) {
	if dim < 1 || dim > MaxDim {
		return nil, fmt.Errorf("index: dimension %d: want 1..%d", dim, MaxDim)
	}
	return &Flat{dim: dim, slots: make(map[uint32]uint32)}, nil
}

// Dim returns the dimension of the vectors.
func (x *Flat) Dim() int { return x.dim }

// Len returns the number of vectors.
func (x *Flat) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

// Contains reports whether id is in the index.
func (x *Flat) Contains(id uint32) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.slots[id]
	return ok
}

// Vector returns a copy of the stored (unit-length) vector of id.
func (x *Flat) Vector(id uint32) ([]float32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.slots[id]
	if !ok {
		return nil, false
	}
	return slices.Clone(x.vecs[int(s)*x.dim : int(s+1)*x.dim]), true
}

// Add inserts vec under id or replaces the vector of id. vec is normalised
// like HNSW.Add.
func (x *Flat) Add(id uint32, vec []float32) error {
	buf := make([]float32, x.dim)
	if err := normalizeInto(buf, vec, x.dim); err != nil {
		return fmt.Errorf("index: add %d: %w", id, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.put(id, buf)
	return nil
}

func (x *Flat) put(id uint32, v []float32) {
	if s, ok := x.slots[id]; ok {
		copy(x.vecs[int(s)*x.dim:], v)
		return
	}
	x.slots[id] = uint32(len(x.ids))
	x.ids = append(x.ids, id)
	x.vecs = append(x.vecs, v...)
}

// AddBatch inserts or replaces len(ids) vectors stored one after another in
// vecs. Every vector is checked first; on error the index is unchanged.
func (x *Flat) AddBatch(ids []uint32, vecs []float32) error {
	if len(vecs) != len(ids)*x.dim {
		return fmt.Errorf("index: add batch: %d floats for %d ids of dimension %d: want %d", len(vecs), len(ids), x.dim, len(ids)*x.dim)
	}
	norm := make([]float32, len(vecs))
	seen := make(map[uint32]int, len(ids))
	for i, id := range ids {
		if j, dup := seen[id]; dup {
			return fmt.Errorf("index: add batch: ids[%d] = %d repeats ids[%d]", i, id, j)
		}
		seen[id] = i
		o := i * x.dim
		if err := normalizeInto(norm[o:o+x.dim], vecs[o:o+x.dim], x.dim); err != nil {
			return fmt.Errorf("index: add batch: vector %d (id %d): %w", i, id, err)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, id := range ids {
		x.put(id, norm[i*x.dim:(i+1)*x.dim])
	}
	return nil
}

// Delete removes id (the last vector moves into its place) and reports
// whether it was present.
func (x *Flat) Delete(id uint32) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.slots[id]
	if !ok {
		return false
	}
	last := uint32(len(x.ids) - 1)
	if s != last {
		lid := x.ids[last]
		x.ids[s] = lid
		copy(x.vecs[int(s)*x.dim:int(s+1)*x.dim], x.vecs[int(last)*x.dim:])
		x.slots[lid] = s
	}
	x.ids = x.ids[:last]
	x.vecs = x.vecs[:int(last)*x.dim]
	delete(x.slots, id)
	return true
}

// Search returns the k vectors most similar to q that f keeps, exactly.
func (x *Flat) Search(q []float32, k int, f Filter) ([]Result, error) {
	return x.SearchInto(nil, q, k, f, 0)
}

// SearchInto is Search appending to dst[:0]. ef is checked as HNSW checks
// it (0 or 1..MaxEf) and otherwise ignored (Flat is exact): it exists so
// that Flat and HNSW have the same method set and refuse the same
// arguments.
func (x *Flat) SearchInto(dst []Result, q []float32, k int, f Filter, ef int) ([]Result, error) {
	dst = dst[:0]
	if err := checkSearch(k, ef); err != nil {
		return dst, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	sc, _ := x.pool.Get().(*flatScratch)
	if sc == nil {
		sc = &flatScratch{q: make([]float32, x.dim)}
	}
	defer x.pool.Put(sc)
	if err := normalizeInto(sc.q, q, x.dim); err != nil {
		return dst, fmt.Errorf("index: search: %w", err)
	}
	if k == 0 {
		return dst, nil
	}
	h := sc.res[:0]
	for s, id := range x.ids {
		o := s * x.dim
		r := Result{ID: id, Score: dot(sc.q, x.vecs[o:o+x.dim:o+x.dim])}
		if len(h) == k && compareResults(r, h[0]) >= 0 {
			continue // not better than the worst kept
		}
		if f != nil && !f(id) {
			continue
		}
		if len(h) == k {
			h.pop()
		}
		h.push(r)
	}
	sc.res = h
	dst = append(dst, h...)
	SortResults(dst)
	return dst, nil
}

// Stats describes the index. Flat has no graph and no tombstones: Len,
// Nodes, Dim and MemoryBytes are set, MaxLevel is -1 (as for an empty
// graph), and the rest are zero.
func (x *Flat) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return Stats{
		Len:         len(x.ids),
		Nodes:       len(x.ids),
		MaxLevel:    -1,
		Dim:         x.dim,
		MemoryBytes: int64(4*cap(x.vecs)+4*cap(x.ids)) + memsize.Map(len(x.ids), 4+4),
	}
}

// resultHeap keeps the worst of the kept results on top (by compareResults:
// lowest score, then highest id).
type resultHeap []Result

func (h *resultHeap) push(r Result) {
	*h = append(*h, r)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if compareResults(s[p], s[i]) >= 0 {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *resultHeap) pop() Result {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && compareResults(s[r], s[l]) > 0 {
			m = r
		}
		if compareResults(s[i], s[m]) >= 0 {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
