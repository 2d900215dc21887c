package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// nearestHalf is the reference rounding: a binary search over the
// non-negative halves (ordered as their bit patterns), the nearest value
// winning and a tie going to the even pattern. f must be finite.
func nearestHalf(f float32) uint16 {
	var sign uint16
	if math.Signbit(float64(f)) {
		sign, f = 0x8000, -f
	}
	const maxFinite = 0x7bff // 65504
	if top := float64(fromHalf(maxFinite)); float64(f) >= top+(top-float64(fromHalf(maxFinite-1)))/2 {
		// At or past the midpoint to the next exponent's first value,
		// 65520: infinity, as IEEE rounding gives.
		return sign | 0x7c00
	}
	lo, hi := uint16(0), uint16(maxFinite) // fromHalf(lo) ≤ f < fromHalf(hi), or f past hi
	if float64(f) >= float64(fromHalf(hi)) {
		return sign | hi
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fromHalf(mid) <= f {
			lo = mid
		} else {
			hi = mid
		}
	}
	dl, dh := float64(f)-float64(fromHalf(lo)), float64(fromHalf(hi))-float64(f)
	switch {
	case dl < dh:
		return sign | lo
	case dh < dl:
		return sign | hi
	case lo&1 == 0:
		return sign | lo
	}
	return sign | hi
}

// halfInputs returns float32s that exercise rounding: every half, every
// midpoint between neighbouring halves and the float32s either side of it,
// values past the largest half and below the smallest, and random ones.
func halfInputs() []float32 {
	var fs []float32
	for h := range uint16(0x7c00) { // non-negative finite halves
		a := fromHalf(h)
		b := fromHalf(h + 1) // 0x7c00 is infinity
		mid := float32((float64(a) + float64(b)) / 2)
		if h == 0x7bff {
			mid = 65520
		}
		fs = append(fs, a, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9))
	}
	fs = append(fs, 1e-30, math.SmallestNonzeroFloat32, 1e9, math.MaxFloat32)
	r := rand.New(rand.NewPCG(7, 7))
	for range 100_000 {
		fs = append(fs, float32(r.NormFloat64()), float32(r.NormFloat64()*1e-5), math.Float32frombits(r.Uint32()&0x7fffffff))
	}
	n := len(fs)
	for i := range n {
		fs = append(fs, -fs[i])
	}
	return fs
}

func TestToHalfRoundsToNearestEven(t *testing.T) {
	for _, f := range halfInputs() {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			continue
		}
		if got, want := toHalf(f), nearestHalf(f); got != want {
			t.Fatalf("toHalf(%g = %#x) = %#04x (%g), want %#04x (%g)", f, math.Float32bits(f), got, fromHalf(got), want, fromHalf(want))
		}
	}
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{1.0 / (1 << 24), 0x0001}, // the smallest subnormal
	} {
		if got := toHalf(c.f); got != c.want {
			t.Errorf("toHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if h := toHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("toHalf(NaN) = %#04x, want a NaN", h)
	}
}

// Every half converts to a float32 and back to itself.
func TestHalfRoundTrip(t *testing.T) {
	for h := range 1 << 16 {
		f := fromHalf(uint16(h))
		if math.IsNaN(float64(f)) {
			if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
				t.Errorf("fromHalf(%#04x) = NaN, not a NaN pattern", h)
			}
			continue
		}
		if got := toHalf(f); got != uint16(h) {
			t.Errorf("toHalf(fromHalf(%#04x) = %g) = %#04x", h, f, got)
		}
	}
}

// fromHalf widens every half as VCVTPH2PS does (through dotHalf's
// one-component path: 1·h added to zero, so −0 reads as +0).
func TestFromHalfMatchesF16C(t *testing.T) {
	if !hasKernels {
		t.Skip("no F16C kernel on this CPU")
	}
	one := []float32{1}
	for h := range 1 << 16 {
		v := []uint16{uint16(h)}
		got, want := fromHalf(uint16(h)), dotHalf(one, v)
		if math.IsNaN(float64(want)) {
			if !math.IsNaN(float64(got)) {
				t.Errorf("fromHalf(%#04x) = %g, want NaN", h, got)
			}
			continue
		}
		if got != want {
			t.Errorf("fromHalf(%#04x) = %g, F16C %g", h, got, want)
		}
	}
	if got := fromHalf(0x8000); !math.Signbit(float64(got)) || got != 0 {
		t.Errorf("fromHalf(0x8000) = %g, want −0", got)
	}
}

// The F16C kernel rounds as toHalf does.
func TestToHalvesMatchesGo(t *testing.T) {
	if !hasKernels {
		t.Skip("no F16C kernel on this CPU")
	}
	fs := halfInputs()
	fs = append(fs, float32(math.NaN()), float32(math.Inf(1)))
	got, want := make([]uint16, len(fs)), make([]uint16, len(fs))
	toHalves(got, fs)
	toHalvesGo(want, fs)
	for i := range fs {
		if got[i] != want[i] {
			t.Fatalf("toHalves(%g = %#x) = %#04x, toHalvesGo %#04x", fs[i], math.Float32bits(fs[i]), got[i], want[i])
		}
	}
	// Lengths that leave a scalar tail after the 8-lane loop.
	for n := 1; n < 20; n++ {
		g := make([]uint16, n+1)
		toHalves(g, fs[:n])
		for i := range n {
			if g[i] != want[i] {
				t.Errorf("toHalves(n=%d)[%d] = %#04x, want %#04x", n, i, g[i], want[i])
			}
		}
		if g[n] != 0 {
			t.Errorf("toHalves(n=%d) wrote past n", n)
		}
	}
}

// dotHalf and dotHalves, kernel and portable, against the float64 sum of
// the widened halves.
func TestDotHalfMatchesExact(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{1, 3, 7, 8, 15, 16, 31, 33, 63, 64, 65, 100, 128, 257, 1000} {
		q := make([]float32, n)
		a, b := make([]uint16, n), make([]uint16, n)
		var exactQ, exactH, mag float64
		for i := range n {
			q[i] = float32(r.NormFloat64())
			a[i] = toHalf(float32(r.NormFloat64()))
			b[i] = toHalf(float32(r.NormFloat64()))
			fa, fb := float64(fromHalf(a[i])), float64(fromHalf(b[i]))
			exactQ += float64(q[i]) * fa
			exactH += fa * fb
			mag += math.Abs(float64(q[i])*fa) + math.Abs(fa*fb)
		}
		tol := 1e-5 * mag
		dn, vn := dotHalfNorm(q, a)
		dg, vg := dotHalfNormGo(q, a)
		var exactV float64
		for i := range n {
			fa := float64(fromHalf(a[i]))
			exactV += fa * fa
		}
		for _, c := range []struct {
			name       string
			got, exact float32
		}{
			{"dotHalfNorm dot", dn, float32(exactQ)},
			{"dotHalfNormGo dot", dg, float32(exactQ)},
			{"dotHalfNorm vv", vn, float32(exactV)},
			{"dotHalfNormGo vv", vg, float32(exactV)},
			{"dotHalf", dotHalf(q, a), float32(exactQ)},
			{"dotHalfGo", dotHalfGo(q, a), float32(exactQ)},
			{"dotHalves", dotHalves(a, b), float32(exactH)},
			{"dotHalvesGo", dotHalvesGo(a, b), float32(exactH)},
		} {
			if math.Abs(float64(c.got-c.exact)) > tol {
				t.Errorf("%s(n=%d) = %v, want %v ± %v", c.name, n, c.got, c.exact, tol)
			}
		}
	}
}

// Stored is what Vector returns after Add.
func TestStoredIsVector(t *testing.T) {
	const dim = 24
	g, err := New(dim, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := clustered(50, dim, 1, 9)
	for i := range 50 {
		v := data[i*dim : (i+1)*dim]
		for j := range v {
			v[j] *= 3 // not unit length: Stored normalises as Add does
		}
		if err := g.Add(uint32(i), v); err != nil {
			t.Fatal(err)
		}
		got, err := Stored(v)
		want, _ := g.Vector(uint32(i))
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Stored(vector %d) = %v, %v; Vector gives %v", i, got, err, want)
		}
	}
	if _, err := Stored(make([]float32, dim)); err == nil {
		t.Errorf("Stored(zero vector) = nil error")
	}
}

// A search's scores are the cosines of the query and the stored vectors,
// not their dot products (a stored vector's length is 1 only up to its
// rounding), in order.
func TestSearchScoresAreCosines(t *testing.T) {
	const n, dim = 3000, 32
	data := clustered(n, dim, 4, 5)
	g := mustHNSW(t, dim, &Options{Workers: 2}, data)
	qs := clustered(20, dim, 4, 6)
	for qi := range 20 {
		q := qs[qi*dim : (qi+1)*dim]
		rs, err := g.Search(q, 10, nil)
		if err != nil || len(rs) != 10 {
			t.Fatalf("Search = %v, %v", rs, err)
		}
		var qq float64
		for _, x := range q {
			qq += float64(x) * float64(x)
		}
		for i, r := range rs {
			v, _ := g.Vector(r.ID)
			var d, vv float64
			for j := range v {
				d += float64(q[j]) * float64(v[j])
				vv += float64(v[j]) * float64(v[j])
			}
			want := d / math.Sqrt(qq*vv)
			if math.Abs(float64(r.Score)-want) > 2e-6 {
				t.Errorf("query %d result %d (id %d): score %v, want the cosine %v", qi, i, r.ID, r.Score, want)
			}
			if i > 0 && r.Score > rs[i-1].Score {
				t.Errorf("query %d: results out of order: %v", qi, rs)
			}
		}
	}
}

// Adding an id's vector again, or one that rounds to the same halves
// (a zero of the other sign), changes nothing.
func TestAddSameHalvesKeepsNode(t *testing.T) {
	g, err := New(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]float32{{1, 0}, {1, float32(math.Copysign(0, -1))}, {1, 1e-9}, {1, -1e-9}} {
		if err := g.Add(1, v); err != nil {
			t.Fatal(err)
		}
		if err := g.AddBatch([]uint32{1}, v); err != nil {
			t.Fatal(err)
		}
	}
	if st := g.Stats(); st.Tombstones != 0 || st.Len != 1 {
		t.Errorf("after re-adding equal vectors: %+v, want one node and no tombstone", st)
	}
	if err := g.Add(1, []float32{1, 0.01}); err != nil {
		t.Fatal(err)
	}
	if st := g.Stats(); st.Tombstones != 1 {
		t.Errorf("after a different vector: %d tombstones, want 1", st.Tombstones)
	}
}

// The results for k are the first k of those for a larger k with the same
// beam: the beam is ranked by cosine before it is cut.
func TestSearchPrefixOfLarger(t *testing.T) {
	const n, dim = 3000, 16
	data := clustered(n, dim, 7, 8)
	g := mustHNSW(t, dim, &Options{Workers: 2}, data)
	qs := clustered(200, dim, 7, 9)
	for qi := range 200 {
		q := qs[qi*dim : (qi+1)*dim]
		big, err := g.SearchInto(nil, q, 40, nil, 80)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{1, 5, 20} {
			small, _ := g.SearchInto(nil, q, k, nil, 80)
			if !slices.Equal(small, big[:k]) {
				t.Fatalf("query %d: k %d gives %v, the first %d of k 40 are %v", qi, k, small, k, big[:k])
			}
		}
	}
}

// SearchFrom starts layer 0 at the node it is given: from a stored
// vector's own node a beam of one finds that node, which a descent from
// the entry point does not always reach; its results match the exact scan
// as SearchInto's do; a node that is not live (unknown, deleted) gives
// SearchInto's results.
func TestSearchFrom(t *testing.T) {
	const n, dim, k = 3000, 16, 20
	data := clustered(n, dim, 7, 8)
	g := mustHNSW(t, dim, &Options{Workers: 2}, data)
	x := mustFlat(t, dim, data)
	intoMissed := 0
	var fromRecall, intoRecall float64
	for id := range uint32(n) {
		q, _ := g.Vector(id)
		one, err := g.SearchFrom(nil, q, id, 1, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(one) != 1 || one[0].ID != id {
			t.Fatalf("SearchFrom(node %d's vector, from %d, k 1, ef 1) = %v, want node %d", id, id, one, id)
		}
		if into, _ := g.SearchInto(nil, q, 1, nil, 1); len(into) != 1 || into[0].ID != id {
			intoMissed++
		}
		want, _ := x.Search(q, k, nil)
		got, err := g.SearchFrom(nil, q, id, k, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		fromRecall += recall(got, want)
		into, _ := g.SearchInto(nil, q, k, nil, 0)
		intoRecall += recall(into, want)
	}
	fromRecall /= n
	intoRecall /= n
	t.Logf("ef 1: SearchInto missed %d of %d nodes' own; recall@%d from the node %.4f, from the entry point %.4f", intoMissed, n, k, fromRecall, intoRecall)
	if fromRecall < 0.99 || fromRecall < intoRecall-0.002 {
		t.Errorf("recall@%d of SearchFrom = %.4f, want ≥ 0.99 and no less than SearchInto's %.4f", k, fromRecall, intoRecall)
	}

	q, _ := g.Vector(5)
	odd := func(id uint32) bool { return id%2 == 1 }
	got, err := g.SearchFrom(nil, q, 4, k, odd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != k || slices.ContainsFunc(got, func(r Result) bool { return !odd(r.ID) }) {
		t.Errorf("SearchFrom with a filter of odd ids from node 4 = %v, want %d odd ids", got, k)
	}
	if !g.Delete(5) {
		t.Fatal("Delete(5) = false")
	}
	for _, from := range []uint32{5, n + 7} { // deleted, unknown
		got, err := g.SearchFrom(nil, q, from, k, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := g.SearchInto(nil, q, k, nil, 0); !slices.Equal(got, want) {
			t.Errorf("SearchFrom from %d (not live) = %v, want SearchInto's %v", from, got, want)
		}
	}
}
