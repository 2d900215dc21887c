package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/audotics/soundalike/internal/cputime"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/internal/synth"
)

func init() {
	benchModes["reindex"] = benchMode{"full reindex (read, embed, build, save) against the index build alone, on a synthetic catalogue", runBenchReindex}
}

type benchReindexJSON struct {
	N            int     `json:"n"`
	Workers      int     `json:"workers"`
	ImportS      float64 `json:"import_s"`
	ImportRowsPS float64 `json:"import_rows_per_s"`
	EmbedS       float64 `json:"embed_s"`
	BuildS       float64 `json:"build_s"`
	ReindexS     float64 `json:"reindex_s"`
	Ratio        float64 `json:"ratio"`
	BuildCPUS    float64 `json:"build_cpu_s"`
	ReindexCPUS  float64 `json:"reindex_cpu_s"`
	CPURatio     float64 `json:"cpu_ratio"`
	DBBytes      int64   `json:"db_bytes"`
}

func runBenchReindex(ctx context.Context, args []string, stdio stdio) error {
	fs := newFlagSet("reindex", stdio)
	n := fs.Int("n", 100_000, "synthetic tracks")
	keep := fs.String("db", "", "build the catalogue in this database `path` and keep it (default: a temporary file); an existing file is reused as it is")
	asJSON := fs.Bool("json", false, "print JSON")
	var iopt index.Options
	indexFlags(fs, &iopt)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usagef("reindex: --n %d: want at least 1", *n)
	}
	if err := iopt.Validate(); err != nil {
		return usageError{err}
	}
	path := *keep
	if path == "" {
		dir, err := os.MkdirTemp("", "soundalike-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "bench.db")
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdio.err, format+"\n", a...) }
	out := benchReindexJSON{N: *n, Workers: iopt.Workers}

	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer eng.Close()
	model, err := synth.Model(1, []int{128, 64}, 64)
	if err != nil {
		return err
	}
	if c, _ := eng.Counts(); c.Tracks != *n {
		say("importing %d synthetic tracks…", *n)
		start := time.Now()
		err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			var t soundalike.Track
			for i := range *n {
				synth.Track(1, i, &t)
				if _, _, err := tx.PutTrack(&t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		out.ImportS = time.Since(start).Seconds()
		out.ImportRowsPS = float64(*n) / out.ImportS
		if _, err := eng.SaveModel(ctx, model, soundalike.ModelRun{}); err != nil {
			return err
		}
	}

	// The baseline: the index build alone, from embeddings already in memory.
	say("embedding (outside the timed build)…")
	var raws []float32
	names := model.Inputs()
	var t soundalike.Track
	ids := make([]uint32, *n)
	for i := range *n {
		synth.Track(1, i, &t)
		if raws, err = soundalike.RawInputs(&t, names, raws); err != nil {
			return err
		}
		ids[i] = uint32(i)
	}
	start := time.Now()
	vecs, err := model.EmbedBatch(raws, nil)
	if err != nil {
		return err
	}
	out.EmbedS = time.Since(start).Seconds()
	raws = nil
	say("building the index alone (%d workers)…", iopt.Workers)
	runtime.GC()
	start = time.Now()
	cpu0 := cputime.Process()
	g, err := index.New(64, &iopt)
	if err != nil {
		return err
	}
	if err := g.AddBatch(ids, vecs); err != nil {
		return err
	}
	out.BuildS = time.Since(start).Seconds()
	out.BuildCPUS = (cputime.Process() - cpu0).Seconds()
	g, vecs = nil, nil
	runtime.GC()

	say("full reindex (read, embed, build, save)…")
	stages := map[string]time.Time{}
	var order []string
	rstart := time.Now()
	cpu0 = cputime.Process()
	sum, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Full: true, Index: iopt, Progress: func(stage string, done, total int) {
		if _, ok := stages[stage]; !ok {
			stages[stage] = time.Now()
			order = append(order, stage)
		}
	}})
	prev := rstart
	for _, st := range order {
		say("  %-6s starts at +%.2fs (previous stage %.2fs)", st, stages[st].Sub(rstart).Seconds(), stages[st].Sub(prev).Seconds())
		prev = stages[st]
	}
	if err != nil {
		return err
	}
	out.ReindexS = sum.Took.Seconds()
	out.ReindexCPUS = (cputime.Process() - cpu0).Seconds()
	out.Ratio = out.ReindexS / out.BuildS
	out.CPURatio = out.ReindexCPUS / out.BuildCPUS
	if st, err := os.Stat(path); err == nil {
		out.DBBytes = st.Size()
	}
	if *asJSON {
		return json.NewEncoder(stdio.out).Encode(out)
	}
	fmt.Fprintf(stdio.out, "n=%d workers=%d  embed %.2fs  build alone %.2fs (%.1f CPU-s)  full reindex %.2fs (%.1f CPU-s)  ratio %.3f wall, %.3f CPU  (import %.0f rows/s, db %d MiB)\n",
		out.N, out.Workers, out.EmbedS, out.BuildS, out.BuildCPUS, out.ReindexS, out.ReindexCPUS, out.Ratio, out.CPURatio, out.ImportRowsPS, out.DBBytes>>20)
	return nil
}
