package embedder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/audotics/soundalike/internal/cputime"
)

const fixtureV2 = "testdata/model_v2.bin"

// tableShape is one table of randomTableModel: its slots, vocabulary size,
// buckets, and first-layer and output dimensions.
type tableShape struct {
	name                               string
	slots, vocab, buckets, dim, outDim int
}

// autoShape is the shape of the default (auto) feature set's tables.
var autoShape = []tableShape{{"artists", 2, 9200, 4096, 8, 64}, {"album", 1, 16300, 4096, 8, 64}}

// randomTableModel returns randomModel's inputs plus token inputs and
// tables of the given shapes, with seeded random weights, vocabularies
// and seeds; hidden layers 128-64, output 64.
func randomTableModel(t testing.TB, seed uint64, shapes []tableShape) *Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	base := randomModel(t, seed)
	inputs := base.InputSpecs()
	var tables []Table
	for ti, s := range shapes {
		for k := 1; k <= s.slots; k++ {
			inputs = append(inputs, Input{Name: s.name + "_" + strconv.Itoa(k), Encoding: Token, Table: ti})
		}
		tb := Table{Name: s.name, Dim: s.dim, OutDim: s.outDim, Buckets: s.buckets, Seed: rng.Uint32()}
		seen := map[uint32]bool{}
		for len(tb.Vocab) < s.vocab {
			id := uint32(rng.IntN(1 << 24))
			if !seen[id] {
				seen[id] = true
				tb.Vocab = append(tb.Vocab, id)
			}
		}
		slices.Sort(tb.Vocab)
		tb.W = make([]float32, tb.Rows()*tb.RowWidth())
		for i := range tb.W {
			tb.W[i] = float32(rng.NormFloat64())
		}
		tables = append(tables, tb)
	}
	mean, std := base.Standardization()
	w := base.NumericWidth()
	for _, tb := range tables {
		w += tb.Dim
	}
	var layers []Layer
	in := w
	for i, out := range []int{128, 64, 64} {
		l := Layer{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out)}
		for j := range l.W {
			l.W[j] = float32(rng.NormFloat64() / math.Sqrt(float64(in)))
		}
		if i < 2 {
			l.Activation = ReLU
		}
		layers = append(layers, l)
		in = out
	}
	m, err := Build(Parts{Inputs: inputs, Mean: mean, Std: std, Tables: tables, Layers: layers, Config: []byte(`{"epochs":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomTableRaw returns n tracks of raw inputs for m: randomRaw's numeric
// values, and per token slot a vocabulary id, an unseen id or NaN.
func randomTableRaw(m *Model, n int, seed uint64) []float32 {
	num := randomRaw(n, seed)
	rng := rand.New(rand.NewPCG(seed, 12))
	specs := m.InputSpecs()
	var raw []float32
	for r := 0; r < n; r++ {
		raw = append(raw, num[r*14:(r+1)*14]...)
		for _, in := range specs[14:] {
			t := &m.tables[in.Table]
			switch rng.IntN(4) {
			case 0:
				raw = append(raw, float32(math.NaN()))
			case 1:
				raw = append(raw, float32(rng.IntN(1<<24)))
			default:
				raw = append(raw, float32(t.Vocab[rng.IntN(len(t.Vocab))]))
			}
		}
	}
	return raw
}

func TestTableEmbedMatchesDefinition(t *testing.T) {
	m := randomTableModel(t, 1, []tableShape{{"artists", 3, 50, 7, 4, 64}, {"album", 1, 20, 3, 3, 0}, {"name", 8, 100, 16, 5, 64}})
	n := 200
	raw := randomTableRaw(m, n, 3)
	ni, dim := len(m.Inputs()), m.Dim()
	batch := mustEmbedBatch(t, m, raw)
	for r := 0; r < n; r++ {
		want := naiveEmbed(m, raw[r*ni:(r+1)*ni])
		one := mustEmbed(t, m, raw[r*ni:(r+1)*ni])
		for j := range want {
			if d := math.Abs(float64(one[j]) - want[j]); d > 1e-5 {
				t.Fatalf("track %d: Embed[%d] = %v, want %v", r, j, one[j], want[j])
			}
			if batch[r*dim+j] != one[j] {
				t.Fatalf("track %d: EmbedBatch[%d] = %v, Embed gave %v", r, j, batch[r*dim+j], one[j])
			}
		}
	}
}

func TestTableRow(t *testing.T) {
	tb := Table{Name: "a", Dim: 1, Vocab: []uint32{5, 9, 100}, Buckets: 4, Seed: 7}
	for i, id := range tb.Vocab {
		if r := tb.Row(id); r != i {
			t.Fatalf("Row(%d) = %d, want its vocabulary position %d", id, r, i)
		}
	}
	hit := map[int]bool{}
	for id := uint32(0); id < 1000; id++ {
		if slices.Contains(tb.Vocab, id) {
			continue
		}
		r := tb.Row(id)
		if r < 3 || r >= 7 {
			t.Fatalf("Row(%d) = %d, want a bucket row in 3..6", id, r)
		}
		hit[r] = true
	}
	if len(hit) != 4 {
		t.Fatalf("unseen ids reach %d of the 4 buckets", len(hit))
	}
}

func TestNameTokens(t *testing.T) {
	got := NameTokens("Don't Stop - LIVE", 100, nil)
	want := []uint32{TokenID(KindWord, "don"), TokenID(KindWord, "t"), TokenID(KindWord, "stop"), TokenID(KindWord, "live"),
		TokenID(KindGram, "<do"), TokenID(KindGram, "don"), TokenID(KindGram, "on>"), TokenID(KindGram, "<t>")}
	if !slices.Equal(got[:len(want)], want) {
		t.Fatalf("NameTokens = %v, want it to start %v", got, want)
	}
	if n := len(NameTokens("Don't Stop - LIVE", 3, nil)); n != 3 {
		t.Fatalf("NameTokens(max 3) gave %d tokens", n)
	}
	if TokenID(KindWord, "ab") == TokenID(KindGram, "ab") {
		t.Fatal("a word and a 3-gram spelt alike share an id")
	}
	for _, s := range []string{"", "x", "Ünïcödé straße"} {
		for _, id := range NameTokens(s, 64, nil) {
			if id >= 1<<24 || float32(id) != float32(int(id)) {
				t.Fatalf("%q: token id %d does not fit a float32 exactly", s, id)
			}
		}
	}
	if Key("  The   Weeknd ") != "the weeknd" {
		t.Fatalf("Key = %q", Key("  The   Weeknd "))
	}
}

func TestMarshalV2RoundTrip(t *testing.T) {
	m := randomTableModel(t, 5, []tableShape{{"artists", 2, 30, 5, 4, 64}, {"album", 1, 10, 2, 3, 0}})
	b := m.Marshal()
	if v := binary.LittleEndian.Uint32(b[len(Magic):]); v != 2 {
		t.Fatalf("a model with tables is written as version %d, want 2", v)
	}
	if v := binary.LittleEndian.Uint32(randomModel(t, 5).Marshal()[len(Magic):]); v != 1 {
		t.Fatalf("a model without tables is written as version %d, want 1", v)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), b) {
		t.Fatal("Marshal(Unmarshal(b)) differs from b")
	}
	raw := randomTableRaw(m, 50, 9)
	if !equal(mustEmbedBatch(t, m, raw), mustEmbedBatch(t, got, raw)) {
		t.Fatal("the decoded model embeds differently")
	}
	// Another tokenizer's ids would find the wrong rows: refused.
	i := bytes.Index(b, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, TokenizerVersion), 2))
	if i < 0 {
		t.Fatal("tokenizer version not found in the file")
	}
	bad := bytes.Clone(b)
	bad[i] = TokenizerVersion + 1
	if _, err := Unmarshal(reframe(bad)); !errors.Is(err, ErrFormat) {
		t.Fatalf("a file of tokenizer version %d: error %v, want ErrFormat", TokenizerVersion+1, err)
	}
}

// TestFixtureV2 checks that a version-2 file written by an earlier build
// still loads and embeds the same way. Regenerate only when the format
// version changes (keeping the old file), with -update.
func TestFixtureV2(t *testing.T) {
	shapes := []tableShape{{"artists", 2, 40, 8, 4, 64}, {"album", 1, 20, 4, 3, 0}}
	if *update {
		if err := os.WriteFile(fixtureV2, randomTableModel(t, 42, shapes).Marshal(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(fixtureV2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(%s): %v", fixtureV2, err)
	}
	if len(m.Tables()) != 2 || len(m.Inputs()) != 17 || string(m.Config()) != `{"epochs":2}` {
		t.Fatalf("%s: %d tables, %d inputs, config %s; want 2, 17, {\"epochs\":2}", fixtureV2, len(m.Tables()), len(m.Inputs()), m.Config())
	}
	want := randomTableModel(t, 42, shapes)
	raw := randomTableRaw(want, 20, 5)
	if !equal(mustEmbedBatch(t, m, raw), mustEmbedBatch(t, want, raw)) {
		t.Fatalf("%s embeds differently from the model it was written from", fixtureV2)
	}
}

// BenchmarkEmbedOneCore embeds blocks of 64 tracks on one goroutine, with
// a model of the audio+extras shape (v1: 14 numeric inputs) and of the
// default auto shape (plus the artist table, with its direct output
// columns, and the album table).
func BenchmarkEmbedOneCore(b *testing.B) {
	b.Run("v1", func(b *testing.B) {
		m := randomModel(b, 1)
		embedOneCore(b, m, randomRaw(10000, 3))
	})
	b.Run("auto", func(b *testing.B) {
		m := randomTableModel(b, 1, autoShape)
		embedOneCore(b, m, randomTableRaw(m, 10000, 3))
	})
}

func embedOneCore(b *testing.B, m *Model, raw []float32) {
	ni, dim := len(m.Inputs()), m.Dim()
	n := len(raw) / ni
	dst := make([]float32, n*dim)
	b.ReportAllocs()
	c0 := cputime.Process()
	for b.Loop() {
		s := m.scratch(blockRows)
		for lo := 0; lo < n; lo += blockRows {
			hi := min(n, lo+blockRows)
			m.forward(raw[lo*ni:hi*ni], hi-lo, dst[lo*dim:hi*dim], s)
		}
		m.pool.Put(s)
	}
	reportRates(b, n, cputime.Process()-c0)
}
