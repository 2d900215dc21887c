package embedder

import (
	"fmt"
	"math"
	"runtime"
	"sync"
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
// inputs (in the order of Inputs; NaN = missing) encoded and standardised.
// It panics if len(raw) != len(m.Inputs()).
func (m *Model) Prepare(raw, dst []float32) []float32 {
	dst = Encode(m.inputs, raw, dst)
	for j := range dst {
		dst[j] = (dst[j] - m.mean[j]) / m.std[j]
	}
	return dst
}

// Embed writes the unit-length embedding of one track into dst (grown to
// Dim if needed) and returns it. raw holds the track's raw inputs in the
// order of Inputs, NaN for missing. It panics if len(raw) != len(Inputs()).
// Embed is safe for concurrent use.
func (m *Model) Embed(raw, dst []float32) []float32 {
	if len(raw) != len(m.inputs) {
		panic(fmt.Sprintf("embedder: Embed got %d raw values, the model reads %d", len(raw), len(m.inputs)))
	}
	dst = grow(dst, m.Dim())
	s := m.scratch(1)
	m.forward(raw, 1, dst, s)
	m.pool.Put(s)
	return dst
}

// EmbedBatch embeds n = len(raw)/len(Inputs()) tracks whose raw inputs are
// stored one track after another in raw, and writes their embeddings one
// after another into dst (grown to n*Dim if needed), which it returns.
// Large batches are split across GOMAXPROCS goroutines. It panics if
// len(raw) is not a multiple of len(Inputs()). EmbedBatch is safe for
// concurrent use.
func (m *Model) EmbedBatch(raw, dst []float32) []float32 {
	ni := len(m.inputs)
	if len(raw)%ni != 0 {
		panic(fmt.Sprintf("embedder: EmbedBatch got %d raw values, not a multiple of the model's %d inputs", len(raw), ni))
	}
	n, dim := len(raw)/ni, m.Dim()
	dst = grow(dst, n*dim)
	blocks := (n + blockRows - 1) / blockRows
	workers := min(runtime.GOMAXPROCS(0), blocks)
	if workers <= 1 {
		s := m.scratch(blockRows)
		for b := 0; b < blocks; b++ {
			lo, hi := b*blockRows, min(n, (b+1)*blockRows)
			m.forward(raw[lo*ni:hi*ni], hi-lo, dst[lo*dim:hi*dim], s)
		}
		m.pool.Put(s)
		return dst
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
			s := m.scratch(blockRows)
			for b := b0; b < b1; b++ {
				lo, hi := b*blockRows, min(n, (b+1)*blockRows)
				m.forward(raw[lo*ni:hi*ni], hi-lo, dst[lo*dim:hi*dim], s)
			}
			m.pool.Put(s)
		}()
	}
	wg.Wait()
	return dst
}

func grow(dst []float32, n int) []float32 {
	if cap(dst) < n {
		return make([]float32, n)
	}
	return dst[:n]
}

// forward embeds rows tracks (rows ≤ blockRows) from raw into out.
func (m *Model) forward(raw []float32, rows int, out []float32, s *scratch) {
	ni, w := len(m.inputs), m.width
	x := s.a[:rows*w]
	for r := 0; r < rows; r++ {
		m.Prepare(raw[r*ni:(r+1)*ni], x[r*w:r*w:(r+1)*w])
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
		dense(cur[:rows*l.In], y, l, rows)
		spare, cur = cur[:cap(cur)], y
	}
	dim := m.Dim()
	for r := 0; r < rows; r++ {
		v := out[r*dim : (r+1)*dim]
		var ss float32
		for _, e := range v {
			ss += e * e
		}
		inv := float32(1 / math.Sqrt(float64(ss)+normEps))
		for j := range v {
			v[j] *= inv
		}
	}
}

// normEps keeps the normalisation of an all-zero output finite; the
// trainer's graph adds the same constant.
const normEps = 1e-12

// NormEps is the constant added to the squared norm before the final
// L2 normalisation: y / sqrt(|y|² + NormEps).
const NormEps = normEps

// dense computes y = act(x·W + B) for rows rows, x rows×In, y rows×Out.
func dense(x, y []float32, l *Layer, rows int) {
	in, out := l.In, l.Out
	for r := 0; r < rows; r++ {
		yr := y[r*out : (r+1)*out]
		copy(yr, l.B)
		xr := x[r*in : (r+1)*in]
		for i, xi := range xr {
			if xi == 0 {
				continue
			}
			axpy(xi, l.W[i*out:(i+1)*out], yr)
		}
		if l.Activation == ReLU {
			for j, v := range yr {
				if v < 0 {
					yr[j] = 0
				}
			}
		}
	}
}

func axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	for len(x) >= 4 {
		y[0] += a * x[0]
		y[1] += a * x[1]
		y[2] += a * x[2]
		y[3] += a * x[3]
		x, y = x[4:], y[4:]
	}
	for i, v := range x {
		y[i] += a * v
	}
}
