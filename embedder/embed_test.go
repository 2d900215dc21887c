package embedder

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike/internal/cputime"
)

// randomModel returns a model of the default shape (the 14 raw inputs of
// the auto feature set, 128-64-64) with seeded random weights.
func randomModel(t testing.TB, seed uint64) *Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	inputs := []Input{
		{Name: "acousticness", Encoding: Log, Param: 0.01},
		{Name: "danceability"},
		{Name: "energy"},
		{Name: "instrumentalness", Encoding: Log, Param: 0.01},
		{Name: "key", Encoding: Cyclic, Param: 12, Indicator: true},
		{Name: "liveness", Encoding: Log, Param: 0.01},
		{Name: "loudness", Min: -60, Max: 5},
		{Name: "mode", Encoding: Binary},
		{Name: "speechiness", Encoding: Log, Param: 0.01},
		{Name: "tempo"},
		{Name: "valence"},
		{Name: "duration_ms", Encoding: Log, Param: 1, Impute: 200000, Indicator: true},
		{Name: "release_year", Impute: 2015, Indicator: true, Min: 1900, Max: 2030},
		{Name: "popularity", Impute: 40, Indicator: true},
	}
	w := EncodedWidth(inputs)
	mean := make([]float32, w)
	std := make([]float32, w)
	for i := range mean {
		mean[i] = float32(rng.NormFloat64())
		std[i] = float32(0.5 + rng.Float64())
	}
	var layers []Layer
	in := w
	for i, out := range []int{128, 64, 64} {
		l := Layer{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out)}
		for j := range l.W {
			l.W[j] = float32(rng.NormFloat64() / math.Sqrt(float64(in)))
		}
		for j := range l.B {
			l.B[j] = float32(rng.NormFloat64() * 0.1)
		}
		if i < 2 {
			l.Activation = ReLU
		}
		layers = append(layers, l)
		in = out
	}
	m, err := New(inputs, mean, std, layers, []byte(`{"epochs":1}`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomRaw returns n tracks of plausible raw inputs for randomModel, some
// missing.
func randomRaw(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	raw := make([]float32, 0, n*14)
	nan := float32(math.NaN())
	for i := 0; i < n; i++ {
		u := func() float32 { return float32(rng.Float64()) }
		key := float32(rng.IntN(12))
		if rng.IntN(50) == 0 {
			key = nan
		}
		pop := float32(rng.IntN(101))
		if pop == 0 {
			pop = nan
		}
		raw = append(raw, u(), u(), u(), u()*u()*u(), key, u(), -60*u(), float32(rng.IntN(2)),
			u()*0.5, 60+140*u(), u(), float32(120000+rng.IntN(300000)), float32(1960+rng.IntN(61)), pop)
	}
	return raw
}

// mustEmbed is m.Embed for a test whose tracks all embed.
func mustEmbed(t testing.TB, m *Model, raw []float32) []float32 {
	t.Helper()
	v, err := m.Embed(raw, nil)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	return v
}

// mustEmbedBatch is m.EmbedBatch for a test whose tracks all embed.
func mustEmbedBatch(t testing.TB, m *Model, raw []float32) []float32 {
	t.Helper()
	v, err := m.EmbedBatch(raw, nil)
	if err != nil {
		t.Fatalf("EmbedBatch: %v", err)
	}
	return v
}

// naiveEmbed is the definition Embed must meet, written for clarity in
// float64.
func naiveEmbed(m *Model, raw []float32) []float64 {
	x := Encode(m.inputs, raw, nil)
	h := make([]float64, len(x))
	for j := range x {
		h[j] = (float64(x[j]) - float64(m.mean[j])) / float64(m.std[j])
	}
	// Each table: the mean of the rows of the present tokens.
	outs := make([]float64, m.Dim())
	for ti, t := range m.tables {
		sum := make([]float64, t.RowWidth())
		n := 0
		for i, in := range m.inputs {
			if in.Encoding != Token || in.Table != ti || math.IsNaN(float64(raw[i])) {
				continue
			}
			id := uint32(raw[i])
			row := -1
			for r, v := range t.Vocab {
				if v == id {
					row = r
				}
			}
			if row < 0 {
				row = len(t.Vocab) + int(bucket(id, t.Seed)%uint32(t.Buckets))
			}
			for j := range sum {
				sum[j] += float64(t.W[row*t.RowWidth()+j])
			}
			n++
		}
		for j := range sum {
			if n > 0 {
				sum[j] /= float64(n)
			}
		}
		h = append(h, sum[:t.Dim]...)
		for j := range t.OutDim {
			outs[j] += sum[t.Dim+j]
		}
	}
	for _, l := range m.layers {
		y := make([]float64, l.Out)
		for j := range y {
			y[j] = float64(l.B[j])
			for i := 0; i < l.In; i++ {
				y[j] += h[i] * float64(l.W[i*l.Out+j])
			}
			if l.Activation == ReLU && y[j] < 0 {
				y[j] = 0
			}
		}
		h = y
	}
	for j := range h {
		h[j] += outs[j]
	}
	var ss float64
	for _, v := range h {
		ss += v * v
	}
	for j := range h {
		h[j] /= math.Sqrt(ss + NormEps)
	}
	return h
}

func TestEmbedMatchesDefinition(t *testing.T) {
	m := randomModel(t, 1)
	n := 300
	raw := randomRaw(n, 3)
	ni, dim := len(m.Inputs()), m.Dim()
	batch := mustEmbedBatch(t, m, raw)
	if len(batch) != n*dim {
		t.Fatalf("EmbedBatch returned %d values, want %d", len(batch), n*dim)
	}
	for r := 0; r < n; r++ {
		want := naiveEmbed(m, raw[r*ni:(r+1)*ni])
		one := mustEmbed(t, m, raw[r*ni:(r+1)*ni])
		var norm float64
		for j := range want {
			if d := math.Abs(float64(one[j]) - want[j]); d > 1e-5 {
				t.Fatalf("track %d: Embed[%d] = %v, want %v", r, j, one[j], want[j])
			}
			if batch[r*dim+j] != one[j] {
				t.Fatalf("track %d: EmbedBatch[%d] = %v, Embed gave %v", r, j, batch[r*dim+j], one[j])
			}
			norm += float64(one[j]) * float64(one[j])
		}
		if math.Abs(norm-1) > 1e-5 {
			t.Fatalf("track %d: |embedding|² = %v, want 1", r, norm)
		}
	}
}

func TestEncode(t *testing.T) {
	nan := float32(math.NaN())
	inputs := []Input{
		{Name: "key", Encoding: Cyclic, Param: 12, Impute: 0, Indicator: true},
		{Name: "mode", Encoding: Binary},
		{Name: "instrumentalness", Encoding: Log, Param: 0.01},
		{Name: "release_year", Impute: 2010, Indicator: true, Min: 1950, Max: 2025},
	}
	tests := []struct {
		name string
		raw  []float32
		want []float32
	}{
		{"known", []float32{3, 1, 0.99, 1999}, []float32{1, 0, 0, 1, float32(math.Log(1.0)), 1999, 0}},
		{"key 11 is next to key 0", []float32{11, 0, 0, 2000}, []float32{float32(math.Sin(2 * math.Pi * 11 / 12)), float32(math.Cos(2 * math.Pi * 11 / 12)), 0, 0, float32(math.Log(0.01)), 2000, 0}},
		{"missing", []float32{nan, 0, 0, nan}, []float32{0, 1, 1, 0, float32(math.Log(0.01)), 2010, 1}},
		{"clipped", []float32{0, 0.7, -3, 1800}, []float32{0, 1, 0, 1, float32(math.Log(0.01)), 1950, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Encode(inputs, tt.raw, nil)
			if len(got) != len(tt.want) || EncodedWidth(inputs) != len(tt.want) {
				t.Fatalf("Encode(%v) = %v (width %d), want %v", tt.raw, got, EncodedWidth(inputs), tt.want)
			}
			for i := range got {
				if math.Abs(float64(got[i]-tt.want[i])) > 1e-6 {
					t.Fatalf("Encode(%v) = %v, want %v", tt.raw, got, tt.want)
				}
			}
		})
	}
}

func TestFitStandardization(t *testing.T) {
	rows := []float32{
		1, 5, 10,
		3, 5, 20,
		5, 5, 30,
		7, 5, 40,
	}
	mean, std := FitStandardization(rows, 3)
	wantMean := []float32{4, 5, 25}
	wantStd := []float32{float32(math.Sqrt(5)), 1 /* zero std treated as 1 */, float32(math.Sqrt(125))}
	for j := range wantMean {
		if math.Abs(float64(mean[j]-wantMean[j])) > 1e-5 || math.Abs(float64(std[j]-wantStd[j])) > 1e-5 {
			t.Fatalf("FitStandardization: column %d = (%v, %v), want (%v, %v)", j, mean[j], std[j], wantMean[j], wantStd[j])
		}
	}
	// A model applies it: standardised columns have mean 0 and (unless
	// constant) variance 1; the constant column is only centred.
	inputs := []Input{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	m, err := New(inputs, mean, std, []Layer{{In: 3, Out: 2, W: make([]float32, 6), B: make([]float32, 2)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum, sq [3]float64
	for r := 0; r < 4; r++ {
		x := m.Prepare(rows[r*3:(r+1)*3], nil)
		for j, v := range x {
			sum[j] += float64(v)
			sq[j] += float64(v) * float64(v)
		}
	}
	for j, want := range []float64{1, 0, 1} {
		if math.Abs(sum[j]/4) > 1e-6 || math.Abs(sq[j]/4-want) > 1e-5 {
			t.Fatalf("standardised column %d: mean %v, variance %v, want 0 and %v", j, sum[j]/4, sq[j]/4, want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	ok := Layer{In: 1, Out: 2, W: make([]float32, 2), B: make([]float32, 2)}
	one := []float32{0}
	tests := []struct {
		name   string
		inputs []Input
		layers []Layer
		mean   []float32
	}{
		{"no inputs", nil, []Layer{ok}, one},
		{"duplicate input", []Input{{Name: "a"}, {Name: "a"}}, []Layer{ok}, []float32{0, 0}},
		{"log without offset", []Input{{Name: "a", Encoding: Log}}, []Layer{ok}, one},
		{"unknown encoding", []Input{{Name: "a", Encoding: 9}}, []Layer{ok}, one},
		{"wrong standardisation", []Input{{Name: "a"}}, []Layer{ok}, []float32{0, 0}},
		{"layers do not chain", []Input{{Name: "a"}}, []Layer{ok, ok}, one},
		{"no layers", []Input{{Name: "a"}}, nil, one},
		{"short weights", []Input{{Name: "a"}}, []Layer{{In: 1, Out: 2, W: make([]float32, 1), B: make([]float32, 2)}}, one},
		{"NaN weight", []Input{{Name: "a"}}, []Layer{{In: 1, Out: 2, W: []float32{0, float32(math.NaN())}, B: make([]float32, 2)}}, one},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			std := make([]float32, len(tt.mean))
			if _, err := New(tt.inputs, tt.mean, std, tt.layers, nil); err == nil {
				t.Fatalf("New accepted a model with %s", tt.name)
			}
		})
	}
}

// TestNewRejectsTinyStd: standardising divides by std, so a std whose
// reciprocal overflows float32 would turn the column into ±Inf.
func TestNewRejectsTinyStd(t *testing.T) {
	ok := Layer{In: 1, Out: 2, W: []float32{1, 1}, B: make([]float32, 2)}
	for _, std := range []float32{1e-45, 1e-39} {
		_, err := New([]Input{{Name: "a"}}, []float32{0}, []float32{std}, []Layer{ok}, nil)
		if err == nil || !strings.Contains(err.Error(), "std") {
			t.Errorf("New(std %v) = %v, want an error naming the std", std, err)
		}
	}
	if _, err := New([]Input{{Name: "a"}}, []float32{0}, []float32{1e-30}, []Layer{ok}, nil); err != nil {
		t.Errorf("New(std 1e-30) = %v, want a model", err)
	}
}

// lineModel is a model of one linear input a and one layer of two outputs,
// both w·a.
func lineModel(t *testing.T, w float32) *Model {
	t.Helper()
	m, err := New([]Input{{Name: "a"}}, []float32{0}, []float32{1}, []Layer{{In: 1, Out: 2, W: []float32{w, w}, B: make([]float32, 2)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEmbedDegenerate: an output with no direction (zero, too short, or
// overflowing) is an error from the checked forms and all NaN from the
// others, never a zero or short vector passed off as an embedding.
func TestEmbedDegenerate(t *testing.T) {
	tests := []struct {
		name string
		w, a float32
	}{
		{"zero output", 0, 1},
		{"zero input", 1, 0},
		{"too short to normalise", 1e-10, 1},
		{"overflow", 3e38, 1e30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := lineModel(t, tt.w)
			v, err := m.Embed([]float32{tt.a}, nil)
			if !errors.Is(err, ErrDegenerate) {
				t.Errorf("Embed = %v, %v; want an error wrapping ErrDegenerate", v, err)
			}
			for j, x := range v {
				if !math.IsNaN(float64(x)) {
					t.Errorf("Embed[%d] = %v, want NaN", j, x)
				}
			}
		})
	}
	if v, err := lineModel(t, 1).Embed([]float32{1e-3}, nil); err != nil || math.Abs(float64(v[0]*v[0]+v[1]*v[1])-1) > 1e-6 {
		t.Errorf("Embed(short but normalisable) = %v, %v; want a unit vector", v, err)
	}
}

// TestEmbedBatchNamesTrack: over several blocks (and so several
// goroutines), the error names the first track that cannot be normalised,
// and the other tracks are embedded.
func TestEmbedBatchNamesTrack(t *testing.T) {
	m := lineModel(t, 1)
	raw := make([]float32, 5*blockRows)
	for i := range raw {
		raw[i] = 1
	}
	raw[150], raw[250] = 0, 0
	vecs, err := m.EmbedBatch(raw, nil)
	var de *DegenerateError
	if !errors.Is(err, ErrDegenerate) || !errors.As(err, &de) || de.Track != 150 || !strings.Contains(err.Error(), "track 150:") {
		t.Fatalf("EmbedBatch = %v, want ErrDegenerate naming track 150", err)
	}
	if len(vecs) != 2*len(raw) || math.Abs(float64(vecs[0])-math.Sqrt(0.5)) > 1e-6 {
		t.Errorf("EmbedBatch embedded %d values, first %v; want %d, %v", len(vecs), vecs[0], 2*len(raw), math.Sqrt(0.5))
	}
	raw[150], raw[250] = 1, 1
	if _, err := m.EmbedBatch(raw, nil); err != nil {
		t.Errorf("EmbedBatch(all normalisable) = %v", err)
	}
}

// TestEmbedRejectsInput: raw values that are not whole tracks get errors,
// and the zero Model embeds nothing.
func TestEmbedRejectsInput(t *testing.T) {
	m := lineModel(t, 1)
	if _, err := m.Embed([]float32{1, 2}, nil); err == nil || !strings.Contains(err.Error(), "1 inputs") {
		t.Errorf("Embed(2 values for 1 input) = %v, want an error naming the input count", err)
	}
	if _, err := m.Embed(nil, nil); err == nil {
		t.Errorf("Embed(nil) = nil error")
	}
	var zero Model
	if d := zero.Dim(); d != 0 {
		t.Errorf("zero Model Dim() = %d, want 0", d)
	}
	if _, err := zero.Embed(nil, nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("zero Model Embed = %v, want an error saying it is empty", err)
	}
	if _, err := zero.EmbedBatch([]float32{1}, nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("zero Model EmbedBatch = %v, want an error saying it is empty", err)
	}
}

func BenchmarkEmbed(b *testing.B) {
	m := randomModel(b, 1)
	raw := randomRaw(1, 3)
	dst := make([]float32, m.Dim())
	b.ReportAllocs()
	c0 := cputime.Process()
	for b.Loop() {
		dst, _ = m.Embed(raw, dst)
	}
	reportRates(b, 1, cputime.Process()-c0)
}

func BenchmarkEmbedBatch(b *testing.B) {
	m := randomModel(b, 1)
	const n = 10000
	raw := randomRaw(n, 3)
	dst := make([]float32, n*m.Dim())
	b.ReportAllocs()
	c0 := cputime.Process()
	for b.Loop() {
		dst, _ = m.EmbedBatch(raw, dst)
	}
	reportRates(b, n, cputime.Process()-c0)
}

// reportRates reports tracks per wall second and per CPU second (user+sys
// of the whole process: steadier on a shared machine, and for EmbedBatch
// the work of both cores).
func reportRates(b *testing.B, perOp int, cpu time.Duration) {
	n := float64(b.N * perOp)
	b.ReportMetric(n/b.Elapsed().Seconds(), "tracks/s")
	if cpu > 0 {
		b.ReportMetric(n/cpu.Seconds(), "tracks/cpu-s")
	}
}
