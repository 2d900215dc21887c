package trainer

import "math"

// adam is gorgonia's AdamSolver for one float32 tensor: the same
// constants, bias corrections and float32 operations in the same order,
// each rounded on its own, so its weights are bit for bit those
// gorgonia's solver gives on the default amd64 build
// (TestLayerStepMatchesGorgonia; built with GOAMD64=v3, gorgonia's own
// loops fuse multiply-adds and round differently, while adam's results
// stay the same on every build). It updates every element each step, as
// gorgonia's dense update does: an element with no gradient still moves on
// its decaying first moment. With decay > 0 each step first shrinks every
// weight by rate·decay (AdamW's decoupled weight decay); with 0 it is
// gorgonia's update.
//
// The trainer applies it itself, to the layers and to the tables, rather
// than calling gorgonia's solver: that solver allocates four copies of
// every tensor each step (a tenth of a step's time and of its garbage).
type adam struct {
	rate  float64
	decay float64
	iter  int
	m, v  []float32 // the moments
}

const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// adamConsts are an update's float32 constants, in the order the AVX
// kernel reads them.
type adamConsts struct {
	beta1, omb1, beta2, omb2, c1, c2, eps, negEta float32
}

func newAdam(n int, rate, decay float64) adam {
	return adam{rate: rate, decay: decay, m: make([]float32, n), v: make([]float32, n)}
}

// step applies one update to w from its gradient g, and clears g.
func (a *adam) step(w, g []float32) {
	a.iter++
	beta1, beta2 := float32(adamBeta1), float32(adamBeta2)
	k := adamConsts{
		beta1: beta1, omb1: float32(1) - beta1,
		beta2: beta2, omb2: float32(1) - beta2,
		c1:  float32(1) / float32(1-math.Pow(adamBeta1, float64(a.iter))),
		c2:  float32(1) / float32(1-math.Pow(adamBeta2, float64(a.iter))),
		eps: float32(adamEps), negEta: -float32(a.rate),
	}
	if a.decay > 0 {
		keep := float32(1 - a.rate*a.decay)
		for i := range w {
			w[i] *= keep
		}
	}
	adamStep(w, g[:len(w)], a.m[:len(w)], a.v[:len(w)], &k)
}

// adamStepGo is the update of each element in Go; adamStep's kernel
// computes the same float32s.
func adamStepGo(w, g, m, v []float32, k *adamConsts) {
	for i := range w {
		gi := g[i]
		// Each product is rounded (the conversions forbid fused
		// multiply-adds) as gorgonia's separate tensor operations round it.
		mi := float32(m[i]*k.beta1) + float32(gi*k.omb1)
		vi := float32(v[i]*k.beta2) + float32(float32(gi*gi)*k.omb2)
		m[i], v[i], g[i] = mi, vi, 0
		mh := mi * k.c1
		vh := float32(math.Sqrt(float64(vi*k.c2))) + k.eps
		w[i] += float32(mh*k.negEta) / vh
	}
}
