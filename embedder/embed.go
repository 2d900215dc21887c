package embedder

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// blockRows is how many tracks the batch kernel embeds at a time.
const blockRows = 64

type scratch struct{ a, b []float32 }

func (m *Model) scratch(rows int) *scratch {
	if s, ok := m.pool.Get().(*scratch); ok && len(s.a) >= rows*m.maxW {
		return s
	}
	return &scratch{a: make([]float32, rows*m.maxW), b: make([]float32, rows*m.maxW)}
}

// Prepare appends to dst[:0] the network input for one track: its raw
// inputs (in the order of Inputs; NaN = missing) encoded and standardised,
// then each table's mean row over the track's present tokens.
// It panics if len(raw) != len(m.Inputs()).
func (m *Model) Prepare(raw, dst []float32) []float32 {
	dst = m.prepareNumeric(raw, dst)
	for ti := range m.tables {
		dst = m.appendTableMean(ti, raw, dst)
	}
	return dst
}

// prepareNumeric appends to dst[:0] the standardised numeric columns.
func (m *Model) prepareNumeric(raw, dst []float32) []float32 {
	dst = Encode(m.inputs, raw, dst)
	for j := range dst {
		dst[j] = (dst[j] - m.mean[j]) / m.std[j]
	}
	return dst
}

// appendTableMean appends the first-layer columns of table ti's mean row
// over the present tokens of raw (zeros when none is present).
func (m *Model) appendTableMean(ti int, raw, dst []float32) []float32 {
	at := len(dst)
	dst = append(dst, make([]float32, m.tables[ti].Dim)...)
	t := &m.tables[ti]
	m.addTableMean(ti, raw, t.W, t.RowWidth(), 0, dst[at:])
	return dst
}

// addTableMean adds to out the columns lo..lo+len(out) of the mean over
// the present tokens of raw of table ti's rows in w (rows of rw: the
// table's own, or its folded rows).
func (m *Model) addTableMean(ti int, raw, w []float32, rw, lo int, out []float32) {
	t := &m.tables[ti]
	var rows [64]int
	n := 0
	for _, i := range m.slots[ti] {
		v := raw[i]
		if v != v || v < 0 || v >= 1<<24 {
			continue // absent, or not a token id: no row
		}
		if n == len(rows) {
			break
		}
		rows[n] = t.Row(uint32(v))
		n++
	}
	if n == 0 {
		return
	}
	// Saxpy (SIMD on amd64): out += alpha·row, as the scalar loop would.
	alpha := float32(1)
	if n > 1 {
		alpha = 1 / float32(n)
	}
	k := len(out)
	for _, r := range rows[:n] {
		blas32.Implementation().Saxpy(k, alpha, w[r*rw+lo:][:k], 1, out, 1)
	}
}

// TokenRows appends to dst[:0] the table rows of table ti's tokens in raw,
// −1 for an absent slot, in the order of the table's inputs. The trainer
// feeds its graph with them.
func (m *Model) TokenRows(ti int, raw []float32, dst []int) []int {
	dst = dst[:0]
	t := &m.tables[ti]
	for _, i := range m.slots[ti] {
		v := raw[i]
		if v != v || v < 0 || v >= 1<<24 {
			dst = append(dst, -1)
			continue
		}
		dst = append(dst, t.Row(uint32(v)))
	}
	return dst
}

// ErrDegenerate is wrapped by the error Embed and EmbedBatch return for a
// track whose network output has no direction to scale to unit length: a
// component is not finite (the forward pass overflowed), or the output is
// so short (|y|² < 1000·NormEps, |y| < about 3e-5, an all-zero output
// among them) that y / sqrt(|y|² + NormEps) would fall visibly short of
// unit length. Such a track's embedding is written as all NaN, which no
// consumer can mistake for a direction.
var ErrDegenerate = errors.New("network output cannot be normalised to unit length")

// minSquaredNorm is the shortest squared output that normalises to a
// squared length within 1e-3 of 1, the tolerance the index checks
// vectors with: ss/(ss+NormEps) ≥ 1000/1001.
const minSquaredNorm = 1000 * normEps

// Embed writes the unit-length embedding of one track into dst (grown to
// Dim if needed) and returns it. raw holds the track's raw inputs in the
// order of Inputs, NaN for missing. It returns an error when
// len(raw) != len(Inputs()) or m is the zero Model, and one wrapping
// ErrDegenerate when the output cannot be normalised. Embed is safe for
// concurrent use.
func (m *Model) Embed(raw, dst []float32) ([]float32, error) {
	if err := m.checkRaw(len(raw), 1); err != nil {
		return dst, err
	}
	dst = grow(dst, m.Dim())
	s := m.scratch(1)
	bad := m.forward(raw, 1, dst, s)
	m.pool.Put(s)
	if bad >= 0 {
		return dst, fmt.Errorf("embedder: %w", ErrDegenerate)
	}
	return dst, nil
}

// checkRaw reports why n raw values are not whole tracks for m (one track
// when exact is 1, any number when it is 0).
func (m *Model) checkRaw(n, exact int) error {
	ni := len(m.inputs)
	switch {
	case len(m.layers) == 0:
		return errors.New("embedder: the model is empty: make it with New, Build or Unmarshal")
	case exact == 1 && n != ni:
		return fmt.Errorf("embedder: raw has %d values, the model reads %d inputs (see Inputs)", n, ni)
	case n%ni != 0:
		return fmt.Errorf("embedder: raw has %d values, not a multiple of the model's %d inputs (see Inputs)", n, ni)
	}
	return nil
}

// EmbedBatch embeds n = len(raw)/len(Inputs()) tracks whose raw inputs are
// stored one track after another in raw, and writes their embeddings one
// after another into dst (grown to n*Dim if needed), which it returns.
// Large batches are split across GOMAXPROCS goroutines. It returns an
// error when len(raw) is not a multiple of len(Inputs()) or m is the zero
// Model, and one wrapping ErrDegenerate that names the first track
// (0-based, in raw's order) whose output cannot be normalised; the other
// embeddings in dst are written all the same. EmbedBatch is safe for
// concurrent use.
func (m *Model) EmbedBatch(raw, dst []float32) ([]float32, error) {
	if err := m.checkRaw(len(raw), 0); err != nil {
		return dst, err
	}
	dst, bad := m.embedBatch(raw, dst)
	if bad >= 0 {
		return dst, &DegenerateError{Track: bad}
	}
	return dst, nil
}

// DegenerateError is EmbedBatch's error for the first track of a batch
// whose output cannot be normalised. It wraps ErrDegenerate.
type DegenerateError struct {
	Track int // 0-based, in the batch's order
}

func (e *DegenerateError) Error() string {
	return fmt.Sprintf("embedder: track %d: %v", e.Track, ErrDegenerate)
}

func (e *DegenerateError) Unwrap() error { return ErrDegenerate }

// embedBatch embeds the tracks of raw into dst and returns the index of the
// first track whose output did not normalise, or -1.
func (m *Model) embedBatch(raw, dst []float32) ([]float32, int) {
	ni := len(m.inputs)
	n, dim := len(raw)/ni, m.Dim()
	dst = grow(dst, n*dim)
	blocks := (n + blockRows - 1) / blockRows
	workers := min(runtime.GOMAXPROCS(0), blocks)
	if workers <= 1 {
		return dst, m.embedBlocks(raw, dst, 0, blocks, n)
	}
	// firstBad records, per worker, the first track that did not normalise.
	firstBad := make([]int, workers)
	for w := range firstBad {
		firstBad[w] = -1
	}
	var wg sync.WaitGroup
	per := (blocks + workers - 1) / workers
	for w := 0; w < workers; w++ {
		b0, b1 := w*per, min(blocks, (w+1)*per)
		if b0 >= b1 {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			firstBad[w] = m.embedBlocks(raw, dst, b0, b1, n)
		}()
	}
	wg.Wait()
	// Workers take increasing ranges: the first failing one has the
	// first failing track.
	for _, b := range firstBad {
		if b >= 0 {
			return dst, b
		}
	}
	return dst, -1
}

// embedBlocks embeds blocks b0..b1 of the n tracks of raw into dst and
// returns the first track whose output did not normalise, or -1.
func (m *Model) embedBlocks(raw, dst []float32, b0, b1, n int) int {
	ni, dim := len(m.inputs), m.Dim()
	bad := -1
	s := m.scratch(blockRows)
	for b := b0; b < b1; b++ {
		lo, hi := b*blockRows, min(n, (b+1)*blockRows)
		if r := m.forward(raw[lo*ni:hi*ni], hi-lo, dst[lo*dim:hi*dim], s); r >= 0 && bad < 0 {
			bad = lo + r
		}
	}
	m.pool.Put(s)
	return bad
}

func grow(dst []float32, n int) []float32 {
	if cap(dst) < n {
		return make([]float32, n)
	}
	return dst[:n]
}

// forward embeds rows tracks (rows ≤ blockRows) from raw into out and
// returns the first row whose output cannot be normalised (written as all
// NaN), or -1. The first layer multiplies only the numeric columns; each
// table adds the mean of its tokens' folded rows.
func (m *Model) forward(raw []float32, rows int, out []float32, s *scratch) int {
	ni, w := len(m.inputs), m.numW
	x := s.a[:rows*w]
	for r := 0; r < rows; r++ {
		m.prepareNumeric(raw[r*ni:(r+1)*ni], x[r*w:r*w:(r+1)*w])
	}
	// Layers alternate between the two scratch buffers; the last one
	// writes straight into out.
	cur, spare := x, s.b
	last := len(m.layers) - 1
	for li := range m.layers {
		l := &m.layers[li]
		var y []float32
		if li == last {
			y = out[:rows*l.Out]
		} else {
			y = spare[:rows*l.Out]
		}
		if li == 0 {
			m.first(cur, raw, y, rows)
		} else {
			dense(cur[:rows*l.In], y, l, rows)
		}
		spare, cur = cur[:cap(cur)], y
	}
	dim := m.Dim()
	for ti := range m.tables {
		if t := &m.tables[ti]; t.OutDim > 0 {
			for r := 0; r < rows; r++ {
				m.addTableMean(ti, raw[r*ni:(r+1)*ni], t.W, t.RowWidth(), t.Dim, out[r*dim:(r+1)*dim])
			}
		}
	}
	bad := -1
	nan := float32(math.NaN())
	for r := 0; r < rows; r++ {
		v := out[r*dim : (r+1)*dim]
		var ss float32
		for _, e := range v {
			ss += e * e
		}
		// ss is NaN or +Inf when a component is not finite or the sum
		// overflowed; either way, like a too short output, there is no
		// unit vector to write.
		if !(ss >= minSquaredNorm && ss <= math.MaxFloat32) {
			for j := range v {
				v[j] = nan
			}
			if bad < 0 {
				bad = r
			}
			continue
		}
		inv := float32(1 / math.Sqrt(float64(ss)+normEps))
		for j := range v {
			v[j] *= inv
		}
	}
	return bad
}

// first computes the first layer into y from the numeric columns x and
// the tables' folded rows of each track's tokens in raw.
func (m *Model) first(x, raw, y []float32, rows int) {
	l := &m.layers[0]
	if len(m.tables) == 0 {
		dense(x[:rows*l.In], y, l, rows)
		return
	}
	ni, out := len(m.inputs), l.Out
	y = y[:rows*out]
	for r := 0; r < rows; r++ {
		copy(y[r*out:(r+1)*out], l.B)
	}
	if w := m.numW; w > 0 {
		blas32.Implementation().Sgemm(blas.NoTrans, blas.NoTrans, rows, out, w, 1, x[:rows*w], w, l.W[:w*out], out, 1, y, out)
	}
	for ti := range m.tables {
		for r := 0; r < rows; r++ {
			m.addTableMean(ti, raw[r*ni:(r+1)*ni], m.folded[ti], out, 0, y[r*out:(r+1)*out])
		}
	}
	if l.Activation == ReLU {
		relu(y)
	}
}

// normEps keeps the normalisation of an all-zero output finite; the
// trainer's graph adds the same constant.
const normEps = 1e-12

// NormEps is the constant added to the squared norm before the final
// L2 normalisation: y / sqrt(|y|² + NormEps).
const NormEps = normEps

// dense computes y = act(x·W + B) for rows rows, x rows×In, y rows×Out,
// with gonum's Sgemm (SIMD axpy kernels on amd64). Each output starts at its
// bias and adds x[i]·W[i][j] in input order, skipping zero inputs (half the
// hidden units after a ReLU), however many rows come at once: Embed and
// EmbedBatch agree exactly.
func dense(x, y []float32, l *Layer, rows int) {
	in, out := l.In, l.Out
	y = y[:rows*out]
	for r := 0; r < rows; r++ {
		copy(y[r*out:(r+1)*out], l.B)
	}
	blas32.Implementation().Sgemm(blas.NoTrans, blas.NoTrans, rows, out, in, 1, x[:rows*in], in, l.W, out, 1, y, out)
	if l.Activation == ReLU {
		relu(y)
	}
}

func relu(y []float32) {
	for j, v := range y {
		if v < 0 {
			y[j] = 0
		}
	}
}
