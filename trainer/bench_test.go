package trainer

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/audotics/soundalike/internal/cputime"
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
	nt, err := newNet(cfg.BatchSize, benchWidth, nil, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		b.Fatal(err)
	}
	defer nt.close()
	copy(nt.input(), benchInput(2*cfg.BatchSize, benchWidth))
	b.ReportAllocs()
	c0 := cputime.Process()
	for b.Loop() {
		nt.setDropout(true, rng)
		if _, err := nt.run(true); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cfg.BatchSize, cputime.Process()-c0)
}

func BenchmarkTrainStepHand(b *testing.B) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(1, 2))
	nt, err := newNet(cfg.BatchSize, benchWidth, nil, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		b.Fatal(err)
	}
	layers := nt.layers()
	nt.close()
	h := newHandNet(cfg.BatchSize, benchWidth, cfg.HiddenLayers, cfg.EmbeddingSize, cfg.LossTemperature(), cfg.LearningRate, layers)
	copy(h.h[0], benchInput(2*cfg.BatchSize, benchWidth))
	b.ReportAllocs()
	c0 := cputime.Process()
	for b.Loop() {
		h.setDropout(float32(cfg.DropoutRate), rng)
		h.step(true)
	}
	reportRates(b, cfg.BatchSize, cputime.Process()-c0)
}

// BenchmarkTrainStepInterleaved alternates one gorgonia step and one
// hand-written step of the same network on the same batch, timing each, so
// that the load of a shared machine hits both alike. It reports both rates
// and gorgonia's time per step over the hand-written one's.
func BenchmarkTrainStepInterleaved(b *testing.B) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(1, 2))
	nt, err := newNet(cfg.BatchSize, benchWidth, nil, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		b.Fatal(err)
	}
	defer nt.close()
	h := newHandNet(cfg.BatchSize, benchWidth, cfg.HiddenLayers, cfg.EmbeddingSize, cfg.LossTemperature(), cfg.LearningRate, nt.layers())
	x := benchInput(2*cfg.BatchSize, benchWidth)
	copy(nt.input(), x)
	copy(h.h[0], x)
	var tg, th, cg, ch time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0, c0 := time.Now(), cputime.Process()
		nt.setDropout(true, rng)
		if _, err := nt.run(true); err != nil {
			b.Fatal(err)
		}
		t1, c1 := time.Now(), cputime.Process()
		h.setDropout(float32(cfg.DropoutRate), rng)
		h.step(true)
		t2, c2 := time.Now(), cputime.Process()
		tg += t1.Sub(t0)
		th += t2.Sub(t1)
		cg += c1 - c0
		ch += c2 - c1
	}
	pairs := float64(b.N * cfg.BatchSize)
	b.ReportMetric(pairs/tg.Seconds(), "gorgonia-pairs/s")
	b.ReportMetric(pairs/th.Seconds(), "hand-pairs/s")
	b.ReportMetric(tg.Seconds()/th.Seconds(), "gorgonia/hand")
	if cg > 0 && ch > 0 {
		b.ReportMetric(pairs/cg.Seconds(), "gorgonia-pairs/cpu-s")
		b.ReportMetric(pairs/ch.Seconds(), "hand-pairs/cpu-s")
		b.ReportMetric(cg.Seconds()/ch.Seconds(), "gorgonia/hand-cpu")
	}
}

func reportRates(b *testing.B, batch int, cpu time.Duration) {
	pairs := float64(b.N * batch)
	b.ReportMetric(pairs/b.Elapsed().Seconds(), "pairs/s")
	if cpu > 0 {
		b.ReportMetric(pairs/cpu.Seconds(), "pairs/cpu-s")
	}
}

// BenchmarkTrainStepTables is BenchmarkTrainStepGorgonia with the default
// auto tables of the dev file: artists (9,157 + 4,096 rows, 8 + 64
// columns, 2 slots) and album (16,294 + 4,096 rows, 8 + 64 columns).
var benchBuckets = DefaultConfig().TokenBuckets

func BenchmarkTrainStepTables(b *testing.B) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func(name string, vocab, dim, outDim, slots int) tableInput {
		t := tableInput{Slots: slots}
		t.Name, t.Dim, t.OutDim, t.Buckets = name, dim, outDim, benchBuckets
		for i := range vocab {
			t.Vocab = append(t.Vocab, uint32(i))
		}
		t.W = make([]float32, t.Rows()*t.RowWidth())
		return t
	}
	tables := []tableInput{mk("artists", 9157, cfg.TokenDim, cfg.EmbeddingSize, 2), mk("album", 16294, cfg.TokenDim, cfg.EmbeddingSize, 1)}
	nt, err := newNet(cfg.BatchSize, benchWidth, tables, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		b.Fatal(err)
	}
	defer nt.close()
	copy(nt.input(), benchInput(2*cfg.BatchSize, benchWidth))
	for r := range 2 * cfg.BatchSize {
		for ti, lk := range nt.tables {
			rows := make([]int, lk.slots)
			for s := range rows {
				rows[s] = rng.IntN(tables[ti].Rows())
			}
			lk.set(r, rows)
		}
	}
	b.ReportAllocs()
	c0 := cputime.Process()
	for b.Loop() {
		nt.setDropout(true, rng)
		if _, err := nt.run(true); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cfg.BatchSize, cputime.Process()-c0)
}
