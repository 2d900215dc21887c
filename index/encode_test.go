package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite testdata/graph_v1.bin and its golden results")

// smallGraph is a deterministic (one worker) index with tombstones and an
// update, the shape of the v1 fixture.
func smallGraph(t testing.TB) (*HNSW, []float32) {
	t.Helper()
	const dim = 8
	data := clustered(300, dim, 5, 6)
	g := mustHNSW(t, dim, &Options{M: 6, EfConstruction: 40, EfSearch: 30, Seed: 9, Workers: 1}, data)
	for id := uint32(0); id < 300; id += 7 {
		g.Delete(id)
	}
	if err := g.Add(3, clustered(1, dim, 5, 99)); err != nil {
		t.Fatal(err)
	}
	return g, clustered(20, dim, 5, 7)
}

func searchAll(t testing.TB, s interface {
	Search([]float32, int, Filter) ([]Result, error)
}, queries []float32, dim, k int) [][]Result {
	t.Helper()
	var out [][]Result
	for i := 0; i < len(queries); i += dim {
		r, err := s.Search(queries[i:i+dim], k, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestSaveLoadRoundTrip(t *testing.T) {
	t.Run("hnsw", func(t *testing.T) {
		n := small(3000)
		data := clustered(n, 32, 1, 2)
		g := mustHNSW(t, 32, nil, data)
		for id := uint32(0); id < uint32(n); id += 11 {
			g.Delete(id)
		}
		queries := clustered(50, 32, 1, 3)
		var buf bytes.Buffer
		written, err := g.WriteTo(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if written != int64(buf.Len()) {
			t.Errorf("WriteTo = %d bytes, buffer holds %d", written, buf.Len())
		}
		h, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		want := searchAll(t, g, queries, 32, 20)
		got := searchAll(t, h, queries, 32, 20)
		if d := cmp.Diff(got, want); d != "" {
			t.Errorf("results after reload differ (-got +want):\n%s", d)
		}
		if gs, ws := h.Stats(), g.Stats(); gs.Len != ws.Len || gs.Tombstones != ws.Tombstones || gs.MaxLevel != ws.MaxLevel {
			t.Errorf("Stats after reload = %+v, want %+v", gs, ws)
		}
		// The reloaded index keeps working.
		if err := h.Add(5000, queries[:32]); err != nil {
			t.Fatal(err)
		}
		r, err := h.Search(queries[:32], 1, nil)
		if err != nil || len(r) != 1 || r[0].ID != 5000 {
			t.Errorf("Search after Add on reloaded index = %v, %v; want id 5000 first", r, err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		g, _ := New(4, nil)
		h := reread(t, g)
		if h.Len() != 0 || h.Dim() != 4 {
			t.Errorf("reloaded empty index: Len %d Dim %d, want 0 and 4", h.Len(), h.Dim())
		}
	})
}

func TestReadCorrupt(t *testing.T) {
	g, _ := smallGraph(t)
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()

	t.Run("every truncation", func(t *testing.T) {
		// Every cut in the header and the first frames, then a stride.
		for n := 0; n < len(good); n += max(1, (n-300)/8) {
			_, err := Read(bytes.NewReader(good[:n]))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read(first %d of %d bytes) = %v, want ErrCorrupt", n, len(good), err)
			}
		}
	})
	t.Run("bit flips", func(t *testing.T) {
		bad := bytes.Clone(good)
		for i := 0; i < len(good); i += 97 {
			bad[i] ^= 0x10
			_, err := Read(bytes.NewReader(bad))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read with byte %d flipped = %v, want ErrCorrupt", i, err)
			}
			bad[i] = good[i]
		}
	})
	t.Run("trailing data", func(t *testing.T) {
		bad := append(bytes.Clone(good[:len(good)-8]), frameOf([]byte("more"))...)
		bad = append(bad, make([]byte, 8)...)
		if _, err := Read(bytes.NewReader(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Read with an extra frame = %v, want ErrCorrupt", err)
		}
	})
	t.Run("wrong kind", func(t *testing.T) {
		p := bytes.Clone(unframe(good))
		binary.LittleEndian.PutUint32(p[4:], 2) // the kind
		_, err := Read(bytes.NewReader(stream(p)))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "kind 2") {
			t.Errorf("Read(stream of kind 2) = %v, want ErrCorrupt naming the kind", err)
		}
	})
	t.Run("huge counts", func(t *testing.T) {
		// A well-framed header claiming 4 billion nodes and no data must fail
		// on the missing bytes, not allocate for the claim.
		var p []byte
		for _, v := range []uint32{formatV1, kindHNSW, 64, 16, 200, 80} {
			p = binary.LittleEndian.AppendUint32(p, v)
		}
		p = binary.LittleEndian.AppendUint64(p, 1)
		p = binary.LittleEndian.AppendUint64(p, 0x3fc999999999999a) // 0.2
		for _, v := range []uint32{maxReadNode, maxReadNode, 3, 0, 0} {
			p = binary.LittleEndian.AppendUint32(p, v)
		}
		s := append([]byte(magic), frameOf(p)...)
		s = append(s, make([]byte, 8)...)
		_, err := Read(bytes.NewReader(s))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("Read(huge header) = %v, want ErrCorrupt", err)
		}
	})
}

// frameOf wraps p in one valid frame.
func frameOf(p []byte) []byte {
	h := binary.LittleEndian.AppendUint32(nil, uint32(len(p)))
	h = binary.LittleEndian.AppendUint32(h, crc32.Checksum(p, castagnoli))
	return append(h, p...)
}

// TestReadFixtureV1 loads the committed version-1 stream and checks it
// answers as it did when it was written.
func TestReadFixtureV1(t *testing.T) {
	bin := filepath.Join("testdata", "graph_v1.bin")
	golden := filepath.Join("testdata", "graph_v1.golden")
	g, queries := smallGraph(t)
	if *update {
		var buf bytes.Buffer
		if _, err := g.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(bin, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var gb bytes.Buffer
		for _, rs := range searchAll(t, g, queries, 8, 5) {
			for _, r := range rs {
				binary.Write(&gb, binary.LittleEndian, r)
			}
		}
		if err := os.WriteFile(golden, gb.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := Read(f)
	if err != nil {
		t.Fatalf("Read(%s) = %v", bin, err)
	}
	gb, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]Result, len(gb)/8)
	if err := binary.Read(bytes.NewReader(gb), binary.LittleEndian, want); err != nil {
		t.Fatal(err)
	}
	var got []Result
	for _, rs := range searchAll(t, h, queries, 8, 5) {
		got = append(got, rs...)
	}
	// The fixture's float32 vectors are searched as halves (scores within
	// 1e-3 of the golden's).
	if d := cmp.Diff(got, want, cmpopts.EquateApprox(0, 1e-3)); d != "" {
		t.Errorf("fixture results differ from golden (-got +want):\n%s", d)
	}
	// The fixture is also what the current code writes: a format change
	// must bump the version and keep reading v1. The differences allowed:
	// the fixture's vectors come back rounded to halves, and version 1
	// writers left stale slots in the unused tail of a layer-0 list (past
	// its count) where the current one writes zeros.
	var buf bytes.Buffer
	h.WriteTo(&buf)
	old, _ := os.ReadFile(bin)
	if got, want := unframe(buf.Bytes()), zeroLayer0Tails(t, halveVectors(unframe(old))); !bytes.Equal(got, want) {
		t.Errorf("re-encoding the v1 fixture gives different bytes (%d vs %d)", len(got), len(want))
	}
}

// halveVectors returns a copy of a version-1 HNSW payload with every
// vector component rounded to half precision.
func halveVectors(p []byte) []byte {
	p = bytes.Clone(p)
	u32 := func(off int) int { return int(binary.LittleEndian.Uint32(p[off:])) }
	dim, nodes := u32(8), u32(40)
	off := 60 + nodes*(4+1+1) // header, ids, levels, dead
	for i := range nodes * dim {
		b := p[off+4*i:]
		f := math.Float32frombits(binary.LittleEndian.Uint32(b))
		binary.LittleEndian.PutUint32(b, math.Float32bits(fromHalf(toHalf(f))))
	}
	return p
}

// zeroLayer0Tails returns a copy of a version-1 HNSW payload with every
// layer-0 list entry past the list's count set to zero.
func zeroLayer0Tails(t *testing.T, p []byte) []byte {
	t.Helper()
	p = bytes.Clone(p)
	u32 := func(off int) int { return int(binary.LittleEndian.Uint32(p[off:])) }
	dim, m, nodes := u32(8), u32(12), u32(40)
	off := 60 + nodes*(4+1+1+4*dim) // header, ids, levels, dead, vectors
	for range nodes {
		c := u32(off)
		clear(p[off+4+4*c : off+4*(1+2*m)])
		off += 4 * (1 + 2*m)
	}
	return p
}

func FuzzRead(f *testing.F) {
	g, _ := smallGraph(f)
	var buf bytes.Buffer
	g.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:100])
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := Read(bytes.NewReader(b)); err == nil {
			h.Search(make([]float32, h.Dim())[:0:0], 3, nil)
			q := make([]float32, h.Dim())
			q[0] = 1
			h.Search(q, 3, nil)
		}
	})
}

// FuzzReadPayload fuzzes the structure checks behind the checksums: the
// input is the payload, framed with valid checksums, so mutations reach the
// decoder instead of failing at the first frame.
func FuzzReadPayload(f *testing.F) {
	g, _ := smallGraph(f)
	var buf bytes.Buffer
	g.WriteTo(&buf)
	f.Add(unframe(buf.Bytes()))
	f.Fuzz(func(t *testing.T, p []byte) {
		if h, err := Read(bytes.NewReader(stream(p))); err == nil {
			q := make([]float32, h.Dim())
			q[0] = 1
			h.Search(q, 5, nil)
			h.Add(1<<31, q)
			h.Search(q, 5, func(id uint32) bool { return id%2 == 0 })
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Read = %v, want nil or ErrCorrupt", err)
		}
	})
}

// stream frames payload p into a stream with valid checksums, the
// inverse of unframe.
func stream(p []byte) []byte {
	s := []byte(magic)
	for len(p) > 0 {
		k := min(len(p), frameMax)
		s = append(s, frameOf(p[:k])...)
		p = p[k:]
	}
	return append(s, make([]byte, 8)...)
}

// unframe returns the concatenated payloads of a valid stream.
func unframe(s []byte) []byte {
	s = s[len(magic):]
	var p []byte
	for len(s) >= 8 {
		n := binary.LittleEndian.Uint32(s)
		if n == 0 {
			break
		}
		p = append(p, s[8:8+n]...)
		s = s[8+n:]
	}
	return p
}
