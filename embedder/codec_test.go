package embedder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/model_v1.bin and model_v2.bin")

const fixture = "testdata/model_v1.bin"

func TestMarshalRoundTrip(t *testing.T) {
	m := randomModel(t, 7)
	b := m.Marshal()
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(Marshal(m)): %v", err)
	}
	if !bytes.Equal(got.Marshal(), b) {
		t.Fatal("Marshal(Unmarshal(b)) differs from b")
	}
	raw := randomRaw(50, 9)
	if a, b := mustEmbedBatch(t, m, raw), mustEmbedBatch(t, got, raw); !equal(a, b) {
		t.Fatal("the decoded model embeds differently")
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if r, err := Read(&buf); err != nil || !bytes.Equal(r.Marshal(), b) {
		t.Fatalf("Read(WriteTo(m)) = %v, want the same model", err)
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFixtureV1 checks that a version-1 file written by an earlier build
// still loads and embeds the same way. Regenerate (only when the format
// version changes, keeping the old file) with -update.
func TestFixtureV1(t *testing.T) {
	if *update {
		if err := os.WriteFile(fixture, randomModel(t, 42).Marshal(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(%s): %v", fixture, err)
	}
	if m.Dim() != 64 || len(m.Inputs()) != 14 || string(m.Config()) != `{"epochs":1}` {
		t.Fatalf("%s: dim %d, %d inputs, config %s; want 64, 14, {\"epochs\":1}", fixture, m.Dim(), len(m.Inputs()), m.Config())
	}
	// The fixture was written from randomModel(42): the code that builds
	// that model must give the same embeddings as the file.
	want := randomModel(t, 42)
	raw := randomRaw(20, 5)
	if !equal(mustEmbedBatch(t, m, raw), mustEmbedBatch(t, want, raw)) {
		t.Fatalf("%s embeds differently from the model it was written from", fixture)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good := randomModel(t, 3).Marshal()
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x40; return b }
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"other magic", append([]byte("NOTAMODL"), good[8:]...)},
		{"future version", func() []byte { b := bytes.Clone(good); b[8] = 3; return b }()},
		{"truncated", good[:len(good)-10]},
		{"padded", append(bytes.Clone(good), 0)},
		{"flipped payload bit", flip(100)},
		{"flipped checksum bit", flip(len(good) - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Unmarshal(tt.b); !errors.Is(err, ErrFormat) {
				t.Fatalf("Unmarshal(%s) error = %v, want ErrFormat", tt.name, err)
			}
		})
	}
}

// reframe fixes up the payload length and checksum of b, so that fuzzing
// reaches the payload decoder instead of stopping at the checksum.
func reframe(b []byte) []byte {
	if len(b) < headerLen+4 {
		return b
	}
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[len(Magic)+4:], uint32(len(b)-headerLen-4))
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
	return b
}

func FuzzUnmarshal(f *testing.F) {
	small, err := New([]Input{{Name: "key", Encoding: Cyclic, Param: 12, Indicator: true}, {Name: "b", Encoding: Log, Param: 1}},
		[]float32{0, 0, 0, 0}, []float32{1, 1, 1, 2},
		[]Layer{{In: 4, Out: 2, W: make([]float32, 8), B: make([]float32, 2), Activation: ReLU}}, []byte("{}"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, b := range [][]byte{b, reframe(b)} {
			m, err := Unmarshal(b)
			if err != nil {
				continue
			}
			if !bytes.Equal(m.Marshal(), b) {
				t.Fatal("Marshal(Unmarshal(b)) != b")
			}
			v, err := m.Embed(make([]float32, len(m.Inputs())), nil)
			if err != nil && !errors.Is(err, ErrDegenerate) {
				t.Fatalf("Embed of a decoded model: %v", err)
			}
			if len(v) != m.Dim() {
				t.Fatalf("Embed returned %d values, Dim is %d", len(v), m.Dim())
			}
		}
	})
}
