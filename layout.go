package soundalike

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/storage"
)

// The map is a 2-D picture of the embedding space, computed by Reindex
// and stored with the index as its "layout" part.
//
// Layout method: exact t-SNE on a fixed random sample of layoutSample
// tracks, then every other track placed at the similarity-weighted mean
// of its layoutPlaceK nearest sampled tracks. t-SNE keeps neighbours
// together where PCA of a 64-d unit embedding smears clusters over each
// other; running it on a sample bounds its O(n²) cost, and placing the rest
// by their neighbours is one small-index search per track (see
// docs/benchmarks.md for the times at 23k and 1M tracks).
//
// The points are stored in a seeded random order with the t-SNE sample
// first, so any prefix is a uniform random sample of the catalogue: a map
// of a large catalogue draws a prefix.
//
// An incremental reindex updates the previous layout instead (see
// updateLayout): the tracks it did not re-embed keep their places, and the
// new and changed ones are placed by the sample, so the map a person has
// learnt does not move under them.

const (
	layoutPart       = "layout"
	layoutMagic      = "SALAYOUT"
	layoutVersion    = 1
	layoutSample     = 1500 // tracks laid out by t-SNE
	layoutPlaceK     = 5    // sampled neighbours that place every other track
	layoutPlaceEf    = 16   // the search beam placing them: near is enough
	layoutPerplexity = 30
	layoutIters      = 300
	layoutSeed       = 0x5a1a
)

// ErrNoLayout: the stored index has no map layout (it was built before
// soundalike stored one, or one of another layout version); any
// `soundalike reindex` computes it.
var ErrNoLayout = errors.New("no map layout of this version stored with the index: run soundalike reindex")

// layout is the map: node i of nodes sits at xy[2i], xy[2i+1], both in
// [-1, 1]. The first sample nodes were laid out by t-SNE; the others were
// placed by them.
type layout struct {
	nodes  []uint32
	xy     []float32
	sample int
}

// computeLayout lays out the live nodes of g (nodes, in any order), with
// t-SNE on sampleSize of them (layoutSample but in tests).
func computeLayout(ctx context.Context, g *index.HNSW, nodes []uint32, sampleSize int) (*layout, error) {
	rng := rand.New(rand.NewPCG(layoutSeed, uint64(len(nodes))))
	order := append([]uint32(nil), nodes...)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	s := min(len(order), sampleSize)
	sample, err := sampleVectors(g, order[:s])
	if err != nil {
		return nil, err
	}
	l := &layout{nodes: order, xy: make([]float32, 2*len(order)), sample: s}
	if err := tsne(ctx, sample, g.Dim(), l.xy[:2*s], rng); err != nil {
		return nil, err
	}
	scaleToUnit(l.xy[:2*s])
	if err := l.place(ctx, g, sample, s); err != nil {
		return nil, err
	}
	return l, nil
}

// updateLayout returns prev updated to the live nodes of g, or nil when it
// should be computed afresh. Nodes of prev that are live and not changed
// (re-embedded) keep their places; the others are placed by the sample
// nodes that are kept. When fewer than half the sample a fresh layout
// would have is left, a fresh one is better.
func updateLayout(ctx context.Context, g *index.HNSW, prev *layout, live []uint32, changed map[uint32]bool, sampleSize int) (*layout, error) {
	isLive := make(map[uint32]bool, len(live))
	for _, n := range live {
		isLive[n] = true
	}
	keep := func(n uint32) bool { return isLive[n] && !changed[n] }
	l := &layout{nodes: make([]uint32, 0, len(live)), xy: make([]float32, 0, 2*len(live))}
	for pass := range 2 { // the sample first, then the placed nodes
		lo, hi := 0, prev.sample
		if pass == 1 {
			lo, hi = prev.sample, len(prev.nodes)
		}
		for i := lo; i < hi; i++ {
			if n := prev.nodes[i]; keep(n) {
				l.nodes = append(l.nodes, n)
				l.xy = append(l.xy, prev.xy[2*i], prev.xy[2*i+1])
				delete(isLive, n)
			}
		}
		if pass == 0 {
			l.sample = len(l.nodes)
		}
	}
	if l.sample == 0 || 2*l.sample < min(sampleSize, len(live)) {
		return nil, nil
	}
	from := len(l.nodes)
	for _, n := range live {
		if isLive[n] { // not kept: new or changed
			l.nodes = append(l.nodes, n)
		}
	}
	rng := rand.New(rand.NewPCG(layoutSeed, uint64(len(live))))
	added := l.nodes[from:]
	rng.Shuffle(len(added), func(i, j int) { added[i], added[j] = added[j], added[i] })
	l.xy = append(l.xy, make([]float32, 2*len(added))...)
	sample, err := sampleVectors(g, l.nodes[:l.sample])
	if err != nil {
		return nil, err
	}
	if err := l.place(ctx, g, sample, from); err != nil {
		return nil, err
	}
	return l, nil
}

// sampleVectors returns the vectors of nodes, the layout's t-SNE sample,
// end to end.
func sampleVectors(g *index.HNSW, nodes []uint32) ([]float32, error) {
	dim := g.Dim()
	sample := make([]float32, len(nodes)*dim)
	for i, n := range nodes {
		v, ok := g.Vector(n)
		if !ok {
			return nil, fmt.Errorf("layout: node %d has no vector", n)
		}
		copy(sample[i*dim:], v)
	}
	return sample, nil
}

// place puts every node from index from on (the nodes after the t-SNE
// sample, whose vectors are sample; or those an update adds) at the
// similarity-weighted mean of its nearest sampled nodes.
func (l *layout) place(ctx context.Context, g *index.HNSW, sample []float32, from int) error {
	s := l.sample
	if from == len(l.nodes) {
		return nil
	}
	dim := g.Dim()
	small, err := index.New(dim, &index.Options{Seed: layoutSeed, Workers: 1}) // one worker: the same graph every time
	if err != nil {
		return err
	}
	ids := make([]uint32, s)
	for i := range ids {
		ids[i] = uint32(i)
	}
	if err := small.AddBatch(ids, sample); err != nil {
		return fmt.Errorf("layout: %w", err)
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res []index.Result
			var err error
			for i := from + w; i < len(l.nodes); i += workers {
				if i%4096 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				v, ok := g.Vector(l.nodes[i])
				if !ok {
					errs[w] = fmt.Errorf("layout: node %d has no vector", l.nodes[i])
					return
				}
				if res, err = small.SearchInto(res[:0], v, layoutPlaceK, nil, layoutPlaceEf); err != nil {
					errs[w] = fmt.Errorf("layout: %w", err)
					return
				}
				l.xy[2*i], l.xy[2*i+1] = l.weightedMean(res)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// weightedMean is the mean position of the sampled nodes res, weighted so
// that the closest dominates (a softmax of the cosine at temperature
// 0.05).
func (l *layout) weightedMean(res []index.Result) (x, y float32) {
	var sx, sy, sw float64
	for _, r := range res {
		w := math.Exp(float64(r.Score-res[0].Score) / 0.05)
		sx += w * float64(l.xy[2*r.ID])
		sy += w * float64(l.xy[2*r.ID+1])
		sw += w
	}
	if sw == 0 {
		return 0, 0
	}
	return float32(sx / sw), float32(sy / sw)
}

// tsne writes into y (2 per point) the exact t-SNE embedding of the n unit
// vectors x (dim each): Gaussian affinities at perplexity layoutPerplexity
// over squared distances, Student-t similarities, gradient descent with
// momentum, gains and early exaggeration, started from PCA.
func tsne(ctx context.Context, x []float32, dim int, y []float32, rng *rand.Rand) error {
	n := len(x) / dim
	if n < 3 {
		for i := range y {
			y[i] = float32(i % 2)
		}
		return nil
	}
	p := affinities(x, dim, min(layoutPerplexity, float64(n-1)/3))
	pcaInit(x, dim, y, rng)
	var (
		grad  = make([]float64, 2*n)
		vel   = make([]float64, 2*n)
		gains = make([]float64, 2*n)
		yy    = make([]float64, 2*n)
	)
	for i := range gains {
		gains[i] = 1
		yy[i] = float64(y[i])
	}
	tg := newTSNEGradient(n)
	lr := max(float64(n)/12, 50)
	for it := range layoutIters {
		if it%50 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		exag, mom := 1.0, 0.8
		if it < 100 {
			exag, mom = 12, 0.5
		}
		tg.compute(p, yy, grad, exag)
		for i := range yy {
			if (grad[i] > 0) != (vel[i] > 0) {
				gains[i] += 0.2
			} else {
				gains[i] = max(gains[i]*0.8, 0.01)
			}
			vel[i] = mom*vel[i] - lr*gains[i]*grad[i]
			yy[i] += vel[i]
		}
	}
	for i := range y {
		y[i] = float32(yy[i])
	}
	return nil
}

// tsneGradient computes the gradient of the t-SNE cost in one pass over
// the pairs, split over the cores: each worker sums, for its rows, the
// attractive forces (p·q·d) and the repulsive ones (q²·d) and the
// normaliser Z, so the gradient needs no n×n matrix of q.
type tsneGradient struct {
	workers   int
	attr, rep [][]float64 // per worker, 2n
	z         []float64   // per worker
}

func newTSNEGradient(n int) *tsneGradient {
	w := max(1, min(runtime.GOMAXPROCS(0), n/64))
	g := &tsneGradient{workers: w, attr: make([][]float64, w), rep: make([][]float64, w), z: make([]float64, w)}
	for i := range w {
		g.attr[i], g.rep[i] = make([]float64, 2*n), make([]float64, 2*n)
	}
	return g
}

// compute writes the gradient at y into grad, with the affinities p
// multiplied by exag.
func (g *tsneGradient) compute(p, y, grad []float64, exag float64) {
	n := len(y) / 2
	var wg sync.WaitGroup
	for w := range g.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			attr, rep := g.attr[w], g.rep[w]
			clear(attr)
			clear(rep)
			var z float64
			for i := w; i < n; i += g.workers { // interleaved: rows shrink with i
				yi0, yi1 := y[2*i], y[2*i+1]
				pi := p[i*n : (i+1)*n]
				var ax, ay, rx, ry float64
				for j := i + 1; j < n; j++ {
					dx, dy := yi0-y[2*j], yi1-y[2*j+1]
					q := 1 / (1 + dx*dx + dy*dy)
					z += 2 * q
					a, r := pi[j]*q, q*q
					ax += a * dx
					ay += a * dy
					rx += r * dx
					ry += r * dy
					attr[2*j] -= a * dx
					attr[2*j+1] -= a * dy
					rep[2*j] -= r * dx
					rep[2*j+1] -= r * dy
				}
				attr[2*i] += ax
				attr[2*i+1] += ay
				rep[2*i] += rx
				rep[2*i+1] += ry
			}
			g.z[w] = z
		}()
	}
	wg.Wait()
	var z float64
	for _, v := range g.z {
		z += v
	}
	for k := range grad {
		var a, r float64
		for w := range g.workers {
			a += g.attr[w][k]
			r += g.rep[w][k]
		}
		grad[k] = 4 * (exag*a - r/z)
	}
}

// affinities returns the symmetric t-SNE input affinities of the n unit
// vectors x, n×n, summing to 1: each row's Gaussian bandwidth is found by
// bisection so that its entropy matches perplexity.
func affinities(x []float32, dim int, perplexity float64) []float64 {
	n := len(x) / dim
	d := make([]float64, n*n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			var dot float32
			for k := range dim {
				dot += x[i*dim+k] * x[j*dim+k]
			}
			v := max(2-2*float64(dot), 0)
			d[i*n+j], d[j*n+i] = v, v
		}
	}
	p := make([]float64, n*n)
	target := math.Log(perplexity)
	for i := range n {
		row, di := p[i*n:(i+1)*n], d[i*n:(i+1)*n]
		lo, hi, beta := 0.0, math.Inf(1), 1.0
		for range 64 {
			var sum, hsum float64
			for j := range n {
				if j == i {
					row[j] = 0
					continue
				}
				row[j] = math.Exp(-beta * di[j])
				sum += row[j]
				hsum += di[j] * row[j]
			}
			if sum == 0 {
				sum = 1e-300
			}
			h := math.Log(sum) + beta*hsum/sum
			if math.Abs(h-target) < 1e-5 {
				break
			}
			if h > target {
				lo = beta
				if math.IsInf(hi, 1) {
					beta *= 2
				} else {
					beta = (beta + hi) / 2
				}
			} else {
				hi = beta
				beta = (beta + lo) / 2
			}
		}
		var sum float64
		for _, v := range row {
			sum += v
		}
		for j := range row {
			row[j] /= max(sum, 1e-300)
		}
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			v := max((p[i*n+j]+p[j*n+i])/(2*float64(n)), 1e-12)
			p[i*n+j], p[j*n+i] = v, v
		}
	}
	return p
}

// pcaInit writes into y the projection of x on its two principal axes
// (found by power iteration), scaled to a standard deviation of 1e-2 as
// t-SNE starts from.
func pcaInit(x []float32, dim int, y []float32, rng *rand.Rand) {
	n := len(x) / dim
	mean := make([]float64, dim)
	for i := range n {
		for k := range dim {
			mean[k] += float64(x[i*dim+k]) / float64(n)
		}
	}
	var axes [2][]float64
	for a := range axes {
		v := make([]float64, dim)
		for k := range v {
			v[k] = rng.NormFloat64()
		}
		for range 50 {
			next := make([]float64, dim)
			for i := range n {
				var t float64
				for k := range dim {
					t += (float64(x[i*dim+k]) - mean[k]) * v[k]
				}
				for k := range dim {
					next[k] += t * (float64(x[i*dim+k]) - mean[k])
				}
			}
			for b := range a { // deflate: stay orthogonal to earlier axes
				var t float64
				for k := range dim {
					t += next[k] * axes[b][k]
				}
				for k := range dim {
					next[k] -= t * axes[b][k]
				}
			}
			var norm float64
			for _, c := range next {
				norm += c * c
			}
			if norm = math.Sqrt(norm); norm == 0 {
				break
			}
			for k := range next {
				v[k] = next[k] / norm
			}
		}
		axes[a] = v
	}
	var ss float64
	for i := range n {
		for a := range axes {
			var t float64
			for k := range dim {
				t += (float64(x[i*dim+k]) - mean[k]) * axes[a][k]
			}
			y[2*i+a] = float32(t)
			ss += t * t
		}
	}
	sd := math.Sqrt(ss / float64(2*n))
	if sd == 0 {
		sd = 1
	}
	for i := range y {
		y[i] = float32(float64(y[i]) / sd * 1e-2)
	}
}

// scaleToUnit centres xy (x, y pairs) and scales it so that the largest
// coordinate is ±1.
func scaleToUnit(xy []float32) {
	n := len(xy) / 2
	if n == 0 {
		return
	}
	var cx, cy float64
	for i := range n {
		cx += float64(xy[2*i])
		cy += float64(xy[2*i+1])
	}
	cx, cy = cx/float64(n), cy/float64(n)
	var m float64
	for i := range n {
		m = max(m, math.Abs(float64(xy[2*i])-cx), math.Abs(float64(xy[2*i+1])-cy))
	}
	if m == 0 {
		m = 1
	}
	for i := range n {
		xy[2*i] = float32((float64(xy[2*i]) - cx) / m)
		xy[2*i+1] = float32((float64(xy[2*i+1]) - cy) / m)
	}
}

// writeTo stores l: the magic, version, count and sample size, then
// (node u32, x f32, y f32) per point, little-endian.
func (l *layout) writeTo(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var hdr [20]byte
	copy(hdr[:8], layoutMagic)
	binary.LittleEndian.PutUint32(hdr[8:], layoutVersion)
	binary.LittleEndian.PutUint32(hdr[12:], uint32(len(l.nodes)))
	binary.LittleEndian.PutUint32(hdr[16:], uint32(l.sample))
	bw.Write(hdr[:])
	var rec [12]byte
	for i, n := range l.nodes {
		binary.LittleEndian.PutUint32(rec[0:], n)
		binary.LittleEndian.PutUint32(rec[4:], math.Float32bits(l.xy[2*i]))
		binary.LittleEndian.PutUint32(rec[8:], math.Float32bits(l.xy[2*i+1]))
		if _, err := bw.Write(rec[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// readLayout decodes what writeTo stored.
func readLayout(r io.Reader) (*layout, error) {
	br := bufio.NewReader(r)
	var hdr [20]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("map layout: header: %w", err)
	}
	if string(hdr[:8]) != layoutMagic {
		return nil, fmt.Errorf("map layout: not a layout (magic %q)", hdr[:8])
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != layoutVersion {
		return nil, fmt.Errorf("map layout: version %d: this soundalike reads version %d: %w", v, layoutVersion, ErrNoLayout)
	}
	n := int(binary.LittleEndian.Uint32(hdr[12:]))
	if n > 1<<28 {
		return nil, fmt.Errorf("map layout: %d points is more than any catalogue", n)
	}
	s := int(binary.LittleEndian.Uint32(hdr[16:]))
	if s > n {
		return nil, fmt.Errorf("map layout: a sample of %d points among %d", s, n)
	}
	l := &layout{nodes: make([]uint32, n), xy: make([]float32, 2*n), sample: s}
	var rec [12]byte
	for i := range n {
		if _, err := io.ReadFull(br, rec[:]); err != nil {
			return nil, fmt.Errorf("map layout: point %d of %d: %w", i, n, err)
		}
		l.nodes[i] = binary.LittleEndian.Uint32(rec[0:])
		l.xy[2*i] = math.Float32frombits(binary.LittleEndian.Uint32(rec[4:]))
		l.xy[2*i+1] = math.Float32frombits(binary.LittleEndian.Uint32(rec[8:]))
	}
	return l, nil
}

// readLayoutTx reads the current index's layout, failing with ErrNoLayout
// when it has none.
func readLayoutTx(tx *storage.Tx) (*layout, error) {
	var l *layout
	err := tx.ReadIndexPart(layoutPart, func(_ storage.IndexInfo, r io.Reader) error {
		var err error
		l, err = readLayout(r)
		return err
	})
	if errors.Is(err, storage.ErrNoIndexPart) {
		return nil, ErrNoLayout
	}
	return l, err
}
