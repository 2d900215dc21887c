package trainer

import (
	"math/rand/v2"
	"testing"

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
