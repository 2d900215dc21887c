package trainer

import (
	"math"
	"math/rand/v2"

	"github.com/audotics/soundalike/embedder"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// handNet is a plain gonum forward/backward of the same network and the
// same symmetric in-batch softmax loss, with Adam: the speed baseline the
// gorgonia graph is measured against, and a cross-check of its loss.
type handNet struct {
	batch, dim int
	temp       float32
	sizes      []int // layer inputs..outputs: width, hidden..., dim
	w, b       [][]float32
	aw, ab     []adam // the weights' and biases' updates
	gw, gb     [][]float32
	z, h       [][]float32 // pre-activations and outputs per layer; h[0] = x
	masks      [][]float32
	dh, dz     [][]float32
	e, de      []float32
	s, pr, pc  []float32
	neg        []float32
}

func newHandNet(batch, width int, hidden []int, dim int, temp, lr float64, layers []embedder.Layer) *handNet {
	n := &handNet{batch: batch, dim: dim, temp: float32(temp)}
	n.sizes = append(append([]int{width}, hidden...), dim)
	rows := 2 * batch
	n.h = append(n.h, make([]float32, rows*width))
	n.dh = append(n.dh, nil)
	for l := 0; l+1 < len(n.sizes); l++ {
		in, out := n.sizes[l], n.sizes[l+1]
		n.w = append(n.w, append([]float32(nil), layers[l].W...))
		n.b = append(n.b, append([]float32(nil), layers[l].B...))
		n.gw, n.gb = append(n.gw, make([]float32, in*out)), append(n.gb, make([]float32, out))
		n.aw, n.ab = append(n.aw, newAdam(in*out, lr, 0)), append(n.ab, newAdam(out, lr, 0))
		n.z = append(n.z, make([]float32, rows*out))
		n.h = append(n.h, make([]float32, rows*out))
		n.dz = append(n.dz, make([]float32, rows*out))
		n.dh = append(n.dh, make([]float32, rows*out))
		n.masks = append(n.masks, make([]float32, rows*out))
	}
	n.e = make([]float32, rows*dim)
	n.de = make([]float32, rows*dim)
	n.s = make([]float32, batch*batch)
	n.pr = make([]float32, batch*batch)
	n.pc = make([]float32, batch*batch)
	n.neg = make([]float32, batch*batch)
	return n
}

func gemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	blas32.Implementation().Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// step runs forward and backward on the input in h[0] and, when update is
// set, applies Adam. It returns the loss.
func (n *handNet) step(update bool) float32 {
	n.forward()
	norms := n.normalise()
	loss := n.loss()
	if !update {
		return loss
	}
	n.backward(norms)
	n.adam()
	return loss
}

// forward runs the dense layers from h[0] to h[L].
func (n *handNet) forward() {
	rows, L := 2*n.batch, len(n.w)
	for l := 0; l < L; l++ {
		in, out := n.sizes[l], n.sizes[l+1]
		z := n.z[l]
		for r := 0; r < rows; r++ {
			copy(z[r*out:(r+1)*out], n.b[l])
		}
		gemm(blas.NoTrans, blas.NoTrans, rows, out, in, n.h[l], in, n.w[l], out, 1, z, out)
		h := n.h[l+1]
		if l < L-1 {
			for i, v := range z {
				if v < 0 {
					v = 0
				}
				h[i] = v * n.masks[l][i]
			}
		} else {
			copy(h, z)
		}
	}
}

// normalise writes the unit-length embeddings to e and returns the norms.
func (n *handNet) normalise() []float32 {
	rows, d := 2*n.batch, n.dim
	y := n.h[len(n.w)]
	norms := make([]float32, rows)
	for r := 0; r < rows; r++ {
		var ss float32
		for _, v := range y[r*d : (r+1)*d] {
			ss += v * v
		}
		norms[r] = float32(math.Sqrt(float64(ss) + embedder.NormEps))
		for j := 0; j < d; j++ {
			n.e[r*d+j] = y[r*d+j] / norms[r]
		}
	}
	return norms
}

// loss is the symmetric in-batch softmax loss; it leaves the row and
// column softmax probabilities in pr and pc.
func (n *handNet) loss() float32 {
	d, B := n.dim, n.batch
	ea, ep := n.e[:B*d], n.e[B*d:]
	gemm(blas.NoTrans, blas.Trans, B, B, d, ea, d, ep, d, 0, n.s, B)
	inv := 1 / n.temp
	for i := range n.s {
		n.s[i] = n.s[i]*inv + n.neg[i]
	}
	var loss float64
	for i := 0; i < B; i++ { // rows
		row := n.s[i*B : (i+1)*B]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - mx))
		}
		lse := float64(mx) + math.Log(sum)
		loss -= float64(row[i]) - lse
		for j, v := range row {
			n.pr[i*B+j] = float32(math.Exp(float64(v) - lse))
		}
	}
	for j := 0; j < B; j++ { // columns
		mx := n.s[j]
		for i := 0; i < B; i++ {
			mx = max(mx, n.s[i*B+j])
		}
		var sum float64
		for i := 0; i < B; i++ {
			sum += math.Exp(float64(n.s[i*B+j] - mx))
		}
		lse := float64(mx) + math.Log(sum)
		loss -= float64(n.s[j*B+j]) - lse
		for i := 0; i < B; i++ {
			n.pc[i*B+j] = float32(math.Exp(float64(n.s[i*B+j]) - lse))
		}
	}
	loss *= 0.5 / float64(B)
	return float32(loss)
}

// backward fills the weight and bias gradients gw and gb.
func (n *handNet) backward(norms []float32) {
	rows, L, d, B := 2*n.batch, len(n.w), n.dim, n.batch
	ea, ep := n.e[:B*d], n.e[B*d:]
	inv := 1 / n.temp
	// dL/dS, then through S = Ea·Epᵀ/T.
	ds := n.pr
	c := float32(0.5 / float64(B))
	for i := 0; i < B; i++ {
		for j := 0; j < B; j++ {
			v := n.pr[i*B+j] + n.pc[i*B+j]
			if i == j {
				v -= 2
			}
			ds[i*B+j] = v * c * inv
		}
	}
	gemm(blas.NoTrans, blas.NoTrans, B, d, B, ds, B, ep, d, 0, n.de[:B*d], d)
	gemm(blas.Trans, blas.NoTrans, B, d, B, ds, B, ea, d, 0, n.de[B*d:], d)
	// Through the normalisation: dy = (de − e(e·de))/|y|.
	dy := n.dz[L-1]
	for r := 0; r < rows; r++ {
		var dot float32
		for j := 0; j < d; j++ {
			dot += n.e[r*d+j] * n.de[r*d+j]
		}
		for j := 0; j < d; j++ {
			dy[r*d+j] = (n.de[r*d+j] - n.e[r*d+j]*dot) / norms[r]
		}
	}
	for l := L - 1; l >= 0; l-- {
		in, out := n.sizes[l], n.sizes[l+1]
		dz := n.dz[l]
		gemm(blas.Trans, blas.NoTrans, in, out, rows, n.h[l], in, dz, out, 0, n.gw[l], out)
		gb := n.gb[l]
		clear(gb)
		for r := 0; r < rows; r++ {
			for j, v := range dz[r*out : (r+1)*out] {
				gb[j] += v
			}
		}
		if l > 0 {
			dh := n.dz[l-1]
			gemm(blas.NoTrans, blas.Trans, rows, in, out, dz, out, n.w[l], out, 0, dh, in)
			for i := range dh {
				if n.z[l-1][i] <= 0 {
					dh[i] = 0
				} else {
					dh[i] *= n.masks[l-1][i]
				}
			}
		}
	}
}

// adam applies one Adam step with the gradients: the trainer's update,
// so that the benchmarks compare the two networks' forward and backward
// passes.
func (n *handNet) adam() {
	for l := range n.w {
		n.aw[l].step(n.w[l], n.gw[l])
		n.ab[l].step(n.b[l], n.gb[l])
	}
}

func (n *handNet) setDropout(rate float32, rng *rand.Rand) {
	for _, m := range n.masks {
		fillDropout(m, 1-rate, rng)
	}
}
