package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBenchIndex(t *testing.T) {
	var out, errw bytes.Buffer
	err := run(t.Context(), []string{"index", "--n", "400", "--dim", "8", "--k", "5", "--queries", "20", "--ef", "10,40", "--index", "hnsw,flat", "--json", "--quiet"}, &out, &errw)
	if err != nil {
		t.Fatalf("run = %v; stderr %s", err, errw.String())
	}
	var rep struct {
		N, Dim, K int
		Data      string
		Results   []struct {
			Index    string  `json:"index"`
			EfSearch int     `json:"ef_search"`
			Recall   float64 `json:"recall"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if rep.N != 400 || rep.Dim != 8 || rep.K != 5 || rep.Data != "clustered" || len(rep.Results) != 3 {
		t.Errorf("report = %+v, want n 400 dim 8 k 5 clustered and 3 rows", rep)
	}
}

// TestBenchIndexSaveLoad: --load-index measures the graph --save-index
// wrote, so its recall is the built one's, and a file from other data is
// refused.
func TestBenchIndexSaveLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "g.hnsw")
	bench := func(extra ...string) ([]float64, error) {
		args := append([]string{"index", "--n", "400", "--dim", "8", "--k", "5", "--queries", "20", "--ef", "10,40", "--index", "hnsw", "--build-1=false", "--json", "--quiet"}, extra...)
		var out, errw bytes.Buffer
		if err := run(t.Context(), args, &out, &errw); err != nil {
			return nil, err
		}
		var rep struct {
			Results []struct {
				Recall float64 `json:"recall"`
			}
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out.String())
		}
		var rs []float64
		for _, r := range rep.Results {
			rs = append(rs, r.Recall)
		}
		return rs, nil
	}
	built, err := bench("--save-index", file)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := bench("--load-index", file)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded, built) || len(built) != 2 {
		t.Errorf("recall with --load-index = %v, want the built graph's %v", loaded, built)
	}
	if _, err := bench("--load-index", file, "--n", "300"); err == nil || !strings.Contains(err.Error(), "other data") {
		t.Errorf("--load-index with another --n: error %v, want one saying the file holds other data", err)
	}
}

func TestBenchUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no mode", nil, "no mode"},
		{"unknown mode", []string{"disk"}, `unknown mode "disk"`},
		{"bad index", []string{"index", "--index", "annoy"}, `--index "annoy"`},
		{"bad ef", []string{"index", "--ef", "10,x"}, "--ef"},
		{"bad k", []string{"index", "--k", "0"}, "--k 0"},
		{"bad m", []string{"index", "--m", "1"}, "M = 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			err := run(t.Context(), c.args, &out, &errw)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("run(%q) = %v, want a usage error containing %q", c.args, err, c.want)
			}
		})
	}
}
