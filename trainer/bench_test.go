package trainer

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/audotics/soundalike/embedder"
)

// benchWidth is the encoded width of the default (auto) features on the
// dev file.
const benchWidth = 16

func benchInput(rows, width int) []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, rows*width)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func BenchmarkTrainStepGorgonia(b *testing.B) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(1, 2))
	nt, err := newNet(cfg.BatchSize, benchWidth, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		b.Fatal(err)
	}
	defer nt.close()
	copy(nt.input(), benchInput(2*cfg.BatchSize, benchWidth))
	b.ReportAllocs()
	for b.Loop() {
		nt.setDropout(true, rng)
		if _, err := nt.run(true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*cfg.BatchSize)/b.Elapsed().Seconds(), "pairs/s")
}

func BenchmarkTrainStepHand(b *testing.B) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(1, 2))
	nt, err := newNet(cfg.BatchSize, benchWidth, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		b.Fatal(err)
	}
	layers := nt.layers()
	nt.close()
	h := newHandNet(cfg.BatchSize, benchWidth, cfg.HiddenLayers, cfg.EmbeddingSize, cfg.Temperature, cfg.LearningRate, layers)
	copy(h.h[0], benchInput(2*cfg.BatchSize, benchWidth))
	b.ReportAllocs()
	for b.Loop() {
		h.setDropout(float32(cfg.DropoutRate), rng)
		h.step(true)
	}
	b.ReportMetric(float64(b.N*cfg.BatchSize)/b.Elapsed().Seconds(), "pairs/s")
}

var _ = embedder.NormEps

// BenchmarkTrainStepInterleaved alternates one gorgonia step and one
// hand-written step of the same network on the same batch, timing each, so
// that the load of a shared machine hits both alike. It reports both rates
// and gorgonia's time per step over the hand-written one's.
func BenchmarkTrainStepInterleaved(b *testing.B) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(1, 2))
	nt, err := newNet(cfg.BatchSize, benchWidth, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		b.Fatal(err)
	}
	defer nt.close()
	h := newHandNet(cfg.BatchSize, benchWidth, cfg.HiddenLayers, cfg.EmbeddingSize, cfg.Temperature, cfg.LearningRate, nt.layers())
	x := benchInput(2*cfg.BatchSize, benchWidth)
	copy(nt.input(), x)
	copy(h.h[0], x)
	var tg, th time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		nt.setDropout(true, rng)
		if _, err := nt.run(true); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		h.setDropout(float32(cfg.DropoutRate), rng)
		h.step(true)
		t2 := time.Now()
		tg += t1.Sub(t0)
		th += t2.Sub(t1)
	}
	pairs := float64(b.N * cfg.BatchSize)
	b.ReportMetric(pairs/tg.Seconds(), "gorgonia-pairs/s")
	b.ReportMetric(pairs/th.Seconds(), "hand-pairs/s")
	b.ReportMetric(tg.Seconds()/th.Seconds(), "gorgonia/hand")
}
