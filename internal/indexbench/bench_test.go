package indexbench

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGenerate(t *testing.T) {
	for _, kind := range []string{"clustered", "sphere"} {
		v, err := Generate(kind, 200, 16, 42, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 200*16 {
			t.Fatalf("Generate(%s) = %d floats, want %d", kind, len(v), 200*16)
		}
		for i := 0; i < len(v); i += 16 {
			var ss float64
			for _, x := range v[i : i+16] {
				ss += float64(x) * float64(x)
			}
			if math.Abs(ss-1) > 1e-5 {
				t.Fatalf("Generate(%s) vector %d has squared norm %v, want 1", kind, i/16, ss)
			}
		}
		w, _ := Generate(kind, 200, 16, 42, 1)
		if !cmp.Equal(v, w) {
			t.Errorf("Generate(%s) is not reproducible", kind)
		}
	}
	// A clustered point has same-cluster neighbours at cosine ≈ 1/(1+0.49);
	// on the sphere in 64-d the nearest of 1,000 is near 0.45.
	meanMaxDot := func(kind string) float64 {
		const n, d = 1000, 64
		v, _ := Generate(kind, n, d, 42, 1)
		var s float64
		for i := range 100 {
			best := -1.0
			for j := range n {
				if j == i {
					continue
				}
				var x float64
				for c := range d {
					x += float64(v[i*d+c]) * float64(v[j*d+c])
				}
				best = max(best, x)
			}
			s += best
		}
		return s / 100
	}
	if c, s := meanMaxDot("clustered"), meanMaxDot("sphere"); c < 0.6 || s > 0.55 {
		t.Errorf("mean nearest-neighbour cosine: clustered %.3f (want > 0.6), sphere %.3f (want < 0.55)", c, s)
	}
	if _, err := Generate("cubes", 1, 1, 1, 1); err == nil {
		t.Errorf("Generate(cubes) = nil error")
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "v.txt")
	os.WriteFile(txt, []byte("# comment\n1, 2, 3\n\n4 5 6\n7\t8\t9\n"), 0o644)
	v, dim, err := ReadFile(txt, 0)
	if err != nil || dim != 3 || !cmp.Equal(v, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("ReadFile(text) = %v, %d, %v", v, dim, err)
	}
	if v, _, _ := ReadFile(txt, 2); len(v) != 6 {
		t.Errorf("ReadFile(text, max 2) = %v, want 2 vectors", v)
	}
	fv := filepath.Join(dir, "v.fvecs")
	var b bytes.Buffer
	for _, vec := range [][]float32{{1, 2}, {3, 4}} {
		binary.Write(&b, binary.LittleEndian, int32(2))
		binary.Write(&b, binary.LittleEndian, vec)
	}
	os.WriteFile(fv, b.Bytes(), 0o644)
	v, dim, err = ReadFile(fv, 0)
	if err != nil || dim != 2 || !cmp.Equal(v, []float32{1, 2, 3, 4}) {
		t.Errorf("ReadFile(fvecs) = %v, %d, %v", v, dim, err)
	}
	bad := []struct{ name, body, want string }{
		{"ragged.txt", "1 2 3\n4 5\n", "ragged.txt:2: 2 components, want 3"},
		{"nan.txt", "1 NaN\n", "nan.txt:1: component 2"},
		{"word.txt", "1 x\n", `component 2 = "x"`},
		{"empty.txt", "\n", "no vectors"},
		{"short.fvecs", "\x02\x00\x00\x00\x00\x00", "vector 0"},
	}
	for _, c := range bad {
		p := filepath.Join(dir, c.name)
		os.WriteFile(p, []byte(c.body), 0o644)
		if _, _, err := ReadFile(p, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadFile(%s) = %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestRun(t *testing.T) {
	rep, err := Run(t.Context(), Config{N: 1500, Dim: 16, K: 10, Queries: 50, EfSearch: []int{10, 60}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Index)
		if r.MeanUS <= 0 || r.QPS1 <= 0 || r.QPSAll <= 0 || r.MemoryBytes <= 0 || r.P99US < r.P50US {
			t.Errorf("row %+v: want positive timings and memory, p99 ≥ p50", r)
		}
	}
	if d := cmp.Diff(got, []string{"hnsw", "hnsw", "flat", "coder", "coder"}); d != "" {
		t.Errorf("rows (-got +want):\n%s", d)
	}
	if r := rep.Results[2]; r.Recall != 1 || r.EfSearch != 0 {
		t.Errorf("flat row = %+v, want recall 1 and ef 0", r)
	}
	if r := rep.Results[1]; r.Recall < 0.95 {
		t.Errorf("hnsw ef=60 recall = %v, want ≥ 0.95", r.Recall)
	}
	var buf bytes.Buffer
	rep.WriteJSON(&buf)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	row := m["results"].([]any)[0].(map[string]any)
	for _, key := range []string{"index", "ef_search", "recall", "mean_us", "p50_us", "p99_us", "qps_1", "qps_all", "build_s", "build_s_1", "memory_bytes"} {
		if _, ok := row[key]; !ok {
			t.Errorf("JSON row lacks %q: %s", key, buf.String())
		}
	}
	if m["n"] != 1500.0 || m["dim"] != 16.0 || m["k"] != 10.0 || m["data"] != "clustered" {
		t.Errorf("JSON header = %s", buf.String())
	}
	buf.Reset()
	rep.WriteTable(&buf)
	if !strings.Contains(buf.String(), "recall@10") || strings.Count(buf.String(), "\n") != 7 {
		t.Errorf("table:\n%s", buf.String())
	}
}

func TestRunBadConfig(t *testing.T) {
	for _, c := range []Config{{K: -1}, {Indexes: []string{"annoy"}}, {EfSearch: []int{0}}, {Data: "/nonexistent/x.txt"}} {
		if _, err := Run(t.Context(), c); err == nil {
			t.Errorf("Run(%+v) = nil error", c)
		}
	}
}
