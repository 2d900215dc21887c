// Package coderhnsw adapts github.com/coder/hnsw v0.6.1 to the method set of
// index.HNSW, so that the benchmark can put it beside the project's own
// index. It is a comparison backend, not a default: v0.6.1 stops its search
// as soon as a step fails to improve and bounds its result heap by k instead
// of ef, so its recall on clustered data is low (docs/benchmarks.md).
// A future release can be dropped in here.
//
// It lives in its own internal package so that neither importing index nor
// building the soundalike binary pulls in coder/hnsw.
package coderhnsw

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"sync"

	"github.com/audotics/soundalike/index"
	"github.com/coder/hnsw"
)

// Index wraps a *hnsw.Graph[uint32]. coder/hnsw is not safe for concurrent
// use, so every call takes a mutex: searches are serialised.
type Index struct {
	mu             sync.Mutex
	g              *hnsw.Graph[uint32]
	dim            int
	efSearch       int
	efConstruction int
}

// New returns an empty adapter for vectors of dim dimensions. It uses
// opts.M, opts.EfConstruction (coder/hnsw inserts with its EfSearch, so the
// adapter sets it to EfConstruction while adding), opts.EfSearch and
// opts.Seed; nil means index.DefaultOptions.
func New(dim int, opts *index.Options) (*Index, error) {
	if dim < 1 || dim > index.MaxDim {
		return nil, fmt.Errorf("coder: dimension %d: want 1..%d", dim, index.MaxDim)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := index.DefaultOptions()
	if opts != nil {
		if opts.M != 0 {
			o.M = opts.M
		}
		if opts.EfConstruction != 0 {
			o.EfConstruction = opts.EfConstruction
		}
		if opts.EfSearch != 0 {
			o.EfSearch = opts.EfSearch
		}
		if opts.Seed != 0 {
			o.Seed = opts.Seed
		}
	}
	g := hnsw.NewGraph[uint32]()
	g.M = o.M
	g.Distance = hnsw.CosineDistance
	g.Rng = rand.New(rand.NewSource(o.Seed))
	return &Index{g: g, dim: dim, efSearch: o.EfSearch, efConstruction: o.EfConstruction}, nil
}

// Dim returns the dimension of the vectors.
func (x *Index) Dim() int { return x.dim }

// Len returns the number of vectors.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.g.Len()
}

// Contains reports whether id is in the index.
func (x *Index) Contains(id uint32) bool {
	_, ok := x.Vector(id)
	return ok
}

// Vector returns a copy of the stored vector of id.
func (x *Index) Vector(id uint32) ([]float32, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	v, ok := x.g.Lookup(id)
	return slices.Clone(v), ok
}

func (x *Index) unit(v []float32) ([]float32, error) {
	if len(v) != x.dim {
		return nil, &index.DimensionError{Got: len(v), Want: x.dim}
	}
	var ss float64
	for i, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("component %d is %v: want a finite number", i, f)
		}
		ss += float64(f) * float64(f)
	}
	if ss == 0 {
		return nil, fmt.Errorf("vector is all zeros: cosine similarity is undefined")
	}
	inv := 1 / math.Sqrt(ss)
	u := make([]float32, len(v))
	for i, f := range v {
		u[i] = float32(float64(f) * inv)
	}
	return u, nil
}

// Add inserts or replaces the vector of id.
func (x *Index) Add(id uint32, vec []float32) error {
	u, err := x.unit(vec)
	if err != nil {
		return fmt.Errorf("coder: add %d: %w", id, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.g.EfSearch = x.efConstruction
	x.g.Add(hnsw.MakeNode(id, u))
	return nil
}

// AddBatch adds len(ids) vectors stored one after another in vecs, one at a
// time (coder/hnsw cannot build in parallel).
func (x *Index) AddBatch(ids []uint32, vecs []float32) error {
	if len(vecs) != len(ids)*x.dim {
		return fmt.Errorf("coder: add batch: %d floats for %d ids of dimension %d", len(vecs), len(ids), x.dim)
	}
	nodes := make([]hnsw.Node[uint32], len(ids))
	for i, id := range ids {
		u, err := x.unit(vecs[i*x.dim : (i+1)*x.dim])
		if err != nil {
			return fmt.Errorf("coder: add batch: vector %d (id %d): %w", i, id, err)
		}
		nodes[i] = hnsw.MakeNode(id, u)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.g.EfSearch = x.efConstruction
	x.g.Add(nodes...)
	return nil
}

// Delete removes id and reports whether it was present.
func (x *Index) Delete(id uint32) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.g.Delete(id)
}

// Search returns up to k neighbours of q that f keeps.
func (x *Index) Search(q []float32, k int, f index.Filter) ([]index.Result, error) {
	return x.SearchInto(nil, q, k, f, 0)
}

// SearchInto is Search appending to dst[:0] with a beam of ef (0 = the
// EfSearch given to New). coder/hnsw has no filter, so a filtered search
// asks for more results and drops those f rejects: it may return fewer
// than k.
func (x *Index) SearchInto(dst []index.Result, q []float32, k int, f index.Filter, ef int) ([]index.Result, error) {
	dst = dst[:0]
	if k < 0 {
		return dst, fmt.Errorf("coder: search: k = %d: want k ≥ 0", k)
	}
	u, err := x.unit(q)
	if err != nil {
		return dst, fmt.Errorf("coder: search: %w", err)
	}
	if k == 0 {
		return dst, nil
	}
	if ef == 0 {
		ef = x.efSearch
	}
	want := k
	if f != nil {
		want = 2 * k
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.g.Len() == 0 {
		return dst, nil
	}
	x.g.EfSearch = max(ef, k)
	for _, n := range x.g.Search(u, want) {
		if f != nil && !f(n.Key) {
			continue
		}
		var s float32
		for i, v := range n.Value {
			s += v * u[i]
		}
		dst = append(dst, index.Result{ID: n.Key, Score: s})
	}
	index.SortResults(dst)
	if len(dst) > k {
		dst = dst[:k]
	}
	return dst, nil
}
