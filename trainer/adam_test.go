package trainer

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// gorgoniaAdam trains a net's layers as gorgonia alone would: a run of its
// graph, then gorgonia's AdamSolver on the layers' gradients. It is the
// reference the trainer's own adam must reproduce.
type gorgoniaAdam struct {
	solver *G.AdamSolver
	grads  []G.ValueGrad
}

func newGorgoniaAdam(n *net, cfg *Config) gorgoniaAdam {
	return gorgoniaAdam{G.NewAdamSolver(G.WithLearnRate(cfg.LearningRate)), G.NodesToValueGrads(n.learn)}
}

// step runs n's graph once and updates its layers; it returns the loss.
func (r gorgoniaAdam) step(n *net) (float32, error) {
	defer n.vm.Reset()
	if err := n.vm.RunAll(); err != nil {
		return 0, err
	}
	l := n.loss.Value().Data().(float32)
	return l, r.solver.Step(r.grads)
}

// sameFloat reports whether got is want: the same bits where the tests
// compare bits with gorgonia (exactBuild), within 1e-5 elsewhere.
func sameFloat(got, want float32) bool {
	if !exactBuild {
		if got == want || (got != got && want != want) {
			return true // equal, infinities included, or both NaN
		}
		return math.Abs(float64(got-want)) <= 1e-5*max(1, math.Abs(float64(want)))
	}
	return math.Float32bits(got) == math.Float32bits(want)
}

// TestLayerStepMatchesGorgonia trains two nets of the same initial weights
// on the same batches and dropout masks, one with the trainer's step and
// one with gorgonia's AdamSolver, and checks that every loss and every
// layer weight is the same float32, bit for bit (within 1e-5 on builds
// where gorgonia rounds differently, see exactBuild).
func TestLayerStepMatchesGorgonia(t *testing.T) {
	cfg := DefaultConfig()
	const batch, width, steps = 16, 7, 8
	nt, err := newNet(batch, width, nil, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer nt.close()
	ref, err := newNet(batch, width, nil, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.close()
	solver := newGorgoniaAdam(ref, &cfg)
	moved := trainAlike(t, nt, ref, solver.step, steps, "gorgonia's solver")
	t.Logf("%d steps: %d layer parameters moved, all equal to gorgonia's (bit for bit: %t)", steps, moved, exactBuild)
}

// trainAlike runs steps training steps of nt (its own run) and of ref
// (refStep) from the same batches and dropout masks, and fails the test
// unless every loss and, after them, every layer parameter are the same
// float32 (sameFloat) and some parameter moved; reference names ref's
// way in messages. It returns the number of parameters that moved.
func trainAlike(t *testing.T, nt, ref *net, refStep func(*net) (float32, error), steps int, reference string) int {
	t.Helper()
	start := nt.layers()
	dn, dr := rand.New(rand.NewPCG(7, 8)), rand.New(rand.NewPCG(7, 8))
	for s := range steps {
		x := benchInput(2*nt.batch, nt.width)
		for i := range x {
			x[i] = x[i]*(1+float32(s)/4) - 0.3
		}
		copy(nt.input(), x)
		copy(ref.input(), x)
		nt.setDropout(true, dn)
		ref.setDropout(true, dr)
		ln, err := nt.run(true)
		if err != nil {
			t.Fatal(err)
		}
		lr, err := refStep(ref)
		if err != nil {
			t.Fatal(err)
		}
		if !sameFloat(ln, lr) {
			t.Fatalf("step %d: loss %v, with %s %v", s, ln, reference, lr)
		}
	}
	moved := 0
	want := ref.layers()
	for i, l := range nt.layers() {
		for j, w := range append(l.W, l.B...) {
			r := append(want[i].W, want[i].B...)[j]
			if !sameFloat(w, r) {
				t.Fatalf("layer %d parameter %d: %v, with %s %v", i, j, w, reference, r)
			}
			if w != append(start[i].W, start[i].B...)[j] {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Fatal("no layer weight moved")
	}
	return moved
}

// TestAdamWeightDecay: with no gradient, a step with decay shrinks every
// weight by rate·decay beside the Adam move of its moments (none here),
// and decay 0 leaves it where gorgonia's update does.
func TestAdamWeightDecay(t *testing.T) {
	w := []float32{1, -2}
	a := newAdam(len(w), 0.01, 5)
	a.step(w, make([]float32, len(w)))
	if w[0] != float32(1-0.05) || w[1] != float32(-2*(1-0.05)) {
		t.Fatalf("after one decayed step: %v, want [0.95 -1.9]", w)
	}
	w = []float32{1, -2}
	a = newAdam(len(w), 0.01, 0)
	a.step(w, make([]float32, len(w)))
	if w[0] != 1 || w[1] != -2 {
		t.Fatalf("without decay or gradient: %v, want [1 -2]", w)
	}
}

// TestAdamKernelMatchesGo: adamStep (with AVX, eight elements at a time)
// leaves the same bits in the weights, moments and gradients as the Go
// loop (any NaN for a NaN), over ordinary, tiny, huge, zero, infinite and
// NaN values, for lengths below eight, a multiple of eight and one with a
// tail for Go.
func TestAdamKernelMatchesGo(t *testing.T) {
	if !hasAVX {
		t.Skip("no AVX: adamStep is the Go loop")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-42, -1e-42, 3e38, -3e38, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for _, n := range []int{5, 8 * 37, 8*37 + 5} {
		fill := func(scale float64) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * scale * math.Pow(10, float64(rng.IntN(9)-4)))
				if rng.IntN(10) == 0 {
					x[i] = special[rng.IntN(len(special))]
				}
			}
			return x
		}
		clone := func(x []float32) []float32 { return append([]float32(nil), x...) }
		w, m := fill(1), fill(0.01)
		v := fill(0.001)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i]))) // a second moment is never negative
		}
		w2, m2, v2 := clone(w), clone(m), clone(v)
		for iter := 1; iter <= 3; iter++ {
			g := fill(0.1)
			g2 := clone(g)
			k := adamConsts{beta1: 0.9, omb1: float32(1) - 0.9, beta2: 0.999, omb2: float32(1) - 0.999,
				c1: float32(1) / float32(1-math.Pow(0.9, float64(iter))), c2: float32(1) / float32(1-math.Pow(0.999, float64(iter))),
				eps: 1e-8, negEta: -0.001}
			adamStep(w, g, m, v, &k)
			adamStepGo(w2, g2, m2, v2, &k)
			for _, c := range []struct {
				name      string
				got, want []float32
			}{{"weight", w, w2}, {"first moment", m, m2}, {"second moment", v, v2}, {"gradient", g, g2}} {
				for i := range c.got {
					if nan := c.got[i] != c.got[i]; nan && c.want[i] != c.want[i] {
						continue // both NaN: which NaN a sum of two returns depends on an operand order Go leaves to the compiler
					}
					if math.Float32bits(c.got[i]) != math.Float32bits(c.want[i]) {
						t.Fatalf("length %d, step %d: %s %d = %v, Go's %v", n, iter, c.name, i, c.got[i], c.want[i])
					}
				}
			}
		}
	}
}
