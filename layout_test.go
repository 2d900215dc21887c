package soundalike

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike/index"
)

// clustered returns an index of n unit vectors of dim 64 around clusters
// random centres (node i in cluster i % clusters), and the node ids.
func clustered(t testing.TB, n, clusters int, spread float64) (*index.HNSW, []uint32) {
	t.Helper()
	const dim = 64
	rng := rand.New(rand.NewPCG(1, 2))
	centres := make([][]float64, clusters)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for k := range dim {
			centres[c][k] = rng.NormFloat64()
		}
	}
	nodes := make([]uint32, n)
	vecs := make([]float32, n*dim)
	for i := range n {
		nodes[i] = uint32(i)
		v := vecs[i*dim : (i+1)*dim]
		var norm float64
		for k := range dim {
			x := centres[i%clusters][k] + spread*rng.NormFloat64()
			v[k] = float32(x)
			norm += x * x
		}
		for k := range v {
			v[k] /= float32(math.Sqrt(norm))
		}
	}
	g, err := index.New(dim, &index.Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddBatch(nodes, vecs); err != nil {
		t.Fatal(err)
	}
	return g, nodes
}

// purity is the mean fraction of a point's 10 nearest points on the map
// that share its cluster, over the first 300 points of l.
func purity(l *layout, clusters int) float64 {
	var sum float64
	m := min(300, len(l.nodes))
	type nb struct {
		d float32
		i int
	}
	for i := range m {
		ns := make([]nb, 0, len(l.nodes))
		for j := range l.nodes {
			if j != i {
				dx, dy := l.xy[2*i]-l.xy[2*j], l.xy[2*i+1]-l.xy[2*j+1]
				ns = append(ns, nb{dx*dx + dy*dy, j})
			}
		}
		slices.SortFunc(ns, func(a, b nb) int {
			if a.d < b.d {
				return -1
			}
			if a.d > b.d {
				return 1
			}
			return 0
		})
		same := 0
		for _, n := range ns[:10] {
			if int(l.nodes[n.i])%clusters == int(l.nodes[i])%clusters {
				same++
			}
		}
		sum += float64(same) / 10
	}
	return sum / float64(m)
}

// TestLayout: every node is placed once, inside [-1, 1]², neighbours on
// the map share their cluster far more than PCA's do, and the result is
// the same on every run.
func TestLayout(t *testing.T) {
	const clusters = 12
	const sample = 400
	n := sample + 600 // most tracks are placed by their neighbours
	g, nodes := clustered(t, n, clusters, 0.9)
	l, err := computeLayout(context.Background(), g, nodes, sample)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(l.nodes)
	slices.Sort(got)
	if !slices.Equal(got, nodes) {
		t.Fatalf("the layout's nodes are not the index's: %d of %d", len(got), len(nodes))
	}
	for i, v := range l.xy {
		if !(v >= -1 && v <= 1) {
			t.Fatalf("coordinate %d of node %d is %v, outside [-1, 1]", i%2, l.nodes[i/2], v)
		}
	}
	// The map's neighbours against PCA's (t-SNE's starting point).
	pca := &layout{nodes: l.nodes, xy: make([]float32, len(l.xy))}
	x := make([]float32, 0, n*64)
	for _, node := range l.nodes {
		v, _ := g.Vector(node)
		x = append(x, v...)
	}
	pcaInit(x, 64, pca.xy, rand.New(rand.NewPCG(5, 6)))
	pt, pp := purity(l, clusters), purity(pca, clusters)
	t.Logf("map neighbours in the same cluster: t-SNE layout %.3f, PCA %.3f, chance %.3f", pt, pp, 1.0/clusters)
	if pt < 0.9 || pt < pp+0.1 {
		t.Errorf("map neighbours in the same cluster: %.3f (PCA %.3f); want at least 0.9 and 0.1 over PCA", pt, pp)
	}
	// The placed tracks (after the sample) sit among their cluster too.
	placed := &layout{nodes: append(slices.Clone(l.nodes[sample:]), l.nodes[:sample]...), xy: append(slices.Clone(l.xy[2*sample:]), l.xy[:2*sample]...)}
	if p := purity(placed, clusters); p < 0.85 {
		t.Errorf("placed tracks: map neighbours in the same cluster %.3f, want at least 0.85", p)
	}
	again, err := computeLayout(context.Background(), g, nodes, sample)
	if err != nil || !slices.Equal(again.xy, l.xy) || !slices.Equal(again.nodes, l.nodes) {
		t.Errorf("a second layout of the same index differs (%v)", err)
	}
}

func TestLayoutRoundTrip(t *testing.T) {
	l := &layout{nodes: []uint32{4, 1, 9}, xy: []float32{0.5, -0.25, 1, -1, 0, 0.125}, sample: 2}
	var buf bytes.Buffer
	if err := l.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	stored := buf.Bytes()
	got, err := readLayout(bytes.NewReader(stored))
	if err != nil || !slices.Equal(got.nodes, l.nodes) || !slices.Equal(got.xy, l.xy) || got.sample != 2 {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, l)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", stored[:len(stored)-3], "point 2 of 3"},
		{"no header", stored[:10], "header"},
		{"another file", append([]byte("SALAYOUX"), stored[8:]...), "not a layout"},
		{"a later version", append(append([]byte("SALAYOUT"), 2, 0, 0, 0), stored[12:]...), "version 2"},
		{"a sample beyond the points", append(append([]byte(nil), stored[:16]...), append([]byte{4, 0, 0, 0}, stored[20:]...)...), "a sample of 4 points among 3"},
	} {
		if _, err := readLayout(bytes.NewReader(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	// A layout of another version is as good as none: a reindex replaces it.
	if _, err := readLayout(bytes.NewReader(append(append([]byte("SALAYOUT"), 2, 0, 0, 0), stored[12:]...))); !errors.Is(err, ErrNoLayout) {
		t.Errorf("a later version: %v, want ErrNoLayout", err)
	}
}

// BenchmarkLayoutTSNE is the t-SNE of the sample, the fixed part of every
// layout's cost.
func BenchmarkLayoutTSNE(b *testing.B) {
	g, nodes := clustered(b, layoutSample, 12, 0.9)
	for b.Loop() {
		if _, err := computeLayout(context.Background(), g, nodes, layoutSample); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLayoutPlace is the cost per track placed by its sampled
// neighbours: a layout of n tracks costs BenchmarkLayoutTSNE plus
// (n − layoutSample) of these.
func BenchmarkLayoutPlace(b *testing.B) {
	const extra = 20000
	g, nodes := clustered(b, layoutSample+extra, 12, 0.9)
	l := &layout{nodes: nodes, xy: make([]float32, 2*len(nodes)), sample: layoutSample}
	sample := make([]float32, 0, layoutSample*64)
	for _, n := range nodes[:layoutSample] {
		v, _ := g.Vector(n)
		sample = append(sample, v...)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := l.place(context.Background(), g, sample, layoutSample); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*extra), "ns/track")
}
