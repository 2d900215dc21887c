package trainer

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/audotics/soundalike/embedder"
	"github.com/chewxy/hm"
	"github.com/chewxy/math32"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The ops of this file round every product, sum, quotient and root to
// float32 on its own (a conversion wherever a product meets a sum forbids
// a fused multiply-add), as gorgonia's tensor operations round them on
// the default amd64 build (GOAMD64 v1 or v2), where the tests compare bits.
// Their results are then the same on every build.

// relu adds max(x, 0) to x's graph, times mask when it is not nil (the
// dropout after the activation), as one op whose gradient is one op.
// gorgonia's Rectify builds the activation from three (a ⩾ 0 comparison
// into a mask, its product with x, and that product's two gradients, one
// of them unused), and the dropout is one more product and its two
// gradients, each with a new output tensor every run. relu computes the
// same float32s, bit for bit: (x·1 or x·0)·mask forward, where 1 is
// x ⩾ 0, and (1 or 0)·(mask·grad) backward (TestReLUMatchesRectify);
// each of its two ops writes into one tensor of its own, run after run.
func relu(x, mask *G.Node) (*G.Node, error) {
	if mask == nil {
		return G.ApplyOp(reluOp{"soundalike.ReLU", new(output), false}, x)
	}
	return G.ApplyOp(reluOp{"soundalike.ReLUDropout", new(output), true}, x, mask)
}

// reluOp is relu's forward op, reluGradOp its gradient; with masked,
// their second input is the dropout mask.
type (
	reluOp struct {
		opName
		out    *output
		masked bool
	}
	reluGradOp struct {
		opName
		out    *output
		masked bool
	}
)

// arity is 1 for x, plus 1 for a mask.
func arity(masked bool) int {
	if masked {
		return 2
	}
	return 1
}

// output is an op's result tensor, kept from run to run. A graph's run
// reads an op's output only until the next run of that op, so one
// tensor serves every run (a run of the graph may also overwrite it in
// place once it has read it, as gorgonia does with a register whose
// value nothing reads again). A node's Value after a run may be that
// tensor, which the next run overwrites: what is kept across runs is
// copied, as G.Read copies the embeddings.
type output struct{ t *tensor.Dense }

// of returns the tensor, made anew when the shape differs from the last.
func (o *output) of(s tensor.Shape) *tensor.Dense {
	if o.t == nil || !o.t.Shape().Eq(s) {
		o.t = tensor.New(tensor.WithShape(s.Clone()...), tensor.Of(tensor.Float32))
	}
	return o.t
}

// reluMask is 1 where gorgonia's Rectify passes x (x ⩾ 0), else 0: 1
// less x's sign bit but for ±0 (1) and NaN (0), which take a branch
// that ordinary inputs never do. A branch on the sign itself would be
// mispredicted for as many inputs of a layer as not.
func reluMask(x float32) float32 {
	b := math.Float32bits(x)
	if abs := b &^ (1 << 31); abs-1 >= 0x7f800000 { // ±0 (abs − 1 wraps) or NaN
		if abs == 0 {
			return 1
		}
		return 0
	}
	return float32(1 - b>>31)
}

func (op reluOp) Arity() int    { return arity(op.masked) }
func (op reluOp) Type() hm.Type { return sameType(op.Arity()) }
func (op reluOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return inferSame(in, op.Arity())
}

// Do returns max(x, 0), times the mask.
func (op reluOp) Do(in ...G.Value) (G.Value, error) {
	xs, err := float32Inputs(in, op.Arity())
	if err != nil {
		return nil, err
	}
	o := op.out.of(in[0].Shape())
	d := o.Data().([]float32)
	if !op.masked {
		for i, v := range xs[0] {
			d[i] = v * reluMask(v)
		}
		return o, nil
	}
	m := xs[1]
	for i, v := range xs[0] {
		d[i] = (v * reluMask(v)) * m[i]
	}
	return o, nil
}

// DiffWRT: the mask, an input the trainer sets, needs no gradient.
func (op reluOp) DiffWRT(int) []bool { return []bool{true, false}[:op.Arity()] }

func (op reluOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(reluGradOp{op.opName + "Grad", new(output), op.masked}, append(in[:op.Arity():op.Arity()], grad)...)
	if err != nil {
		return nil, err
	}
	if op.masked {
		return G.Nodes{d, nil}, nil
	}
	return G.Nodes{d}, nil
}

func (op reluGradOp) Arity() int    { return arity(op.masked) + 1 }
func (op reluGradOp) Type() hm.Type { return sameType(op.Arity()) }
func (op reluGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return inferSame(in, op.Arity())
}

// Do returns the gradient of relu at x (the first input) from the
// gradient of its output (the last).
func (op reluGradOp) Do(in ...G.Value) (G.Value, error) {
	xs, err := float32Inputs(in, op.Arity())
	if err != nil {
		return nil, err
	}
	o := op.out.of(in[0].Shape())
	d := o.Data().([]float32)
	g := xs[len(xs)-1]
	if !op.masked {
		for i, v := range xs[0] {
			d[i] = reluMask(v) * g[i]
		}
		return o, nil
	}
	m := xs[1]
	for i, v := range xs[0] {
		d[i] = reluMask(v) * (m[i] * g[i])
	}
	return o, nil
}

// biasAdd adds the row b (1, n) to every row of h (m, n) as one op whose
// gradients are h's own and one op, where gorgonia's BroadcastAdd
// repeats b into an (m, n) tensor and adds that, and differentiates
// through a repeat and a sum, each with a new tensor every run. The
// float32s are BroadcastAdd's, bit for bit (TestBiasAddMatchesBroadcastAdd):
// h + b forward, and b's gradient summed over the rows in order, as
// gorgonia's sum along the first axis adds them.
func biasAdd(h, b *G.Node) (*G.Node, error) {
	if err := checkBias(h.Shape(), b.Shape()); err != nil {
		return nil, err
	}
	return G.ApplyOp(biasAddOp{"soundalike.BiasAdd", new(output)}, h, b)
}

// checkBias accepts rows (m, n) of at least one column and a bias (1, n).
func checkBias(hs, bs tensor.Shape) error {
	if checkRows(hs) != nil || bs.Dims() != 2 || bs[0] != 1 || bs[1] != hs[1] {
		return fmt.Errorf("bias of shape %v for rows of shape %v, want rows (m, n) and a bias (1, n)", bs, hs)
	}
	return nil
}

// biasAddOp is biasAdd's op, sumRowsOp the gradient of its bias.
type (
	biasAddOp struct {
		opName
		out *output
	}
	sumRowsOp struct {
		opName
		out *output
	}
)

func (biasAddOp) Arity() int                                        { return 2 }
func (biasAddOp) Type() hm.Type                                     { return sameType(2) }
func (biasAddOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return inferSame(in, 2) }

// Do returns h + b, b added to each row.
func (op biasAddOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%d inputs, want 2", len(in))
	}
	if err := checkBias(in[0].Shape(), in[1].Shape()); err != nil {
		return nil, err
	}
	h, ok1 := in[0].Data().([]float32)
	b, ok2 := in[1].Data().([]float32)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("inputs of types %T and %T, want float32 data", in[0].Data(), in[1].Data())
	}
	o := op.out.of(in[0].Shape())
	d := o.Data().([]float32)
	for r := 0; r < len(h); r += len(b) {
		row, out := h[r:r+len(b)], d[r:r+len(b)]
		for j, v := range b {
			out[j] = row[j] + v
		}
	}
	return o, nil
}

func (biasAddOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff: h's gradient is the output's; b's is its sum over the rows.
func (biasAddOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	db, err := G.ApplyOp(sumRowsOp{"soundalike.SumRows", new(output)}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{grad, db}, nil
}

func (sumRowsOp) Arity() int    { return 1 }
func (sumRowsOp) Type() hm.Type { return sameType(1) }

// InferShape is one row of the input's width.
func (sumRowsOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := inferSame(in, 1)
	if err != nil {
		return nil, err
	}
	if s.Dims() != 2 {
		return nil, fmt.Errorf("input of shape %v, want rows", s)
	}
	return tensor.Shape{1, s[1]}, nil
}

// Do returns the sum of the input's rows, added first to last.
func (op sumRowsOp) Do(in ...G.Value) (G.Value, error) {
	xs, s, err := rowsInputs(in, 1)
	if err != nil {
		return nil, err
	}
	o := op.out.of(tensor.Shape{1, s[1]})
	d := o.Data().([]float32)
	x := xs[0]
	copy(d, x[:s[1]])
	for r := s[1]; r < len(x); r += s[1] {
		for j, v := range x[r : r+s[1]] {
			d[j] += v
		}
	}
	return o, nil
}

// normalise divides each row of h by sqrt(|row|² + NormEps), as the
// embedder does, as one op whose gradient is one op. gorgonia builds it
// from five (square, sum, add, square root, and a division by the norms
// repeated across each row) and differentiates through ten more, each
// with a new tensor every run. normalise computes gorgonia's float32s,
// bit for bit (TestNormaliseMatchesGorgonia): the same operations, each
// rounded to float32, in the same order.
func normalise(h *G.Node) (*G.Node, error) {
	if h.Shape().Dims() != 2 {
		return nil, fmt.Errorf("rows of shape %v, want a matrix", h.Shape())
	}
	return G.ApplyOp(normaliseOp{"soundalike.Normalise", new(output)}, h)
}

// normaliseOp is normalise's op, normaliseGradOp its gradient.
type (
	normaliseOp struct {
		opName
		out *output
	}
	normaliseGradOp struct {
		opName
		out *output
	}
)

// rowNorm is sqrt(|row|² + NormEps), the squares summed first to last
// from zero as gorgonia's sum along the last axis adds them.
func rowNorm(row []float32) float32 {
	var ss float32
	for _, v := range row {
		ss += float32(v * v)
	}
	return float32(math.Sqrt(float64(ss + float32(embedder.NormEps))))
}

func (normaliseOp) Arity() int                                        { return 1 }
func (normaliseOp) Type() hm.Type                                     { return sameType(1) }
func (normaliseOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return inferSame(in, 1) }

// Do returns h with each row divided by its norm.
func (op normaliseOp) Do(in ...G.Value) (G.Value, error) {
	xs, s, err := rowsInputs(in, 1)
	if err != nil {
		return nil, err
	}
	o := op.out.of(s)
	d := o.Data().([]float32)
	h, w := xs[0], s[1]
	for r := 0; r < len(h); r += w {
		row := h[r : r+w]
		norm := rowNorm(row)
		for j, v := range row {
			d[r+j] = v / norm
		}
	}
	return o, nil
}

func (normaliseOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: the gradient is a function of h, the output and its gradient.
func (normaliseOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(normaliseGradOp{"soundalike.NormaliseGrad", new(output)}, in[0], out, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

func (normaliseGradOp) Arity() int                                        { return 3 }
func (normaliseGradOp) Type() hm.Type                                     { return sameType(3) }
func (normaliseGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return inferSame(in, 3) }

// Do returns the gradient of h from h, the output z = h/n and its
// gradient g, per row of norm n, as gorgonia's derivatives compose it:
// the division's g/n and, through the norm, (h·2)·s with
// s = Σ_j (−(z_j/n)·g_j) / (2·n).
func (op normaliseGradOp) Do(in ...G.Value) (G.Value, error) {
	xs, s, err := rowsInputs(in, 3)
	if err != nil {
		return nil, err
	}
	o := op.out.of(s)
	d := o.Data().([]float32)
	h, z, g, w := xs[0], xs[1], xs[2], s[1]
	for r := 0; r < len(h); r += w {
		hr, zr, gr := h[r:r+w], z[r:r+w], g[r:r+w]
		norm := rowNorm(hr)
		var dn float32
		for j, v := range zr {
			dn += float32(float32(-(v / norm)) * gr[j])
		}
		ds := dn / (2 * norm)
		for j, v := range hr {
			d[r+j] = float32(gr[j]/norm) + float32(float32(v*2)*ds)
		}
	}
	return o, nil
}

// matMul is the matrix product a·b as an op whose gradients are two more
// products, each op writing into one tensor of its own run after run.
// gorgonia's Mul makes the same product through the same call
// (tensor.MatMul into a given tensor, so gonum's Sgemm, with a transpose
// passed as a flag), so the float32s are Mul's, bit for bit
// (TestMatMulMatchesMul); but gorgonia's tape gives an op that calls
// BLAS a new output tensor every run, most of a training step's garbage.
func matMul(a, b *G.Node) (*G.Node, error) {
	op := matMulOp{out: new(output)}
	if _, err := op.shape(a.Shape(), b.Shape()); err != nil {
		return nil, err
	}
	return G.ApplyOp(op.named(), a, b)
}

// matMulOp multiplies its two inputs, or their transposes when transA
// or transB: the forms matMul's gradients take.
type matMulOp struct {
	opName
	out            *output
	transA, transB bool
}

// named returns op with the name of its form: a node's hash is its op's
// name and its inputs', and a·b and aᵀ·b of the same inputs are two nodes.
func (op matMulOp) named() matMulOp {
	op.opName = "soundalike.MatMul"
	if op.transA {
		op.opName += "Aᵀ"
	}
	if op.transB {
		op.opName += "Bᵀ"
	}
	return op
}

// shape is the product's shape for inputs of shapes as and bs.
func (op matMulOp) shape(as, bs tensor.Shape) (tensor.Shape, error) {
	if as.Dims() != 2 || bs.Dims() != 2 || as.TotalSize() == 0 || bs.TotalSize() == 0 {
		return nil, fmt.Errorf("%v of shapes %v and %v, want two matrices", op.opName, as, bs)
	}
	m, k := as[0], as[1]
	if op.transA {
		m, k = k, m
	}
	k2, n := bs[0], bs[1]
	if op.transB {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("%v of shapes %v and %v: %d columns against %d rows", op.opName, as, bs, k, k2)
	}
	return tensor.Shape{m, n}, nil
}

func (matMulOp) Arity() int    { return 2 }
func (matMulOp) Type() hm.Type { return sameType(2) }
func (op matMulOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%d inputs, want 2", len(in))
	}
	as, ok1 := in[0].(tensor.Shape)
	bs, ok2 := in[1].(tensor.Shape)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("inputs of types %T and %T, want shapes", in[0], in[1])
	}
	return op.shape(as, bs)
}

// Do returns the product, made as gorgonia's Mul makes it: a transposed
// input is its own tensor seen transposed for the call (and seen as
// before after it), and tensor.MatMul writes into the output.
func (op matMulOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%d inputs, want 2", len(in))
	}
	a, ok1 := in[0].(*tensor.Dense)
	b, ok2 := in[1].(*tensor.Dense)
	if !ok1 || !ok2 || a.Dtype() != tensor.Float32 || b.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("inputs of types %T and %T, want float32 tensors", in[0], in[1])
	}
	s, err := op.shape(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	o := op.out.of(s)
	if op.transA {
		if err := a.T(); err != nil {
			return nil, err
		}
		defer a.UT()
	}
	if op.transB {
		if err := b.T(); err != nil {
			return nil, err
		}
		defer b.UT()
	}
	if _, err := tensor.MatMul(a, b, tensor.WithReuse(o)); err != nil {
		return nil, err
	}
	return o, nil
}

func (matMulOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff returns the gradients of x and y in z = x·y (either transposed)
// from z's gradient gz, in the forms gorgonia's Mul takes them: for
// z = x·y, gz·yᵀ and xᵀ·gz.
func (op matMulOp) SymDiff(in G.Nodes, _, gz *G.Node) (G.Nodes, error) {
	x, y := in[0], in[1]
	type form struct {
		a, b           *G.Node
		transA, transB bool
	}
	var dx, dy form
	switch {
	case op.transA && op.transB:
		dx, dy = form{y, gz, true, true}, form{gz, x, true, true}
	case op.transB:
		dx, dy = form{gz, y, false, false}, form{gz, x, true, false}
	case op.transA:
		dx, dy = form{y, gz, false, true}, form{x, gz, false, false}
	default:
		dx, dy = form{gz, y, false, true}, form{x, gz, true, false}
	}
	out := make(G.Nodes, 2)
	for i, f := range []form{dx, dy} {
		d := matMulOp{out: new(output), transA: f.transA, transB: f.transB}.named()
		var err error
		if out[i], err = G.ApplyOp(d, f.a, f.b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// transpose is the transpose of the matrix x as an op whose gradient is
// the transpose of its output's, each writing into one tensor of its own
// run after run, where gorgonia's Transpose makes a new one. The values
// are only moved, so they are Transpose's.
func transpose(x *G.Node) (*G.Node, error) {
	if x.Shape().Dims() != 2 {
		return nil, fmt.Errorf("transpose of shape %v, want a matrix", x.Shape())
	}
	return G.ApplyOp(transposeOp{"soundalike.Transpose", new(output)}, x)
}

type transposeOp struct {
	opName
	out *output
}

func (transposeOp) Arity() int    { return 1 }
func (transposeOp) Type() hm.Type { return sameType(1) }
func (transposeOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := inferSame(in, 1)
	if err != nil {
		return nil, err
	}
	if s.Dims() != 2 {
		return nil, fmt.Errorf("input of shape %v, want a matrix", s)
	}
	return tensor.Shape{s[1], s[0]}, nil
}

// Do returns the input's transpose.
func (op transposeOp) Do(in ...G.Value) (G.Value, error) {
	xs, s, err := rowsInputs(in, 1)
	if err != nil {
		return nil, err
	}
	o := op.out.of(tensor.Shape{s[1], s[0]})
	d := o.Data().([]float32)
	m, n := s[0], s[1]
	for i := range m {
		for j, v := range xs[0][i*n : (i+1)*n] {
			d[j*m+i] = v
		}
	}
	return o, nil
}

func (transposeOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: the input's gradient is the transpose of the output's.
func (op transposeOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(transposeOp{op.opName + "Grad", new(output)}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// inBatchLoss is the symmetric in-batch softmax loss of a (b, b) matrix
// of logits whose diagonal holds the positives: −(Σᵢ log softmax over
// row i at i + Σᵢ log softmax over column i at i) / (2b). gorgonia builds
// it from eight ops (two log-softmaxes, two products with the identity,
// two sums, an add and a scale) and differentiates through about a dozen
// more; its log-softmaxes start a goroutine a row or a column. inBatchLoss
// is one op and its gradient one more, and computes gorgonia's float32s,
// bit for bit (TestInBatchLossMatchesGorgonia): the same expressions in
// the same order, including the row-wise log-softmax's shift by the
// larger of the matrix's first element and the rest of the row, which is
// gorgonia's and changes no value but the rounding.
func inBatchLoss(logits *G.Node) (*G.Node, error) {
	if _, err := side(logits.Shape()); err != nil {
		return nil, err
	}
	return G.ApplyOp(inBatchLossOp{"soundalike.InBatchLoss", new(logSoftmaxes)}, logits)
}

// inBatchLossOp is inBatchLoss's op, inBatchLossGradOp its gradient,
// which reads the log-softmaxes the op computed in the same run.
type (
	inBatchLossOp struct {
		opName
		ls *logSoftmaxes
	}
	inBatchLossGradOp struct {
		opName
		ls  *logSoftmaxes
		out *output
	}
)

// logSoftmaxes are the log-softmaxes of the last run's logits along the
// rows and along the columns, row-major.
type logSoftmaxes struct{ rows, cols []float32 }

// compute sets ls from the b·b logits l.
func (ls *logSoftmaxes) compute(l []float32, b int) {
	if len(ls.rows) != len(l) {
		ls.rows, ls.cols = make([]float32, len(l)), make([]float32, len(l))
	}
	for r := 0; r < b; r++ {
		row, out := l[r*b:(r+1)*b], ls.rows[r*b:(r+1)*b]
		maxInput := l[0] // gorgonia's: the matrix's first logit, not the row's
		for _, v := range row[1:] {
			if v > maxInput {
				maxInput = v
			}
		}
		sumExp := float32(0.0)
		for j, v := range row {
			z := v - maxInput
			out[j] = z
			sumExp += math32.Exp(z)
		}
		logSum := math32.Log(sumExp)
		for j := range out {
			out[j] -= logSum
		}
	}
	for c := 0; c < b; c++ {
		maxInput := l[c]
		for j := 1; j < b; j++ {
			if v := l[j*b+c]; v > maxInput {
				maxInput = v
			}
		}
		sumExp := float32(0.0)
		for j := 0; j < b; j++ {
			sumExp += math32.Exp(l[j*b+c] - maxInput)
		}
		logSum := math32.Log(sumExp)
		for j := 0; j < b; j++ {
			ls.cols[j*b+c] = l[j*b+c] - maxInput - logSum
		}
	}
}

// diagonal is the b·b matrix's elements times the identity's, summed in
// order from zero, as gorgonia sums the product with the identity.
func diagonal(m []float32, b int) float32 {
	var s float32
	for r := 0; r < b; r++ {
		for j, v := range m[r*b : (r+1)*b] {
			s += float32(v * identity(r, j))
		}
	}
	return s
}

// identity is the identity matrix's element at row r, column c.
func identity(r, c int) float32 {
	if r == c {
		return 1
	}
	return 0
}

// side is the number of rows and of columns of a square matrix of logits.
func side(s tensor.Shape) (int, error) {
	if s.Dims() != 2 || s[0] != s[1] || s[0] < 1 {
		return 0, fmt.Errorf("logits of shape %v, want a square matrix", s)
	}
	return s[0], nil
}

// lossScale is the factor of the two sums of log-likelihoods.
func lossScale(b int) float32 { return float32(-0.5 / float64(b)) }

func (inBatchLossOp) Arity() int { return 1 }
func (inBatchLossOp) Type() hm.Type {
	return hm.NewFnType(hm.TypeVariable('a'), G.Float32)
}
func (inBatchLossOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}

// Do returns the loss.
func (op inBatchLossOp) Do(in ...G.Value) (G.Value, error) {
	xs, err := float32Inputs(in, 1)
	if err != nil {
		return nil, err
	}
	b, err := side(in[0].Shape())
	if err != nil {
		return nil, err
	}
	op.ls.compute(xs[0], b)
	sum := diagonal(op.ls.rows, b) + diagonal(op.ls.cols, b)
	return G.NewF32(sum * lossScale(b)), nil
}

func (inBatchLossOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: the gradient op reads the logits, the loss (so that it runs
// after the op whose log-softmaxes it reads) and the loss's gradient.
func (op inBatchLossOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(inBatchLossGradOp{"soundalike.InBatchLossGrad", op.ls, new(output)}, in[0], out, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

func (inBatchLossGradOp) Arity() int { return 3 }
func (inBatchLossGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, G.Float32, G.Float32, a)
}
func (inBatchLossGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%d inputs, want 3", len(in))
	}
	return inferSame(in[:1], 1)
}

// Do returns the gradient of the logits as gorgonia's derivatives compose
// it: the loss's gradient g scaled, spread over the identity's diagonal
// (e = identity·scale·g), then each log-softmax's e − exp(ls)·Σe along
// its axis, the two added.
func (op inBatchLossGradOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%d inputs, want 3", len(in))
	}
	g, ok := in[2].Data().(float32)
	if !ok {
		return nil, fmt.Errorf("gradient of type %T, want float32", in[2].Data())
	}
	s := in[0].Shape()
	b, err := side(s)
	if err != nil {
		return nil, err
	}
	if len(op.ls.rows) != b*b {
		return nil, fmt.Errorf("no log-softmaxes of %d×%d logits: the loss did not run", b, b)
	}
	o := op.out.of(s)
	d := o.Data().([]float32)
	e := lossScale(b) * g
	for r := 0; r < b; r++ {
		sum := identity(r, 0) * e
		for j := 1; j < b; j++ {
			sum += float32(identity(r, j) * e)
		}
		for j := 0; j < b; j++ {
			i := r*b + j
			d[i] = float32(identity(r, j)*e) - float32(math32.Exp(op.ls.rows[i])*sum)
		}
	}
	for c := 0; c < b; c++ {
		sum := float32(0.0)
		for j := 0; j < b; j++ {
			sum += float32(identity(j, c) * e)
		}
		for j := 0; j < b; j++ {
			i := j*b + c
			d[i] = d[i] + (float32(identity(j, c)*e) - float32(math32.Exp(op.ls.cols[i])*sum))
		}
	}
	return o, nil
}

// opName is an op's name, and the methods of gorgonia's Op interface
// that every op of this file answers alike: none returns a pointer into
// its inputs, calls outside Go or overwrites an input, and an op hashes
// as its name (a node's hash adds its inputs', so two ops of one name
// are one node only on the same inputs).
type opName string

func (n opName) String() string        { return string(n) }
func (opName) ReturnsPtr() bool        { return false }
func (opName) CallsExtern() bool       { return false }
func (opName) OverwritesInput() int    { return -1 }
func (n opName) WriteHash(h hash.Hash) { fmt.Fprint(h, string(n)) }

func (n opName) Hashcode() uint32 {
	h := fnv.New32a()
	n.WriteHash(h)
	return h.Sum32()
}

// inferSame is the shape of an op's output that has the shape of its
// first of n inputs.
func inferSame(in []G.DimSizer, n int) (tensor.Shape, error) {
	if len(in) != n {
		return nil, fmt.Errorf("%d inputs, want %d", len(in), n)
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("input of type %T, want a shape", in[0])
	}
	return s.Clone(), nil
}

// sameType is the type of an op of n inputs of one type, and an output
// of that type.
func sameType(n int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, n+1)
	for i := range ts {
		ts[i] = a
	}
	return hm.NewFnType(ts...)
}

// rowsInputs is float32Inputs for ops on rows: it also checks that the
// first input is rows (checkRows) and returns its shape.
func rowsInputs(in []G.Value, n int) ([][]float32, tensor.Shape, error) {
	if len(in) > 0 {
		if err := checkRows(in[0].Shape()); err != nil {
			return nil, nil, err
		}
	}
	xs, err := float32Inputs(in, n)
	if err != nil {
		return nil, nil, err
	}
	return xs, in[0].Shape(), nil
}

// checkRows accepts the shape of a matrix of at least one row and one
// column.
func checkRows(s tensor.Shape) error {
	if s.Dims() != 2 || s[0] < 1 || s[1] < 1 {
		return fmt.Errorf("input of shape %v, want rows (at least one, of at least one column)", s)
	}
	return nil
}

// float32Inputs checks an elementwise op's n float32 inputs of one size
// and returns their data.
func float32Inputs(in []G.Value, n int) ([][]float32, error) {
	if len(in) != n {
		return nil, fmt.Errorf("%d inputs, want %d", len(in), n)
	}
	xs := make([][]float32, n)
	for i, v := range in {
		if s := v.Shape(); s.Dims() > 0 && s.TotalSize() == 0 {
			return nil, fmt.Errorf("input %d of shape %v holds no values", i, s) // its Data would panic
		}
		d, ok := v.Data().([]float32)
		if !ok {
			return nil, fmt.Errorf("input %d of type %T, want float32 data", i, v.Data())
		}
		if i > 0 && len(d) != len(xs[0]) {
			return nil, fmt.Errorf("input %d has %d values, want %d", i, len(d), len(xs[0]))
		}
		xs[i] = d
	}
	return xs, nil
}
