package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"

	"github.com/audotics/soundalike/internal/indexbench"
)

// benchMode is one mode of soundalike-bench: its line in the usage text
// and what runs it.
type benchMode struct {
	summary string
	run     func(ctx context.Context, args []string, stdio stdio) error
}

// benchModes are the modes of soundalike-bench. Another mode is one more
// entry and one more function.
var benchModes = map[string]benchMode{
	"index": {"recall, latency, QPS, build time and memory of hnsw, flat and coder/hnsw", runBenchIndex},
}

func runBench(ctx context.Context, args []string, stdio stdio) error {
	names := slices.Sorted(maps.Keys(benchModes))
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdio.err, "Usage: go run ./cmd/soundalike-bench MODE [flags]\n\nModes:")
		for _, n := range names {
			fmt.Fprintf(stdio.err, "  %-8s %s\n", n, benchModes[n].summary)
		}
		if len(args) == 0 {
			return usagef("no mode given: want one of %s", strings.Join(names, ", "))
		}
		return nil
	}
	m, ok := benchModes[args[0]]
	if !ok {
		return usagef("unknown mode %q: want one of %s", args[0], strings.Join(names, ", "))
	}
	return m.run(ctx, args[1:], stdio)
}

func runBenchIndex(ctx context.Context, args []string, stdio stdio) error {
	fs := newFlagSet("index", stdio)
	var cfg indexbench.Config
	fs.IntVar(&cfg.N, "n", 100_000, "number of indexed vectors (with a file: at most this many)")
	fs.IntVar(&cfg.Dim, "dim", 64, "dimension of generated vectors (a file sets its own)")
	fs.IntVar(&cfg.K, "k", 20, "neighbours per query")
	fs.StringVar(&cfg.Data, "data", "clustered", "clustered, sphere, or a FILE: .fvecs, or text with one vector per line (comma/space separated); 1,000 of its vectors become the queries")
	fs.IntVar(&cfg.Queries, "queries", 1000, "number of queries")
	ef := fs.String("ef", "20,40,80,160,320", "efSearch `values` to sweep, comma separated")
	idx := fs.String("index", "hnsw,flat,coder", "indexes to run, comma separated: hnsw, flat, coder")
	fs.IntVar(&cfg.Options.M, "m", 16, "HNSW M")
	fs.IntVar(&cfg.Options.EfConstruction, "ef-construction", 200, "HNSW efConstruction")
	seed := fs.Int64("seed", 1, "HNSW level seed")
	fs.IntVar(&cfg.Repeat, "repeat", 1, "time the single-thread query pass this many times and report the fastest (for a busy machine)")
	build1 := fs.Bool("build-1", true, "also time hnsw's build on one thread (minutes at 1M)")
	fs.StringVar(&cfg.SaveData, "save-data", "", "write the vectors and queries to `PREFIX`.base.fvecs and PREFIX.query.fvecs")
	fs.StringVar(&cfg.SaveIndex, "save-index", "", "write the built hnsw index to `FILE`")
	fs.StringVar(&cfg.LoadIndex, "load-index", "", "read the hnsw index from `FILE` (saved with --save-index from the same --n, --dim and --data) instead of building it")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `FILE` (go tool pprof)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("index: unexpected argument %q", fs.Arg(0))
	}
	cfg.Options.Seed = *seed
	cfg.SkipBuild1 = !*build1
	for _, s := range strings.Split(*ef, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 1 {
			return usagef("index: --ef %q: want positive integers separated by commas", *ef)
		}
		cfg.EfSearch = append(cfg.EfSearch, v)
	}
	for _, s := range strings.Split(*idx, ",") {
		s = strings.TrimSpace(s)
		if s != "hnsw" && s != "flat" && s != "coder" {
			return usagef("index: --index %q: want hnsw, flat or coder, comma separated", s)
		}
		cfg.Indexes = append(cfg.Indexes, s)
	}
	switch {
	case cfg.N < 1:
		return usagef("index: --n %d: want ≥ 1", cfg.N)
	case cfg.Dim < 1 || cfg.Dim > 65536:
		return usagef("index: --dim %d: want 1..65536", cfg.Dim)
	case cfg.K < 1:
		return usagef("index: --k %d: want ≥ 1", cfg.K)
	case cfg.Queries < 1:
		return usagef("index: --queries %d: want ≥ 1", cfg.Queries)
	}
	if err := cfg.Options.Validate(); err != nil {
		return usagef("index: %v", err)
	}
	if !*quiet {
		cfg.Progress = stdio.err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("index: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := indexbench.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if *asJSON {
		return rep.WriteJSON(stdio.out)
	}
	return rep.WriteTable(stdio.out)
}
