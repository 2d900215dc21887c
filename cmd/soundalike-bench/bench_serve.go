package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/audotics/soundalike/internal/cputime"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/weaviate"
)

func init() {
	benchModes["serve"] = struct {
		summary string
		run     func(ctx context.Context, args []string, stdio stdio) error
	}{"GET /similar latency (server-side and client), QPS and memory on loopback", runBenchServe}
}

// serveBenchConfig is what `soundalike-bench serve` measures.
type serveBenchConfig struct {
	DB       string        // database to serve; built with N synthetic tracks when missing
	N        int           // synthetic catalogue size
	Dim      int           // synthetic model's dimension
	Conns    int           // concurrent client connections
	K        int           // results per query
	Requests int           // measured requests (after Warmup)
	Warmup   int           // unmeasured requests first
	Duration time.Duration // time bound of the measured phase
	Baseline int           // direct (in-process, no HTTP) server.Similar calls
	Weaviate string        // node URLs: search through the catalogue published there
}

// serveBenchReport is the outcome; its JSON form is what --json prints.
type serveBenchReport struct {
	Tracks        int     `json:"tracks"`
	Indexed       int     `json:"indexed"`
	Model         string  `json:"model"`
	Conns         int     `json:"conns"`
	K             int     `json:"k"`
	Requests      int     `json:"requests"`
	Errors        int     `json:"errors"`
	Seconds       float64 `json:"seconds"`
	QPS           float64 `json:"qps"`
	CPUSeconds    float64 `json:"cpu_seconds"` // user+system CPU of the process (client and server) while measuring
	CoresUsed     float64 `json:"cores_used"`  // CPUSeconds / Seconds: how much of the machine the process got
	ServerP50US   float64 `json:"server_p50_us"`
	ServerP90US   float64 `json:"server_p90_us"`
	ServerP99US   float64 `json:"server_p99_us"`
	ServerMaxUS   float64 `json:"server_max_us"`
	ClientP50US   float64 `json:"client_p50_us"`
	ClientP90US   float64 `json:"client_p90_us"`
	ClientP99US   float64 `json:"client_p99_us"`
	BaselineP50US float64 `json:"baseline_p50_us"`
	BaselineP99US float64 `json:"baseline_p99_us"`
	HandlerP50US  float64 `json:"handler_p50_us"`
	HandlerP99US  float64 `json:"handler_p99_us"`
	HeapMiB       float64 `json:"heap_mib"`
	RSSMiB        float64 `json:"rss_mib"`
	MaxRSSMiB     float64 `json:"max_rss_mib"`
	LoadSeconds   float64 `json:"load_seconds"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
}

func runBenchServe(ctx context.Context, args []string, stdio stdio) error {
	cfg := serveBenchConfig{}
	fs := newFlagSet("serve", stdio)
	fs.StringVar(&cfg.DB, "db", "", "database `path` to serve; when it does not exist, a synthetic catalogue of --n tracks is built there (and kept for the next run). Default: a temporary file")
	fs.IntVar(&cfg.N, "n", 1_000_000, "synthetic catalogue size (when building)")
	fs.IntVar(&cfg.Dim, "dim", 64, "synthetic model's embedding dimension (when building)")
	fs.IntVar(&cfg.Conns, "conns", 16, "concurrent client connections")
	fs.IntVar(&cfg.K, "k", 20, "results per query")
	fs.IntVar(&cfg.Requests, "requests", 50_000, "measured requests (a count bound)")
	fs.IntVar(&cfg.Warmup, "warmup", 2_000, "unmeasured requests first")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "time bound of the measured phase")
	fs.IntVar(&cfg.Baseline, "baseline", 5_000, "direct in-process server.Similar calls (no HTTP) for the baseline")
	fs.StringVar(&cfg.Weaviate, "weaviate", "", "search through the Weaviate cluster at these node `URLs` (comma-separated; the catalogue published there with `soundalike publish`) instead of the local index")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: go run ./cmd/soundalike-bench serve [--db PATH] [--n 1000000] [--conns 16] [flags]

Serves the database on a loopback port and sends GET /similar?track=ID&k=K
from --conns keep-alive connections, with random catalogue tracks, until
--requests or --duration. Reports the server-side latency (timed around the
handler, access logs formatted as JSON and discarded), the client latency,
QPS, the server's memory, and a baseline: the same query answered
in-process without HTTP. Client and server share the process and its cores.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	case cfg.N < 2:
		return usagef("serve: --n %d: want ≥ 2", cfg.N)
	case cfg.Dim < 2 || cfg.Dim > 4096:
		return usagef("serve: --dim %d: want 2..4096", cfg.Dim)
	case cfg.Conns < 1 || cfg.Conns > 1024:
		return usagef("serve: --conns %d: want 1..1024", cfg.Conns)
	case cfg.K < 1 || cfg.K > server.MaxK:
		return usagef("serve: --k %d: want 1..%d", cfg.K, server.MaxK)
	case cfg.Requests < 1:
		return usagef("serve: --requests %d: want ≥ 1", cfg.Requests)
	case cfg.Warmup < 0 || cfg.Baseline < 0:
		return usagef("serve: --warmup and --baseline must not be negative")
	case cfg.Duration <= 0:
		return usagef("serve: --duration %v: want a positive duration", cfg.Duration)
	}
	rep, err := benchServe(ctx, cfg, stdio.err)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if *asJSON {
		b, _ := json.Marshal(rep)
		_, err := stdio.out.Write(append(b, '\n'))
		return err
	}
	return rep.writeTable(stdio.out)
}

func benchServe(ctx context.Context, cfg serveBenchConfig, progress io.Writer) (*serveBenchReport, error) {
	say := func(format string, a ...any) { fmt.Fprintf(progress, format+"\n", a...) }
	if cfg.DB == "" {
		dir, err := os.MkdirTemp("", "soundalike-bench-serve-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.DB = filepath.Join(dir, "bench.db")
	}
	if _, err := os.Stat(cfg.DB); errors.Is(err, os.ErrNotExist) {
		say("building a synthetic catalogue of %d tracks in %s…", cfg.N, cfg.DB)
		if err := buildSyntheticDB(ctx, cfg.DB, cfg.N, cfg.Dim, say); err != nil {
			return nil, err
		}
	}

	// The ids to query, read before the serving engine loads.
	ids, err := sampleIDs(ctx, cfg.DB, 100_000)
	if err != nil {
		return nil, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	say("loading %s…", cfg.DB)
	start := time.Now()
	opts := &soundalike.Options{Detached: true}
	if cfg.Weaviate != "" {
		if opts.VectorSource, err = weaviateSource(cfg.Weaviate); err != nil {
			return nil, err
		}
	}
	eng, err := soundalike.Open(cfg.DB, opts)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	if err := eng.Ready(); err != nil {
		return nil, err
	}
	rep := &serveBenchReport{Conns: cfg.Conns, K: cfg.K, GOMAXPROCS: runtime.GOMAXPROCS(0), LoadSeconds: time.Since(start).Seconds()}
	st := eng.Stats()
	rep.Tracks, rep.Indexed, rep.Model = st.Tracks, st.Indexed, st.ModelVersion
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapMiB = float64(ms.HeapInuse) / (1 << 20)
	rep.RSSMiB = rssMiB()
	say("loaded %d tracks, %d indexed, model %s in %.1fs; heap %.0f MiB, RSS %.0f MiB",
		rep.Tracks, rep.Indexed, rep.Model, rep.LoadSeconds, rep.HeapMiB, rep.RSSMiB)

	// Access logs are formatted as `serve --log json` does, then dropped,
	// so their cost is in the figures but the disk is not.
	srv := server.New(eng, &server.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})

	// Baseline: the answer in-process without HTTP (server.Similar, which
	// GET /similar calls), interleaved query by query with the whole
	// handler called in-process (no network) on other random ids, so that
	// both see the same machine load and their ratio is the handler's
	// overhead.
	rng := rand.New(rand.NewPCG(42, 42))
	base := make([]time.Duration, 0, cfg.Baseline)
	inproc := make([]time.Duration, 0, cfg.Baseline)
	for range cfg.Baseline {
		id := ids[rng.IntN(len(ids))]
		t0 := time.Now()
		if _, err := server.Similar(ctx, eng, id, cfg.K, nil); err != nil {
			return nil, fmt.Errorf("baseline similar %s: %w", id, err)
		}
		base = append(base, time.Since(t0))
		// Another id: the same one would find its part of the graph in
		// the cache the baseline call just warmed.
		id = ids[rng.IntN(len(ids))]
		req := httptest.NewRequestWithContext(ctx, "GET", "/similar?k="+strconv.Itoa(cfg.K)+"&track="+string(id), nil)
		w := httptest.NewRecorder()
		t0 = time.Now()
		srv.ServeHTTP(w, req)
		inproc = append(inproc, time.Since(t0))
		if w.Code != 200 {
			return nil, fmt.Errorf("in-process GET /similar?track=%s = %d %s", id, w.Code, w.Body)
		}
	}
	slices.Sort(base)
	slices.Sort(inproc)
	rep.BaselineP50US, rep.BaselineP99US = pctUS(base, 0.50), pctUS(base, 0.99)
	rep.HandlerP50US, rep.HandlerP99US = pctUS(inproc, 0.50), pctUS(inproc, 0.99)

	// The server on loopback, timed around its handler.
	timed := &timedHandler{h: srv, d: make([]time.Duration, cfg.Warmup+cfg.Requests+cfg.Conns)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := srv.HTTPServer(ln.Addr().String())
	hs.Handler = timed
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/similar?k=" + strconv.Itoa(cfg.K) + "&track="

	say("warming up with %d requests, then measuring %d (at most %v) over %d connections…", cfg.Warmup, cfg.Requests, cfg.Duration, cfg.Conns)
	if _, _, err := load(ctx, url, ids, cfg.Conns, cfg.Warmup, cfg.Duration, 1); err != nil {
		return nil, err
	}
	timed.n.Store(0)
	cpu0 := cputime.Process()
	t0 := time.Now()
	client, errs, err := load(ctx, url, ids, cfg.Conns, cfg.Requests, cfg.Duration, 2)
	if err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(t0).Seconds()
	rep.CPUSeconds = (cputime.Process() - cpu0).Seconds()
	rep.CoresUsed = rep.CPUSeconds / rep.Seconds
	rep.Requests, rep.Errors = len(client), errs
	rep.QPS = float64(len(client)) / rep.Seconds
	slices.Sort(client)
	rep.ClientP50US, rep.ClientP90US, rep.ClientP99US = pctUS(client, 0.50), pctUS(client, 0.90), pctUS(client, 0.99)
	sd := timed.d[:min(int(timed.n.Load()), len(timed.d))]
	slices.Sort(sd)
	rep.ServerP50US, rep.ServerP90US, rep.ServerP99US = pctUS(sd, 0.50), pctUS(sd, 0.90), pctUS(sd, 0.99)
	if len(sd) > 0 {
		rep.ServerMaxUS = float64(sd[len(sd)-1]) / 1e3
	}
	rep.MaxRSSMiB = max(rssMiB(), rep.RSSMiB)
	return rep, nil
}

// timedHandler records how long each request spends in the handler.
type timedHandler struct {
	h http.Handler
	n atomic.Int64
	d []time.Duration
}

func (t *timedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	d := time.Since(start)
	if i := t.n.Add(1) - 1; int(i) < len(t.d) {
		t.d[i] = d
	}
}

// load sends n requests for random ids over conns keep-alive connections,
// stopping early after max, and returns the client latencies of the
// successful ones and the number of failures.
func load(ctx context.Context, url string, ids []soundalike.TrackID, conns, n int, max time.Duration, seed uint64) ([]time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	var (
		next   atomic.Int64
		errs   atomic.Int64
		mu     sync.Mutex
		all    = make([]time.Duration, 0, n)
		wg     sync.WaitGroup
		firstE atomic.Value
	)
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			local := make([]time.Duration, 0, n/conns+1)
			buf := make([]byte, 32<<10)
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", url+string(ids[rng.IntN(len(ids))]), nil)
				t0 := time.Now()
				resp, err := cl.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						firstE.CompareAndSwap(nil, err)
					}
					continue
				}
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != 200 {
					errs.Add(1)
					firstE.CompareAndSwap(nil, fmt.Errorf("status %d", resp.StatusCode))
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(all) == 0 {
		err, _ := firstE.Load().(error)
		return nil, int(errs.Load()), fmt.Errorf("no request succeeded (first error: %v)", err)
	}
	return all, int(errs.Load()), nil
}

func pctUS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return float64(sorted[max(i, 0)]) / 1e3
}

// rssMiB is the process's resident set size from /proc (0 elsewhere).
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// sampleIDs returns up to max catalogue track ids.
func sampleIDs(ctx context.Context, path string, max int) ([]soundalike.TrackID, error) {
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	var ids []soundalike.TrackID
	errEnough := errors.New("enough")
	err = eng.ForEachTrack(ctx, func(t *soundalike.Track) error {
		ids = append(ids, t.ID)
		if len(ids) >= max {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s has no tracks", path)
	}
	return ids, nil
}

// buildSyntheticDB writes n synthetic tracks, a random model of dimension
// dim and the index to a new database at path.
func buildSyntheticDB(ctx context.Context, path string, n, dim int, say func(string, ...any)) error {
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer eng.Close()
	start := time.Now()
	const batch = 50_000
	for lo := 0; lo < n; lo += batch {
		err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			var t soundalike.Track
			for i := lo; i < min(lo+batch, n); i++ {
				synth.Track(1, i, &t)
				if _, _, err := tx.PutTrack(&t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("import synthetic tracks: %w", err)
		}
	}
	say("  imported %d tracks in %v", n, time.Since(start).Round(time.Millisecond))
	m, err := synth.Model(1, []int{128, 64}, dim)
	if err != nil {
		return err
	}
	if _, err := eng.SaveModel(ctx, m, soundalike.ModelRun{Config: json.RawMessage(`{"synthetic":true}`)}); err != nil {
		return err
	}
	start = time.Now()
	last := time.Now()
	rs, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Progress: func(stage string, done, total int) {
		if time.Since(last) > 10*time.Second || done == total {
			last = time.Now()
			say("  reindex %s %d/%d (%v)", stage, done, total, time.Since(start).Round(time.Second))
		}
	}})
	if err != nil {
		return fmt.Errorf("reindex synthetic catalogue: %w", err)
	}
	say("  indexed %d tracks in %v", rs.Inserted, rs.Took.Round(time.Millisecond))
	return nil
}

func (r *serveBenchReport) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "catalogue\t%d tracks, %d indexed, model %s\n", r.Tracks, r.Indexed, r.Model)
	fmt.Fprintf(tw, "load\t%d connections, k=%d, GOMAXPROCS=%d (client and server share the process)\n", r.Conns, r.K, r.GOMAXPROCS)
	fmt.Fprintf(tw, "requests\t%d in %.1fs, %d errors, %.0f QPS\n", r.Requests, r.Seconds, r.Errors, r.QPS)
	fmt.Fprintf(tw, "process CPU while measuring\t%.1fs, %.2f cores, %.0f µs per request (client + server)\n", r.CPUSeconds, r.CoresUsed, 1e6*r.CPUSeconds/float64(max(r.Requests, 1)))
	fmt.Fprintf(tw, "server-side latency\tp50 %.0f µs, p90 %.0f µs, p99 %.0f µs, max %.0f µs\n", r.ServerP50US, r.ServerP90US, r.ServerP99US, r.ServerMaxUS)
	fmt.Fprintf(tw, "client latency\tp50 %.0f µs, p90 %.0f µs, p99 %.0f µs\n", r.ClientP50US, r.ClientP90US, r.ClientP99US)
	fmt.Fprintf(tw, "baseline: server.Similar in-process, 1 caller\tp50 %.0f µs, p99 %.0f µs\n", r.BaselineP50US, r.BaselineP99US)
	fmt.Fprintf(tw, "handler in-process (httptest), interleaved\tp50 %.0f µs, p99 %.0f µs (p50 ratio to baseline %.2f)\n", r.HandlerP50US, r.HandlerP99US, r.HandlerP50US/r.BaselineP50US)
	fmt.Fprintf(tw, "load time\t%.1fs (detached: catalogue, model and index read into memory)\n", r.LoadSeconds)
	fmt.Fprintf(tw, "server memory after load\theap %.0f MiB, RSS %.0f MiB (after the run %.0f MiB)\n", r.HeapMiB, r.RSSMiB, r.MaxRSSMiB)
	return tw.Flush()
}

// weaviateSource is --weaviate: the catalogue published under the default
// alias.
func weaviateSource(urls string) (soundalike.VectorSource, error) {
	c, err := weaviate.Dial(weaviate.ParseURLs(urls), nil)
	if err != nil {
		return nil, err
	}
	return weaviate.NewSource(c, "")
}
