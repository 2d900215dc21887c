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
