package trainer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/audotics/soundalike/embedder"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gorgoniaReLU is gorgonia's Rectify times mask (when not nil), the
// reference for relu.
func gorgoniaReLU(x, mask *G.Node) (*G.Node, error) {
	r, err := G.Rectify(x)
	if err != nil || mask == nil {
		return r, err
	}
	return G.HadamardProd(r, mask)
}

// TestReLUMatchesRectify: relu's output and its gradient are gorgonia's
// Rectify's, and with a dropout mask Rectify's times the mask's, bit for
// bit, at zeros of both signs, infinities, NaN and ordinary values.
func TestReLUMatchesRectify(t *testing.T) {
	x := []float32{0, float32(math.Copysign(0, -1)), 1.5, -2.25, 1e-40, -1e-40, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3e38, -3e38, 0.75}
	c := make([]float32, len(x))
	m := make([]float32, len(x))
	for i := range c {
		c[i] = float32(i) - 4.5 // the gradient reaching each element
		m[i] = float32(i%3) * 1.25
	}
	c[2] = float32(math.Inf(1))
	run := func(act func(x, mask *G.Node) (*G.Node, error), masked bool) (y, dx []float32) {
		g := G.NewGraph()
		vec := func(name string, v []float32) *G.Node {
			return G.NewVector(g, G.Float32, G.WithShape(len(v)), G.WithName(name), G.WithValue(tensor.New(tensor.WithBacking(append([]float32(nil), v...)))))
		}
		xn, cn := vec("x", x), vec("c", c)
		var mn *G.Node
		if masked {
			mn = vec("mask", m)
		}
		yn := G.Must(act(xn, mn))
		var yv G.Value
		G.Read(yn, &yv)
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(yn, cn))))
		if _, err := G.Grad(loss, xn); err != nil {
			t.Fatal(err)
		}
		return runTwice(t, g, yn, &yv, xn)
	}
	for _, masked := range []bool{false, true} {
		y, dx := run(relu, masked)
		wy, wdx := run(gorgoniaReLU, masked)
		for i := range x {
			if math.Float32bits(y[i]) != math.Float32bits(wy[i]) {
				t.Errorf("masked %t: relu(%v) = %v, Rectify %v", masked, x[i], y[i], wy[i])
			}
			if math.Float32bits(dx[i]) != math.Float32bits(wdx[i]) {
				t.Errorf("masked %t: gradient at %v (output gradient %v) = %v, Rectify's %v", masked, x[i], c[i], dx[i], wdx[i])
			}
		}
	}
}

// TestBiasAddMatchesBroadcastAdd: biasAdd's output and the gradients of
// its rows and its bias are gorgonia's BroadcastAdd's, bit for bit, with
// values whose sums depend on the order they are added in.
func TestBiasAddMatchesBroadcastAdd(t *testing.T) {
	const m, n = 9, 5
	rng := rand.New(rand.NewPCG(11, 12))
	h, b, c := make([]float32, m*n), make([]float32, n), make([]float32, m*n)
	for i := range h {
		h[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6)))
		c[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6)))
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	b[0], h[3] = float32(math.Inf(-1)), float32(math.NaN())
	run := func(add func(h, b *G.Node) (*G.Node, error)) (y, dh, db []float32) {
		g := G.NewGraph()
		hn := G.NewMatrix(g, G.Float32, G.WithShape(m, n), G.WithName("h"), G.WithValue(tensor.New(tensor.WithShape(m, n), tensor.WithBacking(append([]float32(nil), h...)))))
		bn := G.NewMatrix(g, G.Float32, G.WithShape(1, n), G.WithName("b"), G.WithValue(tensor.New(tensor.WithShape(1, n), tensor.WithBacking(append([]float32(nil), b...)))))
		cn := G.NewMatrix(g, G.Float32, G.WithShape(m, n), G.WithName("c"), G.WithValue(tensor.New(tensor.WithShape(m, n), tensor.WithBacking(append([]float32(nil), c...)))))
		yn := G.Must(add(hn, bn))
		var yv G.Value
		G.Read(yn, &yv)
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(yn, cn))))
		if _, err := G.Grad(loss, hn, bn); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(hn, bn))
		defer vm.Close()
		for range 2 { // the second run reuses the ops' tensors
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			vm.Reset()
		}
		gh, err := hn.Grad()
		if err != nil {
			t.Fatal(err)
		}
		gb, err := bn.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), yv.Data().([]float32)...), append([]float32(nil), gh.Data().([]float32)...), append([]float32(nil), gb.Data().([]float32)...)
	}
	y, dh, db := run(biasAdd)
	wy, wdh, wdb := run(broadcastAdd)
	sameBits(t, "output", y, wy)
	sameBits(t, "rows' gradient", dh, wdh)
	sameBits(t, "bias gradient", db, wdb)
}

// TestNormaliseMatchesGorgonia: normalise's output and its gradient are
// gorgonia's, bit for bit, over rows of mixed magnitudes (and a zero row,
// whose norm is sqrt(NormEps)).
func TestNormaliseMatchesGorgonia(t *testing.T) {
	const m, n = 7, 6
	rng := rand.New(rand.NewPCG(13, 14))
	h, c := make([]float32, m*n), make([]float32, m*n)
	for i := range h {
		h[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-4)))
		c[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-4)))
	}
	clear(h[2*n : 3*n])
	run := func(norm func(*G.Node) (*G.Node, error)) (y, dh []float32) {
		g := G.NewGraph()
		hn := G.NewMatrix(g, G.Float32, G.WithShape(m, n), G.WithName("h"), G.WithValue(tensor.New(tensor.WithShape(m, n), tensor.WithBacking(append([]float32(nil), h...)))))
		cn := G.NewMatrix(g, G.Float32, G.WithShape(m, n), G.WithName("c"), G.WithValue(tensor.New(tensor.WithShape(m, n), tensor.WithBacking(append([]float32(nil), c...)))))
		yn := G.Must(norm(hn))
		var yv G.Value
		G.Read(yn, &yv)
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(yn, cn))))
		if _, err := G.Grad(loss, hn); err != nil {
			t.Fatal(err)
		}
		return runTwice(t, g, yn, &yv, hn)
	}
	y, dh := run(normalise)
	wy, wdh := run(gorgoniaNormalise)
	sameBits(t, "output", y, wy)
	sameBits(t, "gradient", dh, wdh)
}

// TestInBatchLossMatchesGorgonia: inBatchLoss's loss and its gradient are
// gorgonia's, bit for bit, for logits whose first element is and is not
// the largest of their row, with masked negatives, over two runs of the
// same graph (the second reuses the ops' storage).
func TestInBatchLossMatchesGorgonia(t *testing.T) {
	const b = 12
	rng := rand.New(rand.NewPCG(15, 16))
	for _, first := range []float32{-3, 40} {
		l := make([]float32, b*b)
		for i := range l {
			l[i] = float32(rng.NormFloat64() * 10)
		}
		l[0] = first
		l[1*b+4], l[7*b+2] = maskedLogit*10, maskedLogit*10
		run := func(loss func(*G.Node) (*G.Node, error)) (float32, []float32) {
			g := G.NewGraph()
			ln := G.NewMatrix(g, G.Float32, G.WithShape(b, b), G.WithName("logits"), G.WithValue(tensor.New(tensor.WithShape(b, b), tensor.WithBacking(append([]float32(nil), l...)))))
			cost := G.Must(loss(ln))
			if _, err := G.Grad(cost, ln); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g, G.BindDualValues(ln))
			defer vm.Close()
			var v float32
			var d []float32
			for range 2 {
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				v = cost.Value().Data().(float32)
				gl, err := ln.Grad()
				if err != nil {
					t.Fatal(err)
				}
				d = append(d[:0], gl.Data().([]float32)...)
				clear(gl.Data().([]float32)) // gorgonia adds each run's gradient to the last
				vm.Reset()
			}
			return v, d
		}
		v, d := run(inBatchLoss)
		wv, wd := run(gorgoniaInBatchLoss)
		if !sameFloat(v, wv) {
			t.Errorf("first logit %v: loss %v, gorgonia's %v", first, v, wv)
		}
		sameBits(t, "gradient", d, wd)
	}
}

// runTwice runs graph g twice (the second run reuses the ops' tensors)
// and returns the second run's output y (read into *yv) and gradient of
// x, which the first run's must not have changed: gorgonia adds each
// run's gradients to the ones before, so they are cleared in between.
func runTwice(t *testing.T, g *G.ExprGraph, y *G.Node, yv *G.Value, x *G.Node) (out, dx []float32) {
	t.Helper()
	vm := G.NewTapeMachine(g, G.BindDualValues(x))
	defer vm.Close()
	for run := range 2 {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		d, err := x.Grad()
		if err != nil {
			t.Fatal(err)
		}
		out, dx = append(out[:0], (*yv).Data().([]float32)...), append(dx[:0], d.Data().([]float32)...)
		if run == 0 {
			clear(d.Data().([]float32))
		}
		vm.Reset()
	}
	return out, dx
}

// sameBits fails the test where got and want differ in any bit (on the
// default amd64 build; see sameFloat).
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, gorgonia's %d", what, len(got), len(want))
	}
	for i := range got {
		if !sameFloat(got[i], want[i]) {
			t.Errorf("%s[%d] = %v, gorgonia's %v", what, i, got[i], want[i])
		}
	}
}

// gorgoniaTranspose is gorgonia's Transpose, the reference for transpose.
func gorgoniaTranspose(x *G.Node) (*G.Node, error) { return G.Transpose(x) }

// TestMatMulMatchesMul: matMul's and transpose's outputs and gradients
// are gorgonia's Mul's and Transpose's, bit for bit, in y = h·w and
// l = y·pᵀ (a layer and the logits), with values whose sums depend on
// the order they are added in, on two runs of the graph.
func TestMatMulMatchesMul(t *testing.T) {
	const m, k, n, r = 9, 70, 6, 5 // k spans two of gonum's blocks of 64
	rng := rand.New(rand.NewPCG(13, 14))
	vals := func(size int) []float32 {
		v := make([]float32, size)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6)))
		}
		return v
	}
	h, w, p, c := vals(m*k), vals(k*n), vals(r*n), vals(m*r)
	w[3] = float32(math.Inf(1))
	type result struct{ y, l, dh, dw, dp []float32 }
	run := func(mul func(a, b *G.Node) (*G.Node, error), tr func(x *G.Node) (*G.Node, error)) result {
		g := G.NewGraph()
		mat := func(name string, v []float32, rows, cols int) *G.Node {
			return G.NewMatrix(g, G.Float32, G.WithShape(rows, cols), G.WithName(name), G.WithValue(tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(append([]float32(nil), v...)))))
		}
		hn, wn, pn, cn := mat("h", h, m, k), mat("w", w, k, n), mat("p", p, r, n), mat("c", c, m, r)
		yn := G.Must(mul(hn, wn))
		ln := G.Must(mul(yn, G.Must(tr(pn))))
		var yv, lv G.Value
		G.Read(yn, &yv)
		G.Read(ln, &lv)
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(ln, cn))))
		if _, err := G.Grad(loss, hn, wn, pn); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(hn, wn, pn))
		defer vm.Close()
		var res result
		for run := range 2 { // the second run reuses the ops' tensors
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			var grads [3][]float32
			for i, x := range []*G.Node{hn, wn, pn} {
				d, err := x.Grad()
				if err != nil {
					t.Fatal(err)
				}
				grads[i] = append([]float32(nil), d.Data().([]float32)...)
				if run == 0 {
					clear(d.Data().([]float32))
				}
			}
			res = result{append([]float32(nil), yv.Data().([]float32)...), append([]float32(nil), lv.Data().([]float32)...), grads[0], grads[1], grads[2]}
			vm.Reset()
		}
		return res
	}
	got, want := run(matMul, transpose), run(G.Mul, gorgoniaTranspose)
	sameBits(t, "h·w", got.y, want.y)
	sameBits(t, "(h·w)·pᵀ", got.l, want.l)
	sameBits(t, "h's gradient", got.dh, want.dh)
	sameBits(t, "w's gradient", got.dw, want.dw)
	sameBits(t, "p's gradient", got.dp, want.dp)
}

// broadcastAdd is gorgonia's own bias add, the reference for biasAdd.
func broadcastAdd(h, b *G.Node) (*G.Node, error) { return G.BroadcastAdd(h, b, nil, []byte{0}) }

// gorgoniaInBatchLoss is the symmetric in-batch softmax loss in
// gorgonia's own operations, the reference for inBatchLoss.
func gorgoniaInBatchLoss(logits *G.Node) (*G.Node, error) {
	b := logits.Shape()[0]
	eyev := tensor.New(tensor.WithShape(b, b), tensor.Of(tensor.Float32))
	eye := eyev.Data().([]float32)
	for i := 0; i < b; i++ {
		eye[i*b+i] = 1
	}
	eyeN := G.NewMatrix(logits.Graph(), G.Float32, G.WithShape(b, b), G.WithName("eye"), G.WithValue(eyev))
	var terms G.Nodes
	for _, axis := range []int{1, 0} {
		ls, err := G.LogSoftMax(logits, axis)
		if err != nil {
			return nil, err
		}
		d, err := G.HadamardProd(ls, eyeN)
		if err != nil {
			return nil, err
		}
		s, err := G.Sum(d)
		if err != nil {
			return nil, err
		}
		terms = append(terms, s)
	}
	sum, err := G.Add(terms[0], terms[1])
	if err != nil {
		return nil, err
	}
	return G.HadamardProd(sum, G.NewConstant(float32(-0.5/float64(b))))
}

// gorgoniaNormalise is h / sqrt(|h|² + NormEps) per row in gorgonia's own
// operations, the reference for normalise.
func gorgoniaNormalise(h *G.Node) (*G.Node, error) {
	sq, err := G.Square(h)
	if err != nil {
		return nil, err
	}
	ss, err := G.Sum(sq, 1)
	if err != nil {
		return nil, err
	}
	if ss, err = G.Add(ss, G.NewConstant(float32(embedder.NormEps))); err != nil {
		return nil, err
	}
	norm, err := G.Sqrt(ss)
	if err != nil {
		return nil, err
	}
	return G.BroadcastHadamardDiv(h, norm, nil, []byte{1})
}

// TestNetOpsMatchGorgonia trains a net with the trainer's matMul,
// transpose, relu, biasAdd, normalise and inBatchLoss and one with
// gorgonia's own operations, from the same weights on the same batches
// and dropout masks: every loss and every layer weight is the same
// float32.
func TestNetOpsMatchGorgonia(t *testing.T) {
	cfg := DefaultConfig()
	const batch, width, steps = 16, 7, 8
	nt, err := newNet(batch, width, nil, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer nt.close()
	own := ops
	ops = graphOps{matMul: G.Mul, transpose: gorgoniaTranspose, relu: gorgoniaReLU, biasAdd: broadcastAdd, normalise: gorgoniaNormalise, loss: gorgoniaInBatchLoss}
	ref, err := newNet(batch, width, nil, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rand.New(rand.NewPCG(1, 2)))
	ops = own
	if err != nil {
		t.Fatal(err)
	}
	defer ref.close()
	trainAlike(t, nt, ref, func(r *net) (float32, error) { return r.run(true) }, steps, "gorgonia's ops")
}

// TestOpsRejectBadInputs: each op answers inputs of the wrong number,
// type or shape with an error, not a panic or a loop.
func TestOpsRejectBadInputs(t *testing.T) {
	m := func(r, c int) G.Value { return tensor.New(tensor.WithShape(r, c), tensor.Of(tensor.Float32)) }
	f64 := tensor.New(tensor.WithShape(2, 2), tensor.Of(tensor.Float64))
	vec := tensor.New(tensor.WithShape(3), tensor.Of(tensor.Float32))
	ops := []struct {
		op  G.Op
		bad [][]G.Value
	}{
		{reluOp{"relu", new(output), false}, [][]G.Value{{}, {f64}}},
		{reluOp{"relu", new(output), true}, [][]G.Value{{m(2, 2)}, {m(2, 2), m(3, 3)}}},
		{reluGradOp{"relu grad", new(output), false}, [][]G.Value{{m(2, 2)}, {m(2, 2), m(1, 2)}}},
		{biasAddOp{"bias", new(output)}, [][]G.Value{{m(2, 2)}, {m(2, 3), m(1, 2)}, {f64, m(1, 2)}, {m(0, 2), m(1, 2)}}},
		{sumRowsOp{"sum rows", new(output)}, [][]G.Value{{vec}, {m(2, 0)}, {f64}}},
		{normaliseOp{"normalise", new(output)}, [][]G.Value{{vec}, {m(3, 0)}}},
		{normaliseGradOp{"normalise grad", new(output)}, [][]G.Value{{m(2, 2), m(2, 2)}, {vec, vec, vec}}},
		{matMulOp{opName: "product", out: new(output)}, [][]G.Value{{m(2, 3)}, {m(2, 3), m(2, 3)}, {f64, m(2, 2)}, {vec, m(3, 3)}, {m(0, 2), m(2, 2)}}},
		{matMulOp{opName: "product", out: new(output), transA: true}, [][]G.Value{{m(2, 3), m(3, 2)}}},
		{transposeOp{"transpose", new(output)}, [][]G.Value{{vec}, {m(0, 3)}, {f64}, {m(2, 2), m(2, 2)}}},
		{inBatchLossOp{"loss", new(logSoftmaxes)}, [][]G.Value{{m(2, 3)}, {vec}, {f64}}},
		{inBatchLossGradOp{"loss grad", new(logSoftmaxes), new(output)}, [][]G.Value{{m(2, 2), G.NewF32(1), G.NewF32(1)}, {m(2, 3), G.NewF32(1), G.NewF32(1)}, {m(2, 2)}}},
	}
	for _, o := range ops {
		for _, in := range o.bad {
			if _, err := o.op.Do(in...); err == nil {
				t.Errorf("%v.Do(%d inputs %v) = nil error", o.op, len(in), in)
			}
		}
	}
	if _, err := biasAdd(G.NewMatrix(G.NewGraph(), G.Float32, G.WithShape(2, 3)), G.NewMatrix(G.NewGraph(), G.Float32, G.WithShape(1, 2))); err == nil {
		t.Error("biasAdd of a (1, 2) bias to (2, 3) rows: nil error")
	}
	if _, err := matMul(G.NewMatrix(G.NewGraph(), G.Float32, G.WithShape(2, 3)), G.NewMatrix(G.NewGraph(), G.Float32, G.WithShape(2, 3))); err == nil {
		t.Error("matMul of (2, 3) and (2, 3): nil error")
	}
	if _, err := transpose(G.NewVector(G.NewGraph(), G.Float32, G.WithShape(3))); err == nil {
		t.Error("transpose of a vector: nil error")
	}
	if _, err := inBatchLoss(G.NewMatrix(G.NewGraph(), G.Float32, G.WithShape(2, 3))); err == nil {
		t.Error("inBatchLoss of (2, 3) logits: nil error")
	}
}
