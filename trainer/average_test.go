package trainer

import (
	"testing"

	"github.com/audotics/soundalike/embedder"
)

// TestEpochWindow: the window's model is the element-wise mean of the
// last n epochs' tables and layers, and n = 1 gives each epoch's own.
func TestEpochWindow(t *testing.T) {
	epoch := func(v float32) ([]embedder.Table, []embedder.Layer) {
		return []embedder.Table{{Name: "artists", W: []float32{v, 2 * v}}},
			[]embedder.Layer{{In: 1, Out: 1, W: []float32{3 * v}, B: []float32{-v}}}
	}
	w := epochWindow{n: 2}
	var tables []embedder.Table
	var layers []embedder.Layer
	for _, v := range []float32{1, 3, 7} {
		tables, layers = w.add(epoch(v))
	}
	// The last two epochs: v = 3 and 7, mean 5.
	if got := tables[0].W; got[0] != 5 || got[1] != 10 || tables[0].Name != "artists" {
		t.Fatalf("table %q weights %v, want [5 10]", tables[0].Name, got)
	}
	if l := layers[0]; l.W[0] != 15 || l.B[0] != -5 || l.In != 1 {
		t.Fatalf("layer W %v B %v, want [15] [-5]", l.W, l.B)
	}
	one := epochWindow{n: 1}
	one.add(epoch(1))
	if tables, _ = one.add(epoch(3)); tables[0].W[0] != 3 {
		t.Fatalf("n = 1: weights %v, want the epoch's own [3 6]", tables[0].W)
	}
}

// TestTableWeightDecay: with no gradient, a step with decay shrinks every
// weight by rate·decay beside the Adam move of its moments (none here),
// and decay 0 leaves it where gorgonia's update does.
func TestTableWeightDecay(t *testing.T) {
	w := []float32{1, -2}
	a := newTableAdam(len(w), 0.01, 5)
	a.step(w)
	if w[0] != float32(1-0.05) || w[1] != float32(-2*(1-0.05)) {
		t.Fatalf("after one decayed step: %v, want [0.95 -1.9]", w)
	}
	w = []float32{1, -2}
	a = newTableAdam(len(w), 0.01, 0)
	a.step(w)
	if w[0] != 1 || w[1] != -2 {
		t.Fatalf("without decay or gradient: %v, want [1 -2]", w)
	}
}
