// Package indexbench measures the vector indexes: recall@k against exact
// search, single-thread latency, throughput, build time and memory, for
// index.HNSW, index.Flat and the coder/hnsw adapter side by side. It is the
// engine of `go run ./cmd/soundalike-bench index`.
package indexbench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/audotics/soundalike/internal/cputime"

	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/internal/coderhnsw"
)

// Config says what to measure. Zero fields take the defaults noted.
type Config struct {
	N       int    // indexed vectors; default 100,000 (with a file: all of it, at most N if set)
	Dim     int    // default 64; ignored for a file
	K       int    // neighbours per query; default 20
	Data    string // "clustered" (default), "sphere", or a file path (see ReadFile)
	Queries int    // default 1,000

	// EfSearch is the sweep for the graph indexes; default 20, 40, 80, 160, 320.
	EfSearch []int
	// Indexes to run, in order; default hnsw, flat, coder.
	Indexes []string
	// Options for hnsw and coder (M, EfConstruction, Seed); Workers and
	// EfSearch are set by the benchmark.
	Options index.Options

	// Repeat is how many times the single-thread query pass runs; the
	// pass with the lowest mean is reported. Default 1.
	Repeat int

	// SkipBuild1 skips hnsw's one-thread build (its build_s_1 is then 0),
	// which at 1M vectors costs minutes.
	SkipBuild1 bool

	// SaveData, if set, is a path prefix: the indexed vectors and the
	// queries are written to PREFIX.base.fvecs and PREFIX.query.fvecs
	// (see ref/hnswlib_ref.cc and ref/hnswlib_ref.py, which measures hnswlib on them).
	SaveData string

	// SaveIndex, if set, is a file the hnsw index is written to after its
	// build (index.HNSW.WriteTo). LoadIndex, if set, is such a file: hnsw
	// is read from it instead of built (build_s is then the load time and
	// the one-thread build is skipped), so that experiments on a large
	// graph need not rebuild it. The file must have been saved from the
	// same data (N, Dim, Data); Run checks the count and dimension.
	SaveIndex, LoadIndex string

	// Progress, if set, receives one line per step.
	Progress io.Writer
}

// Row is one index at one efSearch (Flat has one row, with EfSearch 0).
type Row struct {
	Index       string  `json:"index"`
	EfSearch    int     `json:"ef_search"`
	Recall      float64 `json:"recall"`
	MeanUS      float64 `json:"mean_us"`
	P50US       float64 `json:"p50_us"`
	P99US       float64 `json:"p99_us"`
	QPS1        float64 `json:"qps_1"`
	QPSAll      float64 `json:"qps_all"`
	BuildS      float64 `json:"build_s"`   // all threads
	BuildS1     float64 `json:"build_s_1"` // one thread
	MemoryBytes int64   `json:"memory_bytes"`

	// CPU time, for a machine shared with other work: the mean on-CPU time
	// of a single-thread query, and the process CPU time of the one-thread
	// build (0 where the OS does not report it).
	CPUMeanUS  float64 `json:"cpu_mean_us"`
	BuildCPUS1 float64 `json:"build_cpu_s_1"`
}

// Report is the result of Run; its JSON is the --json output.
type Report struct {
	N       int    `json:"n"`
	Dim     int    `json:"dim"`
	K       int    `json:"k"`
	Data    string `json:"data"`
	Threads int    `json:"threads"`
	Results []Row  `json:"results"`
}

// searcher is what the benchmark needs from an index.
type searcher interface {
	AddBatch(ids []uint32, vecs []float32) error
	SearchInto(dst []index.Result, q []float32, k int, f index.Filter, ef int) ([]index.Result, error)
}

func (c *Config) fill() error {
	if c.N == 0 {
		c.N = 100_000
	}
	if c.Dim == 0 {
		c.Dim = 64
	}
	if c.K == 0 {
		c.K = 20
	}
	if c.Data == "" {
		c.Data = "clustered"
	}
	if c.Queries == 0 {
		c.Queries = 1000
	}
	if len(c.EfSearch) == 0 {
		c.EfSearch = []int{20, 40, 80, 160, 320}
	}
	if len(c.Indexes) == 0 {
		c.Indexes = []string{"hnsw", "flat", "coder"}
	}
	switch {
	case c.N < 1:
		return fmt.Errorf("n = %d: want ≥ 1", c.N)
	case c.Dim < 1 || c.Dim > index.MaxDim:
		return fmt.Errorf("dim = %d: want 1..%d", c.Dim, index.MaxDim)
	case c.K < 1:
		return fmt.Errorf("k = %d: want ≥ 1", c.K)
	case c.Queries < 1:
		return fmt.Errorf("queries = %d: want ≥ 1", c.Queries)
	}
	for _, name := range c.Indexes {
		if name != "hnsw" && name != "flat" && name != "coder" {
			return fmt.Errorf("index %q: want hnsw, flat or coder", name)
		}
	}
	for _, ef := range c.EfSearch {
		if ef < 1 || ef > index.MaxEf {
			return fmt.Errorf("efSearch %d: want 1..%d", ef, index.MaxEf)
		}
	}
	return c.Options.Validate()
}

func (c *Config) logf(format string, a ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", a...)
	}
}

// Run builds each index on the data and measures it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	data, queries, err := cfg.load()
	if err != nil {
		return nil, err
	}
	if cfg.SaveData != "" {
		if err := WriteFvecs(cfg.SaveData+".base.fvecs", data, cfg.Dim); err != nil {
			return nil, err
		}
		if err := WriteFvecs(cfg.SaveData+".query.fvecs", queries, cfg.Dim); err != nil {
			return nil, err
		}
	}
	n := len(data) / cfg.Dim
	threads := runtime.GOMAXPROCS(0)
	rep := &Report{N: n, Dim: cfg.Dim, K: cfg.K, Data: cfg.Data, Threads: threads}
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(i)
	}

	cfg.logf("ground truth: exact search of %d queries over %d vectors", cfg.Queries, n)
	flat, err := index.NewFlat(cfg.Dim)
	if err != nil {
		return nil, err
	}
	if err := flat.AddBatch(ids, data); err != nil {
		return nil, err
	}
	truth, err := groundTruth(flat, queries, cfg.Dim, cfg.K, threads)
	if err != nil {
		return nil, err
	}
	flat = nil

	for _, name := range cfg.Indexes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var (
			idx              searcher
			build1, buildAll time.Duration
			mem              int64
			buildCPU1        time.Duration
		)
		switch name {
		case "hnsw":
			if cfg.LoadIndex != "" {
				cfg.logf("hnsw: loading %s", cfg.LoadIndex)
				idx, buildAll, mem, err = loadHNSW(cfg.LoadIndex, n, cfg.Dim)
				break
			}
			o := cfg.Options
			if !cfg.SkipBuild1 {
				o.Workers = 1
				cfg.logf("hnsw: building on 1 thread")
				_, build1, _, err = measureBuild(func() (searcher, error) { return index.New(cfg.Dim, &o) }, ids, data)
				if err != nil {
					return nil, err
				}
				buildCPU1 = lastBuildCPU
				cfg.logf("hnsw: built in %.1fs on 1 thread", build1.Seconds())
			}
			o.Workers = threads
			cfg.logf("hnsw: building on %d threads", threads)
			idx, buildAll, mem, err = measureBuild(func() (searcher, error) { return index.New(cfg.Dim, &o) }, ids, data)
			if err == nil && cfg.SaveIndex != "" {
				cfg.logf("hnsw: saving %s", cfg.SaveIndex)
				err = saveHNSW(cfg.SaveIndex, idx.(*index.HNSW))
			}
		case "flat":
			cfg.logf("flat: building")
			idx, buildAll, mem, err = measureBuild(func() (searcher, error) { return index.NewFlat(cfg.Dim) }, ids, data)
			build1, buildCPU1 = buildAll, lastBuildCPU
		case "coder":
			o := cfg.Options
			cfg.logf("coder: building on 1 thread (coder/hnsw cannot build in parallel)")
			idx, build1, mem, err = measureBuild(func() (searcher, error) { return coderhnsw.New(cfg.Dim, &o) }, ids, data)
			buildAll, buildCPU1 = build1, lastBuildCPU
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		cfg.logf("%s: built in %.1fs", name, buildAll.Seconds())
		efs := cfg.EfSearch
		if name == "flat" {
			efs = []int{0}
		}
		for _, ef := range efs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			row, err := measureSearch(idx, queries, truth, cfg.Dim, cfg.K, ef, threads, cfg.Repeat)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			row.Index = name
			row.BuildS, row.BuildS1, row.MemoryBytes = buildAll.Seconds(), build1.Seconds(), mem
			row.BuildCPUS1 = buildCPU1.Seconds()
			cfg.logf("%s ef=%d: recall %.4f, mean %.1fµs", name, ef, row.Recall, row.MeanUS)
			rep.Results = append(rep.Results, row)
		}
		idx = nil
		runtime.GC()
	}
	return rep, nil
}

func (c *Config) load() (data, queries []float32, err error) {
	switch c.Data {
	case "clustered", "sphere":
		if data, err = Generate(c.Data, c.N, c.Dim, 42, 1); err != nil {
			return nil, nil, err
		}
		queries, err = Generate(c.Data, c.Queries, c.Dim, 42, 2)
		return data, queries, err
	}
	// A file: the queries are c.Queries vectors drawn from it (seeded) and
	// left out of the index.
	all, dim, err := ReadFile(c.Data, 0)
	if err != nil {
		return nil, nil, err
	}
	c.Dim = dim
	total := len(all) / dim
	if total <= c.Queries {
		return nil, nil, fmt.Errorf("%s: %d vectors: want more than the %d queries", c.Data, total, c.Queries)
	}
	perm := permutation(total, 3)
	for i, p := range perm {
		v := all[p*dim : (p+1)*dim]
		switch {
		case i < c.Queries:
			queries = append(queries, v...)
		case i-c.Queries < c.N:
			data = append(data, v...)
		}
	}
	return data, queries, nil
}

func permutation(n int, seed uint64) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r := newRand(seed)
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// measureBuild creates an index and adds the data, returning the build time
// and the heap the index holds afterwards.
func measureBuild(mk func() (searcher, error), ids []uint32, data []float32) (searcher, time.Duration, int64, error) {
	before := heapAlloc()
	lastBuildCPU = 0
	cpu0 := cputime.Process()
	start := time.Now()
	idx, err := mk()
	if err != nil {
		return nil, 0, 0, err
	}
	if err := idx.AddBatch(ids, data); err != nil {
		return nil, 0, 0, err
	}
	d := time.Since(start)
	lastBuildCPU = cputime.Process() - cpu0
	mem := heapAlloc() - before
	return idx, d, mem, nil
}

// loadHNSW reads an index saved by saveHNSW, returning the load time as the
// build time and the heap it holds.
func loadHNSW(path string, n, dim int) (searcher, time.Duration, int64, error) {
	before := heapAlloc()
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	g, err := index.Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	d := time.Since(start)
	if st := g.Stats(); st.Len != n || st.Dim != dim {
		return nil, 0, 0, fmt.Errorf("%s holds %d vectors of dimension %d, the data %d of %d: saved from other data", path, st.Len, st.Dim, n, dim)
	}
	lastBuildCPU = 0
	return g, d, heapAlloc() - before, nil
}

// saveHNSW writes g to path (through a temporary file, renamed when
// complete).
func saveHNSW(path string, g *index.HNSW) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := g.WriteTo(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// lastBuildCPU is the process CPU time of the last measureBuild.
var lastBuildCPU time.Duration

func heapAlloc() int64 {
	// Twice: sync.Pool contents survive one collection.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func groundTruth(flat *index.Flat, queries []float32, dim, k, threads int) ([][]index.Result, error) {
	nq := len(queries) / dim
	truth := make([][]index.Result, nq)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= nq {
					return
				}
				r, err := flat.Search(queries[i*dim:(i+1)*dim], k, nil)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				truth[i] = r
			}
		})
	}
	wg.Wait()
	return truth, firstErr
}

// measureSearch times the queries on one thread repeat times and keeps the
// pass with the lowest mean (the least disturbed by other work on a shared
// machine), then measures throughput on all threads.
func measureSearch(idx searcher, queries []float32, truth [][]index.Result, dim, k, ef, threads, repeat int) (Row, error) {
	nq := len(queries) / dim
	dst := make([]index.Result, 0, k)
	var err error
	// Warm up: pools, caches, branch predictors.
	for i := range min(nq, 200) {
		if dst, err = idx.SearchInto(dst, queries[i*dim:(i+1)*dim], k, nil, ef); err != nil {
			return Row{}, err
		}
	}
	var row Row
	for p := range max(repeat, 1) {
		r, err := singleThread(idx, queries, truth, dim, k, ef)
		if err != nil {
			return Row{}, err
		}
		if p == 0 || r.MeanUS < row.MeanUS {
			row = r
		}
	}
	return row, throughput(&row, idx, queries, dim, k, ef, threads)
}

func singleThread(idx searcher, queries []float32, truth [][]index.Result, dim, k, ef int) (Row, error) {
	nq := len(queries) / dim
	dst := make([]index.Result, 0, k)
	var err error
	lat := make([]float64, nq)
	var hits, total int
	var sum time.Duration
	runtime.LockOSThread()
	cpu0 := cputime.Thread()
	for i := range nq {
		q := queries[i*dim : (i+1)*dim]
		t0 := time.Now()
		dst, err = idx.SearchInto(dst, q, k, nil, ef)
		d := time.Since(t0)
		if err != nil {
			return Row{}, err
		}
		sum += d
		lat[i] = float64(d.Nanoseconds()) / 1e3
		for _, w := range truth[i] {
			if slices.ContainsFunc(dst, func(r index.Result) bool { return r.ID == w.ID }) {
				hits++
			}
		}
		total += len(truth[i])
	}
	cpu := cputime.Thread() - cpu0
	runtime.UnlockOSThread()
	slices.Sort(lat)
	row := Row{
		EfSearch: ef,
		Recall:   float64(hits) / float64(max(total, 1)),
		MeanUS:   float64(sum.Nanoseconds()) / 1e3 / float64(nq),
		P50US:    percentile(lat, 0.50),
		P99US:    percentile(lat, 0.99),
		QPS1:     float64(nq) / sum.Seconds(),
		// Includes the recall bookkeeping, about 1 µs a query.
		CPUMeanUS: float64(cpu.Nanoseconds()) / 1e3 / float64(nq),
	}
	return row, nil
}

// throughput sets row.QPSAll: three passes over the queries on all threads.
func throughput(row *Row, idx searcher, queries []float32, dim, k, ef, threads int) error {
	nq := len(queries) / dim
	passes := 3
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range threads {
		wg.Go(func() {
			buf := make([]index.Result, 0, k)
			for {
				i := int(next.Add(1) - 1)
				if i >= passes*nq {
					return
				}
				j := i % nq
				buf, _ = idx.SearchInto(buf, queries[j*dim:(j+1)*dim], k, nil, ef)
			}
		})
	}
	wg.Wait()
	row.QPSAll = float64(passes*nq) / time.Since(start).Seconds()
	return nil
}

// percentile returns the nearest-rank percentile p of sorted xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	return enc.Encode(r)
}

// WriteTable writes the report as an aligned table.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "n=%d dim=%d k=%d data=%s threads=%d\n", r.N, r.Dim, r.K, r.Data, r.Threads)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "index\tefSearch\trecall@%d\tmean µs\tp50 µs\tp99 µs\tQPS 1\tQPS all\tbuild s\tbuild s 1\tmemory MiB\tCPU µs\tbuild CPU s 1\t\n", r.K)
	for _, x := range r.Results {
		ef := "-"
		if x.EfSearch > 0 {
			ef = fmt.Sprint(x.EfSearch)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%.2f\t%.2f\t%.1f\t%.1f\t%.2f\t\n",
			x.Index, ef, x.Recall, x.MeanUS, x.P50US, x.P99US, x.QPS1, x.QPSAll, x.BuildS, x.BuildS1, float64(x.MemoryBytes)/(1<<20), x.CPUMeanUS, x.BuildCPUS1)
	}
	return tw.Flush()
}
