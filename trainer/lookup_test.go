package trainer

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refNet is the network with its tables inside the graph, as gorgonia
// differentiates them by itself: ByIndices lookups, the weighted sum over
// slots, and gorgonia's dense AdamSolver on the tables. It is the
// reference the plain-Go table path must reproduce.
type refNet struct {
	*net
	tables []*G.Node
	idx    [][]int
	wt     [][]float32   // per table, (slots·rows, RowWidth)
	solver *G.AdamSolver // the tables'
	grads  []G.ValueGrad
	layers gorgoniaAdam
}

func newRefNet(batch, width int, tables []tableInput, cfg *Config, rng *rand.Rand) (*refNet, error) {
	n := newNetInput(batch, width, cfg.HiddenLayers, cfg.EmbeddingSize, cfg)
	ref := &refNet{net: n}
	rows := 2 * batch
	var means G.Nodes
	for _, t := range tables {
		rw := t.RowWidth()
		tv := tensor.New(tensor.WithShape(t.Rows(), rw), tensor.Of(tensor.Float32), tensor.WithBacking(append([]float32(nil), t.W...)))
		table := G.NewMatrix(n.g, G.Float32, G.WithShape(t.Rows(), rw), G.WithName("table_"+t.Name), G.WithValue(tv))
		iv := tensor.New(tensor.WithShape(t.Slots*rows), tensor.Of(tensor.Int))
		idx := G.NewVector(n.g, tensor.Int, G.WithShape(t.Slots*rows), G.WithName("idx_"+t.Name), G.WithValue(iv))
		wv := tensor.New(tensor.WithShape(t.Slots*rows, rw), tensor.Of(tensor.Float32))
		wt := G.NewMatrix(n.g, G.Float32, G.WithShape(t.Slots*rows, rw), G.WithName("wt_"+t.Name), G.WithValue(wv))
		e := G.Must(G.ByIndices(table, idx, 0))
		e = G.Must(G.HadamardProd(e, wt))
		e = G.Must(G.Reshape(e, tensor.Shape{t.Slots, rows * rw}))
		e = G.Must(G.Sum(e, 0))
		e = G.Must(G.Reshape(e, tensor.Shape{rows, rw}))
		ref.tables = append(ref.tables, table)
		ref.idx = append(ref.idx, iv.Data().([]int))
		ref.wt = append(ref.wt, wv.Data().([]float32))
		means = append(means, e)
	}
	if err := n.build(tables, means, ref.tables, cfg, nil, rng); err != nil {
		return nil, err
	}
	ref.solver = G.NewAdamSolver(G.WithLearnRate(cfg.LearningRate * cfg.TableRateScale))
	ref.grads = G.NodesToValueGrads(ref.tables)
	ref.layers = newGorgoniaAdam(n, cfg)
	return ref, nil
}

// set gives graph row r of table ti the rows of its slots (−1: absent):
// the reference's mean over the present rows, written as gorgonia's index
// and weight inputs, independently of the plain-Go lookup's own set.
func (ref *refNet) set(ti, r int, rows []int) {
	present := 0
	for _, row := range rows {
		if row >= 0 {
			present++
		}
	}
	d := len(ref.wt[ti]) / len(ref.idx[ti])
	nrows := len(ref.idx[ti]) / len(rows)
	for s, row := range rows {
		k := s*nrows + r
		w := float32(0)
		ref.idx[ti][k] = 0
		if row >= 0 {
			ref.idx[ti][k], w = row, 1/float32(present)
		}
		for j := range d {
			ref.wt[ti][k*d+j] = w
		}
	}
}

func (ref *refNet) step() (float32, error) {
	l, err := ref.layers.step(ref.net)
	if err != nil {
		return 0, err
	}
	return l, ref.solver.Step(ref.grads)
}

// TestTableStepMatchesGorgonia runs training steps of the plain-Go table
// path and of gorgonia's own lookup and dense Adam from the same weights
// on the same batches, and checks the losses, layers and every table
// row agree: rows the batches use and rows moving only on their moments.
func TestTableStepMatchesGorgonia(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DropoutRate = 0
	const batch, width, steps = 16, 5, 6
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func(name string, vocab, buckets, dim, outDim, slots int) tableInput {
		ti := tableInput{Slots: slots}
		ti.Name, ti.Dim, ti.OutDim, ti.Buckets = name, dim, outDim, buckets
		for i := range vocab {
			ti.Vocab = append(ti.Vocab, uint32(i))
		}
		ti.W = make([]float32, ti.Rows()*ti.RowWidth())
		for i := range ti.W {
			ti.W[i] = float32(rng.NormFloat64() * 0.1)
		}
		return ti
	}
	tables := []tableInput{mk("artists", 40, 24, 4, cfg.EmbeddingSize, 2), mk("album", 30, 16, 4, 0, 1)}
	nt, err := newNet(batch, width, tables, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer nt.close()
	ref, err := newRefNet(batch, width, tables, &cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.close()
	for s := range steps {
		x := benchInput(2*batch, width)
		for i := range x {
			x[i] += float32(s)
		}
		copy(nt.input(), x)
		copy(ref.input(), x)
		for r := range 2 * batch {
			for ti, lk := range nt.tables {
				rows := make([]int, lk.slots)
				for k := range rows {
					rows[k] = rng.IntN(tables[ti].Rows()/2) - 1 // the upper half never used; −1 absent
				}
				lk.set(r, rows)
				ref.set(ti, r, rows)
			}
		}
		nt.setDropout(false, nil)
		ref.setDropout(false, nil)
		lg, err := nt.run(true)
		if err != nil {
			t.Fatal(err)
		}
		lr, err := ref.step()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(lg-lr)) > 1e-5 {
			t.Fatalf("step %d: loss %v, gorgonia's lookup %v", s, lg, lr)
		}
	}
	worst := 0.0
	moved := 0
	for ti, lk := range nt.tables {
		want := ref.tables[ti].Value().Data().([]float32)
		for i, w := range lk.w {
			d := math.Abs(float64(w - want[i]))
			worst = max(worst, d)
			if d > 1e-5 {
				t.Fatalf("table %s weight %d: %v, gorgonia's lookup %v", lk.spec.Name, i, w, want[i])
			}
			if w != tables[ti].W[i] {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Fatal("no table weight moved")
	}
	for i, l := range nt.layers() {
		want := ref.net.layers()[i]
		for j := range l.W {
			if d := math.Abs(float64(l.W[j] - want.W[j])); d > 1e-5 {
				t.Fatalf("layer %d weight %d: %v, gorgonia's lookup %v", i, j, l.W[j], want.W[j])
			}
		}
	}
	t.Logf("%d steps, %d table weights moved, largest difference %.2g", steps, moved, worst)
}

// TestRunWithoutStepLeavesNoTrace: a run without a step (a validation
// batch) changes nothing the next training step does: the same weights
// and tables as a net that never saw the validation batch.
func TestRunWithoutStepLeavesNoTrace(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DropoutRate = 0
	const batch, width = 16, 5
	rng := rand.New(rand.NewPCG(5, 6))
	ti := tableInput{Slots: 2}
	ti.Name, ti.Dim, ti.OutDim, ti.Buckets = "artists", 4, cfg.EmbeddingSize, 32
	ti.W = make([]float32, ti.Rows()*ti.RowWidth())
	for i := range ti.W {
		ti.W[i] = float32(rng.NormFloat64() * 0.1)
	}
	nets := make([]*net, 2)
	for i := range nets {
		nt, err := newNet(batch, width, []tableInput{ti}, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		defer nt.close()
		nets[i] = nt
	}
	fill := func(nt *net, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 1))
		for i := range nt.input() {
			nt.input()[i] = float32(r.NormFloat64())
		}
		for row := range 2 * batch {
			nt.tables[0].set(row, []int{r.IntN(ti.Rows()), r.IntN(ti.Rows())})
		}
		nt.setDropout(false, nil)
	}
	fill(nets[0], 1) // the validation batch, seen by net 0 only
	if _, err := nets[0].run(false); err != nil {
		t.Fatal(err)
	}
	for _, nt := range nets {
		fill(nt, 2)
		if _, err := nt.run(true); err != nil {
			t.Fatal(err)
		}
	}
	a, b := nets[0].tables[0].w, nets[1].tables[0].w
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("table weight %d: %v after a validation run, %v without", i, a[i], b[i])
		}
	}
	la, lb := nets[0].layers(), nets[1].layers()
	for l := range la {
		for i := range la[l].W {
			if la[l].W[i] != lb[l].W[i] {
				t.Fatalf("layer %d weight %d: %v after a validation run, %v without", l, i, la[l].W[i], lb[l].W[i])
			}
		}
	}
}
