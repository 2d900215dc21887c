package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/audotics/soundalike/embedder"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// net is the two-tower network as one gorgonia graph, built once and run
// for every batch: the first batch rows of x are the anchors, the next
// batch rows their positives (the towers share weights). Dropout is a mask
// input that the trainer fills from its seeded generator (all ones at
// validation), so runs are reproducible.
type net struct {
	batch, width int
	hidden       []int
	dim          int
	dropout      float32

	g      *G.ExprGraph
	x      *G.Node
	xv     *tensor.Dense
	tables []*lookup
	masks  []*G.Node
	maskv  []*tensor.Dense
	neg    *G.Node // (batch, batch) additive logit mask: −big where a negative is the positive's own song
	negv   *tensor.Dense
	ws, bs []*G.Node
	emb    *G.Node
	embVal G.Value // emb as computed, copied by a read op (later ops may reuse emb's memory)
	loss   *G.Node
	learn  G.Nodes // the layers' weights and biases
	adams  []adam  // learn's updates, one a node
	vm     G.VM
}

// maskedLogit is added to the logit of an in-batch "negative" that is the
// same song as the positive.
const maskedLogit = -1e4

// newNet builds the graph: x holds the width numeric columns, each table
// adds its mean-row columns after them. layers, when not nil, sets the
// initial weights (a model's, for the parity test); otherwise they are
// Glorot-uniform from rng and the biases zero. Tables start from their W.
func newNet(batch, width int, tables []tableInput, hidden []int, dim int, cfg *Config, layers []embedder.Layer, rng *rand.Rand) (*net, error) {
	n := newNetInput(batch, width, hidden, dim, cfg)
	rows := 2 * batch
	means := make(G.Nodes, len(tables))
	for i, t := range tables {
		lk := newLookup(n.g, t, rows, cfg.LearningRate*cfg.TableRateScale, cfg.TableWeightDecay)
		n.tables = append(n.tables, lk)
		means[i] = lk.mean
	}
	if err := n.build(tables, means, means, cfg, layers, rng); err != nil {
		return nil, err
	}
	return n, nil
}

// newNetInput starts the graph with its numeric input x.
func newNetInput(batch, width int, hidden []int, dim int, cfg *Config) *net {
	n := &net{batch: batch, width: width, hidden: hidden, dim: dim, dropout: float32(cfg.DropoutRate)}
	n.g = G.NewGraph()
	rows := 2 * batch
	n.xv = tensor.New(tensor.WithShape(rows, n.width), tensor.Of(tensor.Float32))
	n.x = G.NewMatrix(n.g, G.Float32, G.WithShape(rows, n.width), G.WithName("x"), G.WithValue(n.xv))
	return n
}

// build adds the rest of the graph on x and the tables' mean rows (means,
// one node of (rows, RowWidth) per table): the MLP, the direct columns,
// the normalisation, the loss and its gradients with respect to the
// layers and to wrt, and the layers' Adam updates.
func (n *net) build(tables []tableInput, means, wrt G.Nodes, cfg *Config, layers []embedder.Layer, rng *rand.Rand) error {
	h, in, direct, err := n.joinInputs(tables, means)
	if err != nil {
		return err
	}
	if h, err = n.buildMLP(h, in, layers, rng); err != nil {
		return err
	}
	for _, d := range direct {
		if h, err = G.Add(h, d); err != nil {
			return err
		}
	}
	if n.emb, err = ops.normalise(h); err != nil {
		return err
	}
	G.Read(n.emb, &n.embVal)
	if err := n.buildLoss(cfg); err != nil {
		return err
	}
	all := append(append(G.Nodes{}, n.learn...), wrt...)
	if _, err := G.Grad(n.loss, all...); err != nil {
		return fmt.Errorf("gradient: %w", err)
	}
	n.vm = G.NewTapeMachine(n.g, G.BindDualValues(all...))
	for _, w := range n.learn {
		n.adams = append(n.adams, newAdam(w.Shape().TotalSize(), cfg.LearningRate, 0))
	}
	return nil
}

// joinInputs concatenates x with the tables' first-layer columns, and
// returns the first layer's input node and its width, and the tables'
// direct output columns (to add to the last layer's output).
func (n *net) joinInputs(tables []tableInput, means G.Nodes) (*G.Node, int, G.Nodes, error) {
	if len(tables) == 0 {
		return n.x, n.width, nil, nil
	}
	cols, in := G.Nodes{n.x}, n.width
	var direct G.Nodes
	for i, t := range tables {
		e := means[i]
		in += t.Dim
		if t.OutDim == 0 {
			cols = append(cols, e)
			continue
		}
		first, err := G.Slice(e, nil, G.S(0, t.Dim))
		if err != nil {
			return nil, 0, nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		out, err := G.Slice(e, nil, G.S(t.Dim, t.RowWidth()))
		if err != nil {
			return nil, 0, nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		cols, direct = append(cols, first), append(direct, out)
	}
	h, err := G.Concat(1, cols...)
	return h, in, direct, err
}

// buildMLP adds the dense layers (ReLU and dropout after each hidden one)
// on h, in columns wide. layers, when not nil, gives the initial weights;
// otherwise they are Glorot-uniform from rng and the biases zero.
func (n *net) buildMLP(h *G.Node, in int, layers []embedder.Layer, rng *rand.Rand) (*G.Node, error) {
	rows := 2 * n.batch
	sizes := append(append([]int{}, n.hidden...), n.dim)
	for li, out := range sizes {
		wv := tensor.New(tensor.WithShape(in, out), tensor.Of(tensor.Float32))
		bv := tensor.New(tensor.WithShape(1, out), tensor.Of(tensor.Float32))
		wd, bd := wv.Data().([]float32), bv.Data().([]float32)
		if layers != nil {
			copy(wd, layers[li].W)
			copy(bd, layers[li].B)
		} else {
			limit := math.Sqrt(6 / float64(in+out))
			for i := range wd {
				wd[i] = float32((2*rng.Float64() - 1) * limit)
			}
		}
		w := G.NewMatrix(n.g, G.Float32, G.WithShape(in, out), G.WithName(fmt.Sprintf("w%d", li)), G.WithValue(wv))
		b := G.NewMatrix(n.g, G.Float32, G.WithShape(1, out), G.WithName(fmt.Sprintf("b%d", li)), G.WithValue(bv))
		n.ws, n.bs = append(n.ws, w), append(n.bs, b)
		n.learn = append(n.learn, w, b)
		var err error
		if h, err = ops.matMul(h, w); err != nil {
			return nil, err
		}
		if h, err = ops.biasAdd(h, b); err != nil {
			return nil, err
		}
		if li < len(n.hidden) {
			var m *G.Node // the dropout mask
			if n.dropout > 0 {
				mv := tensor.New(tensor.WithShape(rows, out), tensor.Of(tensor.Float32))
				m = G.NewMatrix(n.g, G.Float32, G.WithShape(rows, out), G.WithName(fmt.Sprintf("drop%d", li)), G.WithValue(mv))
				n.masks, n.maskv = append(n.masks, m), append(n.maskv, mv)
			}
			if h, err = ops.relu(h, m); err != nil {
				return nil, err
			}
		}
		in = out
	}
	return h, nil
}

// graphOps are the ops the graph is built of where the trainer has its
// own: the layers' and the logits' matrix products, the transpose of the
// positives, the hidden layers' activation with its dropout (mask nil for
// none), a layer's bias, the output's normalisation and the loss.
type graphOps struct {
	matMul    func(a, b *G.Node) (*G.Node, error)
	transpose func(x *G.Node) (*G.Node, error)
	relu      func(x, mask *G.Node) (*G.Node, error)
	biasAdd   func(h, b *G.Node) (*G.Node, error)
	normalise func(h *G.Node) (*G.Node, error)
	loss      func(logits *G.Node) (*G.Node, error)
}

// ops are the trainer's own (ops.go); a test swaps in gorgonia's to build
// the reference its results are compared with.
var ops = graphOps{matMul: matMul, transpose: transpose, relu: relu, biasAdd: biasAdd, normalise: normalise, loss: inBatchLoss}

func (n *net) buildLoss(cfg *Config) error {
	b := n.batch
	a, err := G.Slice(n.emb, G.S(0, b))
	if err != nil {
		return err
	}
	p, err := G.Slice(n.emb, G.S(b, 2*b))
	if err != nil {
		return err
	}
	if cfg.Loss == LossCosine {
		// mean(1 − cos(anchor, positive))
		prod, err := G.HadamardProd(a, p)
		if err != nil {
			return err
		}
		s, err := G.Sum(prod)
		if err != nil {
			return err
		}
		s, err = G.HadamardDiv(s, G.NewConstant(float32(b)))
		if err != nil {
			return err
		}
		n.loss, err = G.Sub(G.NewConstant(float32(1)), s)
		return err
	}
	// In-batch softmax: logits[i][j] = cos(a_i, p_j)/T; the target of row
	// i is column i. Symmetric: rows (anchor → positives) and columns.
	pt, err := ops.transpose(p)
	if err != nil {
		return err
	}
	logits, err := ops.matMul(a, pt)
	if err != nil {
		return err
	}
	if logits, err = G.HadamardProd(logits, G.NewConstant(float32(1/cfg.LossTemperature()))); err != nil {
		return err
	}
	n.negv = tensor.New(tensor.WithShape(b, b), tensor.Of(tensor.Float32))
	n.neg = G.NewMatrix(n.g, G.Float32, G.WithShape(b, b), G.WithName("negmask"), G.WithValue(n.negv))
	if logits, err = G.Add(logits, n.neg); err != nil {
		return err
	}
	n.loss, err = ops.loss(logits)
	return err
}

// input returns the x buffer to fill: anchors in rows 0..batch−1, their
// positives in rows batch..2·batch−1.
func (n *net) input() []float32 { return n.xv.Data().([]float32) }

// setDropout fills the dropout masks: each unit kept with probability
// 1 − rate and scaled by 1/(1 − rate), or all ones when train is false.
func (n *net) setDropout(train bool, rng *rand.Rand) {
	for _, mv := range n.maskv {
		d := mv.Data().([]float32)
		if !train {
			for i := range d {
				d[i] = 1
			}
			continue
		}
		fillDropout(d, 1-n.dropout, rng)
	}
}

// fillDropout sets each unit of mask to 1/keep where rng.Float32() < keep
// and to 0 elsewhere. It draws what rng.Float32 would, a Uint32 a unit,
// and compares its low 24 bits (Float32's numerator over 2²⁴) with keep
// scaled to 2²⁴ as integers: the same masks from the same generator,
// without a division or a branch a unit.
func fillDropout(mask []float32, keep float32, rng *rand.Rand) {
	scale := 1 / keep
	limit := uint32(math.Ceil(float64(keep) * (1 << 24))) // k/2²⁴ < keep ⟺ k < limit
	for i := range mask {
		k := rng.Uint32() << 8 >> 8
		kept := (k - limit) >> 31 // 1 when k < limit (k − limit wraps)
		mask[i] = scale * float32(kept)
	}
}

// setNegatives masks in-batch negatives that are the same song as the
// positive (same signature), which would otherwise push a song away from
// itself.
func (n *net) setNegatives(batch []pair, sig []uint64) {
	if n.negv == nil {
		return
	}
	d := n.negv.Data().([]float32)
	b := n.batch
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			v := float32(0)
			if i != j && (sig[batch[j].B] == sig[batch[i].B] || sig[batch[j].B] == sig[batch[i].A]) {
				v = maskedLogit
			}
			d[i*b+j] = v
		}
	}
}

// run runs the graph once and returns the loss; with step it also applies
// one Adam update to the layers and the tables. Without step it leaves no
// trace: gorgonia adds each run's gradients to the previous ones, so a
// validation batch's gradients would otherwise be applied with the next
// training step, training on the held-out users.
func (n *net) run(step bool) (float32, error) {
	defer n.vm.Reset()
	for _, lk := range n.tables {
		lk.gather()
	}
	if err := n.vm.RunAll(); err != nil {
		return 0, err
	}
	l := n.loss.Value().Data().(float32)
	if err := n.updateLayers(step); err != nil {
		return 0, err
	}
	for _, lk := range n.tables {
		if err := lk.backward(step); err != nil {
			return 0, err
		}
	}
	return l, nil
}

// updateLayers applies one Adam update to each layer from its gradient of
// the last run when step is set, and clears the gradients either way.
func (n *net) updateLayers(step bool) error {
	for i, w := range n.learn {
		g, err := w.Grad()
		if err != nil {
			return fmt.Errorf("%s: gradient: %w", w.Name(), err)
		}
		gd, ok := g.Data().([]float32)
		if !ok {
			return fmt.Errorf("%s: gradient of type %T", w.Name(), g.Data())
		}
		if !step {
			clear(gd)
			continue
		}
		n.adams[i].step(w.Value().Data().([]float32), gd)
	}
	return nil
}

// layers copies the current weights out as embedder layers.
func (n *net) layers() []embedder.Layer {
	out := make([]embedder.Layer, len(n.ws))
	for i := range n.ws {
		w := n.ws[i].Value().Data().([]float32)
		b := n.bs[i].Value().Data().([]float32)
		s := n.ws[i].Shape()
		act := embedder.ReLU
		if i == len(n.ws)-1 {
			act = embedder.Identity
		}
		out[i] = embedder.Layer{In: s[0], Out: s[1], W: append([]float32(nil), w...), B: append([]float32(nil), b...), Activation: act}
	}
	return out
}

// tableWeights returns copies of the tables with their current weights.
func (n *net) tableWeights() []embedder.Table {
	out := make([]embedder.Table, len(n.tables))
	for i, lk := range n.tables {
		out[i] = lk.weights()
	}
	return out
}

// embeddings returns the graph's normalised output of the last run.
func (n *net) embeddings() []float32 { return n.embVal.Data().([]float32) }

func (n *net) close() { n.vm.Close() }
