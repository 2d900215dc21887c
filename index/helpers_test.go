package index

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// clustered returns n unit vectors of dim dimensions around 100 Gaussian
// centres (components N(0,1), each point centre + 0.7·N(0,1)), the
// benchmark's generator, seeded. centreSeed fixes the centres so that
// queries can come from the same clusters with another seed.
func clustered(n, dim int, centreSeed, seed uint64) []float32 {
	cr := rand.New(rand.NewPCG(centreSeed, 1))
	centres := make([]float64, 100*dim)
	for i := range centres {
		centres[i] = cr.NormFloat64()
	}
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]float32, n*dim)
	for i := range n {
		c := centres[r.IntN(100)*dim:][:dim]
		v := out[i*dim : (i+1)*dim]
		var ss float64
		for j := range v {
			x := c[j] + 0.7*r.NormFloat64()
			v[j] = float32(x)
			ss += x * x
		}
		inv := 1 / math.Sqrt(ss)
		for j := range v {
			v[j] = float32(float64(v[j]) * inv)
		}
	}
	return out
}

func seqIDs(n int) []uint32 {
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(i)
	}
	return ids
}

func mustHNSW(t testing.TB, dim int, opts *Options, vecs []float32) *HNSW {
	t.Helper()
	g, err := New(dim, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddBatch(seqIDs(len(vecs)/dim), vecs); err != nil {
		t.Fatal(err)
	}
	return g
}

func mustFlat(t testing.TB, dim int, vecs []float32) *Flat {
	t.Helper()
	x, err := NewFlat(dim)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.AddBatch(seqIDs(len(vecs)/dim), vecs); err != nil {
		t.Fatal(err)
	}
	return x
}

// recall is |got ∩ want| / |want|.
func recall(got, want []Result) float64 {
	if len(want) == 0 {
		return 1
	}
	hit := 0
	for _, w := range want {
		if slices.ContainsFunc(got, func(r Result) bool { return r.ID == w.ID }) {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}

// small shrinks a test's size under the race detector (ten times slower),
// keeping the property it checks.
func small(n int) int {
	if raceEnabled {
		return n / 3
	}
	return n
}

// nearVector reports whether every component of v is within what an
// HNSW's Vector may differ from the unit vector want it was given: the
// rounding to a half (2⁻¹¹ relative) and the scaling back to unit length
// after it (at most as much again). A Flat's is exact.
func nearVector(v, want []float32) bool {
	if len(v) != len(want) {
		return false
	}
	for i := range v {
		if math.Abs(float64(v[i]-want[i])) > max(math.Abs(float64(want[i]))/1024, 1.0/(1<<24)) {
			return false
		}
	}
	return true
}

// reread returns g written by WriteTo and read back by Read.
func reread(t testing.TB, g *HNSW) *HNSW {
	t.Helper()
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	h, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
