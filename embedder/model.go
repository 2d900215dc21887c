package embedder

import (
	"errors"
	"fmt"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"math"
	"slices"
	"sync"
)

// Encoding says how one raw input becomes one or two network columns.
type Encoding uint8

// Encodings. Every encoding first replaces a missing (NaN) value by the
// input's Impute value and clips it to [Min, Max] when Min < Max.
const (
	// Linear passes the value through.
	Linear Encoding = 0
	// Log is log(x + Param), for skewed non-negative inputs; Param > 0.
	Log Encoding = 1
	// Cyclic is sin(2πx/Param), cos(2πx/Param): two columns, so that the
	// ends of a cycle (pitch class 11 and 0) are neighbours; Param > 0.
	Cyclic Encoding = 2
	// Binary is 1 when x ≥ 0.5, else 0.
	Binary Encoding = 3
	// Token reads a token id (see TokenID), NaN when absent, and adds no
	// column of its own: the input's Table averages the rows of its
	// present tokens into that table's columns. Impute, Min, Max,
	// Param and Indicator are unused (zero).
	Token Encoding = 4
)

func (e Encoding) String() string {
	switch e {
	case Linear:
		return "linear"
	case Log:
		return "log"
	case Cyclic:
		return "cyclic"
	case Binary:
		return "binary"
	case Token:
		return "token"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

func (e Encoding) width() int {
	switch e {
	case Cyclic:
		return 2
	case Token:
		return 0
	}
	return 1
}

// Input describes one raw model input and its encoding.
type Input struct {
	Name     string   // raw input name (see soundalike.RawInputs)
	Encoding Encoding // how the value becomes columns
	Param    float32  // the period of Cyclic, the offset of Log
	Impute   float32  // raw value used when the input is missing (NaN)
	// Indicator adds a column that is 1 when the input was missing, else 0.
	Indicator bool
	// Min and Max clip the raw value when Min < Max.
	Min, Max float32
	// Table is the index of the table a Token input reads its rows from.
	Table int
}

// Width is the number of encoded columns the input produces.
func (in Input) Width() int {
	w := in.Encoding.width()
	if in.Indicator {
		w++
	}
	return w
}

func (in Input) validate() error {
	if in.Name == "" {
		return errors.New("empty name")
	}
	if len(in.Name) > maxNameLen {
		return fmt.Errorf("name is %d bytes long, more than %d", len(in.Name), maxNameLen)
	}
	if in.Encoding > Token {
		return fmt.Errorf("%s: unknown encoding %d (0 linear, 1 log, 2 cyclic, 3 binary, 4 token)", in.Name, in.Encoding)
	}
	if in.Encoding == Token && (in.Indicator || in.Param != 0 || in.Impute != 0 || in.Min != 0 || in.Max != 0) {
		return fmt.Errorf("%s: a token input has no parameter, imputation, clipping or indicator", in.Name)
	}
	if in.Encoding != Token && in.Table != 0 {
		return fmt.Errorf("%s: only a token input reads a table", in.Name)
	}
	for _, v := range []float32{in.Param, in.Impute, in.Min, in.Max} {
		if !finite(v) {
			return fmt.Errorf("%s: parameter %v is not finite", in.Name, v)
		}
	}
	if (in.Encoding == Log || in.Encoding == Cyclic) && !(in.Param > 0) {
		return fmt.Errorf("%s: %s encoding needs a parameter > 0, got %v", in.Name, in.Encoding, in.Param)
	}
	if in.Encoding == Log && in.Impute+in.Param <= 0 && !(in.Min < in.Max && in.Min+in.Param > 0) {
		return fmt.Errorf("%s: log encoding of the imputed value %v + %v is undefined", in.Name, in.Impute, in.Param)
	}
	return nil
}

// Activation is a layer's non-linearity.
type Activation uint8

// Activations.
const (
	Identity Activation = 0
	ReLU     Activation = 1
)

// Layer is one dense layer: y = act(x·W + B), with W stored row-major as
// In rows of Out columns (the layout of gorgonia's x·W).
type Layer struct {
	In, Out    int
	W          []float32 // In*Out
	B          []float32 // Out
	Activation Activation
}

// Model is a trained embedding network with everything needed to apply it:
// the raw inputs it reads, their encodings, the standardisation of the
// encoded columns, the dense layers and the training config. Its output is
// L2-normalised; an output that cannot be (see ErrDegenerate) is an error
// from Embed and EmbedBatch. A Model is immutable and safe
// for concurrent use.
type Model struct {
	inputs []Input
	names  []string
	mean   []float32
	std    []float32
	tables []Table
	slots  [][]int // per table, the indices of the inputs that read it
	// folded holds, per table, each row's first-layer columns times the
	// first layer's weights for them (Rows × layers[0].Out): the first
	// layer is linear in a mean row, so a track adds the mean of its
	// tokens' folded rows instead of multiplying its mean row by W.
	folded [][]float32
	layers []Layer
	config []byte
	numW   int // encoded columns of the numeric inputs (standardised)
	width  int // numW plus the tables' columns: the first layer's In
	maxW   int // widest layer
	pool   sync.Pool
}

// Limits enforced by New and the decoder.
const (
	// minStd is a round figure above the smallest std whose reciprocal
	// is a finite float32 (about 2.9e-39), quoted in errors.
	minStd     = float32(1e-38)
	maxNameLen = 1 << 10
	maxInputs  = 1 << 12
	maxLayers  = 64
	maxWidth   = 1 << 16
	maxParams  = 1 << 26
	maxConfig  = 1 << 24
	maxTables  = 16
	// maxTableRows bounds a table's vocabulary and its buckets.
	maxTableRows = 1 << 22
)

// New validates and copies the parts of a model without tables. mean and
// std are the standardisation of the encoded columns (see EncodedWidth); a
// zero std is stored as 1, so the column is only centred. Layers chain: the
// first takes the encoded columns, each next one the previous one's output;
// the last one's Out is the embedding dimension. config is an opaque record
// of how the model was trained (JSON by convention).
func New(inputs []Input, mean, std []float32, layers []Layer, config []byte) (*Model, error) {
	return Build(Parts{Inputs: inputs, Mean: mean, Std: std, Layers: layers, Config: config})
}

// Parts are what a model is built from (see New). Tables are the embedding
// tables that Token inputs read; their columns follow the numeric inputs'
// standardised columns, unstandardised, in table order, so the first
// layer takes EncodedWidth(Inputs) + the tables' Dims columns.
type Parts struct {
	Inputs    []Input
	Mean, Std []float32
	Tables    []Table
	Layers    []Layer
	Config    []byte
}

// Build validates and copies p into a model.
func Build(p Parts) (*Model, error) {
	m, err := buildInputs(p.Inputs, p.Tables)
	if err != nil {
		return nil, err
	}
	if err := m.setStandardization(p.Mean, p.Std); err != nil {
		return nil, err
	}
	if err := m.setLayers(p.Layers); err != nil {
		return nil, err
	}
	for _, t := range m.tables {
		if t.OutDim != 0 && t.OutDim != m.Dim() {
			return nil, fmt.Errorf("embedder: table %s adds %d columns to an output of %d", t.Name, t.OutDim, m.Dim())
		}
	}
	m.fold()
	if len(p.Config) > maxConfig {
		return nil, fmt.Errorf("embedder: config is %d bytes, more than %d", len(p.Config), maxConfig)
	}
	m.config = slices.Clone(p.Config)
	return m, nil
}

// fold computes folded from the tables and the first layer.
func (m *Model) fold() {
	l := &m.layers[0]
	at := m.numW
	m.folded = make([][]float32, len(m.tables))
	for ti := range m.tables {
		t := &m.tables[ti]
		f := make([]float32, t.Rows()*l.Out)
		blas32.Implementation().Sgemm(blas.NoTrans, blas.NoTrans, t.Rows(), l.Out, t.Dim, 1, t.W, t.RowWidth(), l.W[at*l.Out:], l.Out, 0, f, l.Out)
		m.folded[ti] = f
		at += t.Dim
	}
}

func buildInputs(inputs []Input, tables []Table) (*Model, error) {
	if len(inputs) == 0 || len(inputs) > maxInputs {
		return nil, fmt.Errorf("embedder: %d inputs, want 1..%d", len(inputs), maxInputs)
	}
	m := &Model{inputs: slices.Clone(inputs)}
	seen := map[string]bool{}
	for i, in := range inputs {
		if err := in.validate(); err != nil {
			return nil, fmt.Errorf("embedder: input %d: %w", i, err)
		}
		if seen[in.Name] {
			return nil, fmt.Errorf("embedder: input %q appears twice", in.Name)
		}
		seen[in.Name] = true
		if in.Encoding == Token && (in.Table < 0 || in.Table >= len(tables)) {
			return nil, fmt.Errorf("embedder: input %q reads table %d of %d", in.Name, in.Table, len(tables))
		}
		m.names = append(m.names, in.Name)
		m.numW += in.Width()
	}
	if len(tables) > maxTables {
		return nil, fmt.Errorf("embedder: %d tables, at most %d", len(tables), maxTables)
	}
	m.width = m.numW
	m.slots = make([][]int, len(tables))
	for i := range tables {
		if err := tables[i].validate(); err != nil {
			return nil, fmt.Errorf("embedder: %w", err)
		}
		m.tables = append(m.tables, tables[i].clone())
		m.width += tables[i].Dim
	}
	for i, in := range inputs {
		if in.Encoding == Token {
			m.slots[in.Table] = append(m.slots[in.Table], i)
		}
	}
	for i, s := range m.slots {
		if len(s) == 0 {
			return nil, fmt.Errorf("embedder: no input reads table %s", tables[i].Name)
		}
	}
	return m, nil
}

func (m *Model) setStandardization(mean, std []float32) error {
	if len(mean) != m.numW || len(std) != m.numW {
		return fmt.Errorf("embedder: standardisation has %d means and %d stds for %d encoded columns", len(mean), len(std), m.numW)
	}
	m.mean = slices.Clone(mean)
	m.std = slices.Clone(std)
	for i := range m.std {
		if !finite(m.mean[i]) || !finite(m.std[i]) || m.std[i] < 0 {
			return fmt.Errorf("embedder: column %d: mean %v, std %v: want finite values and std ≥ 0", i, m.mean[i], m.std[i])
		}
		// Standardising divides by std: a std whose reciprocal overflows
		// would turn every non-zero value of the column into ±Inf.
		if m.std[i] > 0 && !finite(1/m.std[i]) {
			return fmt.Errorf("embedder: column %d: std %v is so small that 1/std overflows float32: want 0 (the column is only centred) or at least %v", i, m.std[i], minStd)
		}
		if m.std[i] == 0 {
			m.std[i] = 1
		}
	}
	return nil
}

func (m *Model) setLayers(layers []Layer) error {
	if len(layers) == 0 || len(layers) > maxLayers {
		return fmt.Errorf("embedder: %d layers, want 1..%d", len(layers), maxLayers)
	}
	in, params := m.width, 0
	m.maxW = m.width
	for i, l := range layers {
		if l.In != in {
			return fmt.Errorf("embedder: layer %d takes %d inputs, the previous output has %d", i, l.In, in)
		}
		if l.Out < 1 || l.Out > maxWidth {
			return fmt.Errorf("embedder: layer %d has %d outputs, want 1..%d", i, l.Out, maxWidth)
		}
		if len(l.W) != l.In*l.Out || len(l.B) != l.Out {
			return fmt.Errorf("embedder: layer %d has %d weights and %d biases, want %d and %d", i, len(l.W), len(l.B), l.In*l.Out, l.Out)
		}
		if l.Activation > ReLU {
			return fmt.Errorf("embedder: layer %d: unknown activation %d", i, l.Activation)
		}
		params += len(l.W) + len(l.B)
		if params > maxParams {
			return fmt.Errorf("embedder: more than %d parameters", maxParams)
		}
		for _, v := range l.W {
			if !finite(v) {
				return fmt.Errorf("embedder: layer %d has a non-finite weight", i)
			}
		}
		for _, v := range l.B {
			if !finite(v) {
				return fmt.Errorf("embedder: layer %d has a non-finite bias", i)
			}
		}
		m.layers = append(m.layers, Layer{In: l.In, Out: l.Out, W: slices.Clone(l.W), B: slices.Clone(l.B), Activation: l.Activation})
		in = l.Out
		m.maxW = max(m.maxW, l.Out)
	}
	return nil
}

// Inputs returns the raw input names the model reads, in the order Embed
// expects them.
func (m *Model) Inputs() []string { return slices.Clone(m.names) }

// InputSpecs returns the inputs with their encodings.
func (m *Model) InputSpecs() []Input { return slices.Clone(m.inputs) }

// Dim is the embedding dimension, 0 for the zero Model (one not made by
// New, Build or Unmarshal), which cannot embed.
func (m *Model) Dim() int {
	if len(m.layers) == 0 {
		return 0
	}
	return m.layers[len(m.layers)-1].Out
}

// EncodedWidth is the number of network input columns after encoding.
func (m *Model) EncodedWidth() int { return m.width }

// Standardization returns copies of the means and standard deviations of
// the encoded columns.
func (m *Model) Standardization() (mean, std []float32) {
	return slices.Clone(m.mean), slices.Clone(m.std)
}

// NumericWidth is the number of standardised columns the numeric inputs
// encode to; the tables' columns follow them.
func (m *Model) NumericWidth() int { return m.numW }

// Tables returns deep copies of the embedding tables.
func (m *Model) Tables() []Table {
	out := make([]Table, len(m.tables))
	for i := range m.tables {
		out[i] = m.tables[i].clone()
	}
	return out
}

// Layers returns deep copies of the dense layers.
func (m *Model) Layers() []Layer {
	out := make([]Layer, len(m.layers))
	for i, l := range m.layers {
		out[i] = Layer{In: l.In, Out: l.Out, W: slices.Clone(l.W), B: slices.Clone(l.B), Activation: l.Activation}
	}
	return out
}

// Config returns a copy of the training config the model was saved with.
func (m *Model) Config() []byte { return slices.Clone(m.config) }

func finite(v float32) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}
