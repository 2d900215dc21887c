package main

import (
	"bytes"
	"cmp"
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
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/cputime"
	"github.com/audotics/soundalike/internal/procfs"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/weaviate"
)

func init() {
	benchModes["serve"] = benchMode{"GET /similar latency (server-side and client), QPS and memory on loopback", runBenchServe}
}

// serveBenchConfig is what `soundalike-bench serve` measures.
type serveBenchConfig struct {
	DB       string        // database to serve; built with N synthetic tracks when missing
	N        int           // synthetic catalogue size
	Dim      int           // synthetic model's dimension
	Conns    int           // client connections of the peak and open-loop phases
	IO       string        // the client's driver: ioEpoll or ioGoroutines
	Rate     float64       // open-loop rate; 0: half the measured peak
	K        int           // results per query
	Duration time.Duration // each measured phase
	Warmup   time.Duration // unmeasured start of each phase
	Baseline int           // direct (in-process, no HTTP) server.Similar calls
	Reload   time.Duration // the Watch poller's interval, as serve --reload
	Prefault bool          // server.PrefaultHeap after the load, as serve --prefault-heap
	HugeTLB  bool          // the index's layer 0 on the hugetlb pool, as serve --hugetlb
	Trace    string        // runtime/trace of the measured phases, when set
	Timeline string        // every request's times as CSV, when set
	Weaviate string        // node URLs: search through the catalogue published there
	Phases   string        // which client phases run: one, peak, open (comma-separated)
	MemProf  string        // allocation profile of the measured phases, when set
	CPUProf  string        // the server's CPU profile of the measured phases, when set
}

// serveBenchReport is the outcome; its JSON form is what --json prints.
type serveBenchReport struct {
	Tracks      int     `json:"tracks"`
	Indexed     int     `json:"indexed"`
	Model       string  `json:"model"`
	K           int     `json:"k"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	GOGC        int     `json:"gogc"` // the serving target server.SetServingGC chose
	LoadSeconds float64 `json:"load_seconds"`
	// HugeHeapMiB is the heap server.ReserveHugeHeap advised onto huge
	// pages before the load (0: the kernel's policy made it moot).
	HugeHeapMiB float64 `json:"huge_heap_mib"`
	// PrefaultMiB is what server.PrefaultHeap allocated after the load
	// (0: --prefault-heap=false).
	PrefaultMiB float64 `json:"prefault_mib"`
	// HugeTLBMiB is the index on the hugetlb pool (--hugetlb), which the
	// RSS figures do not count.
	HugeTLBMiB float64 `json:"hugetlb_mib"`
	HeapMiB    float64 `json:"heap_mib"`
	RSSMiB     float64 `json:"rss_mib"`     // after load
	MaxRSSMiB  float64 `json:"max_rss_mib"` // the peak (VmHWM), load included
	EndRSSMiB  float64 `json:"end_rss_mib"` // after the measured phases
	// AnonMiB is the process's anonymous memory after the measured phases
	// and AnonHugeMiB the part of it on transparent huge pages
	// (server.ReadHeapPages; both 0 where it cannot be read): under DAMON,
	// a heap on 4 KiB pages can cost the tail milliseconds (docs/scaling.md).
	AnonMiB     float64 `json:"anon_mib"`
	AnonHugeMiB float64 `json:"anon_huge_mib"`
	// GCCPUMS is the CPU time of one forced garbage collection with the
	// snapshot loaded and nothing else running: the mark work the
	// snapshot's shape costs every cycle.
	GCCPUMS       float64           `json:"gc_cpu_ms"`
	Footprint     snapshotFootprint `json:"footprint"`
	BaselineP50US float64           `json:"baseline_p50_us"`
	BaselineP99US float64           `json:"baseline_p99_us"`
	HandlerP50US  float64           `json:"handler_p50_us"`
	HandlerP99US  float64           `json:"handler_p99_us"`
	Phases        []servePhase      `json:"phases"`
	// DAMON is whether the kernel's memory access monitor ran: on a
	// virtual machine its sampling of the pages the server reads stalls
	// those reads for milliseconds every sample interval
	// (docs/benchmarks.md), so the client's tail is not the server's code.
	DAMON bool `json:"damon_on"`
}

// servePhase is one client run against the server: what the client saw
// (its own process) beside the time the same requests spent in the
// handler, and what the server's runtime did meanwhile.
type servePhase struct {
	Name         string        `json:"name"`
	Key          string        `json:"key"` // one, peak or open, as --phases names it
	Client       *clientReport `json:"client"`
	HandlerP50US float64       `json:"handler_p50_us"`
	HandlerP99US float64       `json:"handler_p99_us"`
	HandlerP999  float64       `json:"handler_p999_us"`
	HandlerMaxUS float64       `json:"handler_max_us"`
	GCs          uint32        `json:"gcs"`         // garbage collections during the phase
	GCPauseUS    float64       `json:"gc_pause_us"` // their total stop-the-world time
	GCCPUMS      float64       `json:"gc_cpu_ms"`   // their CPU time, mark assists included
	AllocPerReq  float64       `json:"alloc_bytes_per_request"`
	// CPUPerReqUS is the server process's CPU time (user and system, GC
	// included) per request answered over the phase, warm-up included:
	// the figure a busy, shared machine changes least.
	CPUPerReqUS float64 `json:"cpu_per_request_us"`
	MinorFaults int64   `json:"minor_faults"` // the process's minor page faults
	RSSMiB      float64 `json:"rss_mib"`      // after the phase
	// OtherCPUMS is the CPU time per second of the phase (warm-up
	// included) that the rest of the machine used beside the server and
	// the client, and KdamondCPUMS the part of it the kernel's DAMON
	// monitor took (machine.go). Both are 0 where /proc cannot tell.
	OtherCPUMS   float64 `json:"other_cpu_ms_per_s"`
	KdamondCPUMS float64 `json:"kdamond_cpu_ms_per_s"`
	// Slowest pairs the client's slowest requests with their handler time
	// (the handler call that started after the send and closest to it).
	Slowest []slowPair `json:"slowest,omitempty"`
}

// CPUs returns how many CPUs the server and the client kept busy at the
// phase's request rate. In the open loop at half the peak their sum is
// above half the machine (a request wakes threads the closed loop keeps
// running), so a stall that takes a CPU away queues requests until it ends.
func (p servePhase) CPUs() (server, client float64) {
	return p.CPUPerReqUS * p.Client.QPS / 1e6, p.Client.CPUPerReqUS * p.Client.QPS / 1e6
}

type slowPair struct {
	Start     int64   `json:"start_unix_ns"`
	ClientUS  float64 `json:"client_us"`
	HandlerUS float64 `json:"handler_us"`
	LagUS     float64 `json:"send_lag_us"` // from the intended send to the send (open loop)
	BusyUS    float64 `json:"busy_lag_us"` // of which the connection was busy with the request before
	WaitUS    float64 `json:"wait_us"`     // from the send to the handler's start
	AfterUS   float64 `json:"after_us"`    // from the handler's end to the client's reading the answer
}

func runBenchServe(ctx context.Context, args []string, stdio stdio) error {
	cfg := serveBenchConfig{}
	fs := newFlagSet("serve", stdio)
	fs.StringVar(&cfg.DB, "db", "", "database `path` to serve; when it does not exist, a synthetic catalogue of --n tracks is built there (and kept for the next run). Default: a temporary file")
	fs.IntVar(&cfg.N, "n", 1_000_000, "synthetic catalogue size (when building)")
	fs.IntVar(&cfg.Dim, "dim", 64, "synthetic model's embedding dimension (when building)")
	fs.IntVar(&cfg.Conns, "conns", 8, "client connections of the peak and open-loop phases")
	fs.Float64Var(&cfg.Rate, "rate", 0, "requests per `second` of the open-loop phase; 0: half the peak measured with --conns")
	fs.IntVar(&cfg.K, "k", 20, "results per query")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "measured time of each phase")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured start of each phase")
	fs.IntVar(&cfg.Baseline, "baseline", 5_000, "direct in-process server.Similar calls (no HTTP) for the baseline")
	fs.DurationVar(&cfg.Reload, "reload", 2*time.Second, "run the engine's Watch poller at this interval, as serve --reload does (0: none)")
	fs.BoolVar(&cfg.HugeTLB, "hugetlb", false, "load the index's layer 0 onto the hugetlb pool, as serve --hugetlb does")
	fs.BoolVar(&cfg.Prefault, "prefault-heap", true, "grow the heap to its serving size after the load, as serve --prefault-heap does")
	fs.StringVar(&cfg.Timeline, "timeline", "", "write every request of the phases, warm-up included, to `FILE` as CSV: the phase, the connection, and when the request was due, sent, entered and left the handler and was answered (Unix ns)")
	fs.StringVar(&cfg.Trace, "trace", "", "write a runtime/trace of the measured phases to `FILE` (go tool trace)")
	fs.StringVar(&cfg.Weaviate, "weaviate", "", "search through the Weaviate cluster at these node `URLs` (comma-separated; the catalogue published there with `soundalike publish`) instead of the local index")
	fs.StringVar(&cfg.IO, "io", defaultIO, "the client's driver: "+strings.Join(ioDrivers(), " or ")+" (see the client mode's --io)")
	fs.StringVar(&cfg.Phases, "phases", "one,peak,open", "client `phases` to run, comma-separated: one (1 connection, closed loop), peak (--conns, closed loop), open (--conns at --rate; without peak, --rate is required)")
	fs.StringVar(&cfg.MemProf, "memprofile", "", "write the server's allocation profile, taken after the phases, to `FILE` (go tool pprof -sample_index=alloc_space)")
	fs.StringVar(&cfg.CPUProf, "cpuprofile", "", "write the server's CPU profile of the phases to `FILE` (go tool pprof)")
	rounds := fs.Int("rounds", 1, "run the whole bench `N` times, each in a fresh process, and report each phase's median client p99 beside every run")
	against := fs.String("against", "", "alternate each round with another soundalike-bench `binary` (a baseline build) run with the same flags, and count the rounds in which this one's open-loop p99 is lower")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: go run ./cmd/soundalike-bench serve [--db PATH] [--n 1000000] [--conns 8] [flags]

Loads the database as serve does (detached, with the Watch poller) and
serves it on a loopback port. A client in its own process (this command's
client mode) then asks GET /similar?track=ID&k=K for random catalogue
tracks in three phases: one connection in a closed loop; --conns
connections in a closed loop (the peak rate); --conns connections at half
that rate on a fixed schedule, timed from each request's intended send time.
Each phase reports the client's p50, p99 and p99.9 beside the handler's
(timed around the handler), the server's garbage collections, page faults
and RSS, the CPUs server and client kept busy, and the CPU the rest of
the machine took meanwhile (kdamond, the kernel's DAMON monitor, named
apart). Also reported: load time, memory by part of the snapshot, and a
baseline: the same query answered in-process without HTTP. --timeline
writes every request's times, to place a slow one. --rounds repeats the
whole run in fresh processes, alternated with --against's binary, and
reports the medians: on a machine whose speed drifts, one run says little.`)
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
	case cfg.Rate < 0:
		return usagef("serve: --rate %v: want 0 (half the peak) or a positive rate", cfg.Rate)
	case cfg.K < 1 || cfg.K > server.MaxK:
		return usagef("serve: --k %d: want 1..%d", cfg.K, server.MaxK)
	case cfg.Baseline < 0:
		return usagef("serve: --baseline must not be negative")
	case cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Reload < 0:
		return usagef("serve: --duration must be positive, --warmup and --reload not negative")
	case !slices.Contains(ioDrivers(), cfg.IO):
		return usagef("serve: --io %q: want %s", cfg.IO, strings.Join(ioDrivers(), " or "))
	}
	phases := map[string]bool{}
	for _, p := range strings.Split(cfg.Phases, ",") {
		switch p {
		case "one", "peak", "open":
			phases[p] = true
		default:
			return usagef("serve: --phases: %q is no phase: want one, peak or open, comma-separated", p)
		}
	}
	if phases["open"] && !phases["peak"] && cfg.Rate == 0 {
		return usagef("serve: --phases %s: the open phase without the peak one needs --rate", cfg.Phases)
	}
	if *rounds < 1 || *rounds > 1000 {
		return usagef("serve: --rounds %d: want 1..1000", *rounds)
	}
	if *rounds > 1 || *against != "" {
		return serveRoundsCommand(ctx, fs, cfg.DB, *rounds, *against, *asJSON, stdio)
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
	dir, err := os.MkdirTemp("", "soundalike-bench-serve-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if cfg.DB == "" {
		cfg.DB = filepath.Join(dir, "bench.db")
	}
	ids, idsFile, err := prepareCatalogue(ctx, cfg, dir, say)
	if err != nil {
		return nil, err
	}
	eng, rep, err := loadServing(cfg, say)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	if cfg.Reload > 0 {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go eng.Watch(wctx, cfg.Reload)
	}

	// Access logs are formatted as `serve --log json` does, then dropped,
	// so their cost is in the figures but the disk is not.
	srv := server.New(eng, &server.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err := baseline(ctx, eng, srv, ids, cfg, rep); err != nil {
		return nil, err
	}

	// The server on loopback, timed around its handler.
	timed := &timedHandler{h: srv}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := srv.HTTPServer(ln.Addr().String())
	hs.Handler = timed
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/similar?k=" + strconv.Itoa(cfg.K) + "&track="

	stopTrace, err := record(cfg.Trace, trace.Start, trace.Stop)
	if err != nil {
		return nil, err
	}
	defer stopTrace()
	stopProfile, err := record(cfg.CPUProf, pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	var tl *timelineFile
	if cfg.Timeline != "" {
		if tl, err = createTimeline(cfg.Timeline); err != nil {
			return nil, err
		}
		defer tl.Close()
	}
	if err := runPhases(ctx, timed, url, idsFile, tl, cfg, rep, say); err != nil {
		return nil, err
	}
	if cfg.MemProf != "" {
		if err := writeAllocProfile(cfg.MemProf); err != nil {
			return nil, err
		}
	}
	if tl != nil {
		if err := tl.Close(); err != nil {
			return nil, err
		}
	}
	rep.DAMON = server.DAMONRunning()
	rep.EndRSSMiB = procStatusMiB("VmRSS")
	if hp, err := server.ReadHeapPages(); err == nil {
		rep.AnonMiB, rep.AnonHugeMiB = float64(hp.Anon)/(1<<20), float64(hp.Huge)/(1<<20)
	}
	rep.MaxRSSMiB = procStatusMiB("VmHWM")
	return rep, nil
}

// prepareCatalogue builds the synthetic catalogue when cfg.DB is not
// there yet and writes the ids the client asks for to a file in dir. The
// ids are read before the serving engine loads.
func prepareCatalogue(ctx context.Context, cfg serveBenchConfig, dir string, say func(string, ...any)) ([]soundalike.TrackID, string, error) {
	if _, err := os.Stat(cfg.DB); errors.Is(err, os.ErrNotExist) {
		say("building a synthetic catalogue of %d tracks in %s…", cfg.N, cfg.DB)
		if err := buildSyntheticDB(ctx, cfg.DB, cfg.N, cfg.Dim, say); err != nil {
			return nil, "", err
		}
	}
	ids, err := sampleIDs(ctx, cfg.DB, 100_000)
	if err != nil {
		return nil, "", err
	}
	idsFile := filepath.Join(dir, "ids.txt")
	if err := writeIDs(idsFile, ids); err != nil {
		return nil, "", err
	}
	return ids, idsFile, nil
}

// loadServing loads cfg.DB as serve does (the huge heap reserved, the
// collector set, the derived indexes built, the heap prefaulted and
// sealed) and starts the report with what the load cost.
func loadServing(cfg serveBenchConfig, say func(string, ...any)) (eng *soundalike.Engine, rep *serveBenchReport, err error) {
	runtime.GC()
	debug.FreeOSMemory()
	hugeHeap := server.ReserveHugeHeap(server.HugeHeapSize(cfg.DB)) // as serve does
	say("loading %s…", cfg.DB)
	start := time.Now()
	opts := &soundalike.Options{Detached: true, HugeTLB: cfg.HugeTLB}
	if cfg.Weaviate != "" {
		if opts.VectorSource, err = weaviateSource(cfg.Weaviate); err != nil {
			return nil, nil, err
		}
	}
	eng, err = soundalike.Open(cfg.DB, opts)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			eng.Close()
		}
	}()
	if err := eng.Ready(context.Background()); err != nil {
		return nil, nil, err
	}
	loadSeconds := time.Since(start).Seconds()
	gogc := server.SetServingGC() // as serve does
	eng.Prepare()                 // as serve does
	rep = &serveBenchReport{K: cfg.K, GOMAXPROCS: runtime.GOMAXPROCS(0), GOGC: gogc, LoadSeconds: loadSeconds,
		HugeHeapMiB: float64(hugeHeap.Size()) / (1 << 20)}
	st := eng.Stats()
	rep.Tracks, rep.Indexed, rep.Model = st.Tracks, st.Indexed, st.ModelVersion
	rep.HugeTLBMiB = float64(st.HugeTLB) / (1 << 20)
	if cfg.HugeTLB && st.HugeTLB == 0 {
		return nil, nil, fmt.Errorf("--hugetlb: the index is on the heap, not the hugetlb pool (the engine's log says why; HugePages_Free in /proc/meminfo)")
	}
	rep.Footprint = footprintOf(eng.Footprint())
	rep.RSSMiB = procStatusMiB("VmRSS")
	cpu0 := cputime.Process()
	runtime.GC()
	rep.GCCPUMS = float64(cputime.Process()-cpu0) / 1e6
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapMiB = float64(ms.HeapInuse) / (1 << 20)
	say("loaded %d tracks, %d indexed, model %s in %.1fs; heap %.0f MiB, RSS %.0f MiB",
		rep.Tracks, rep.Indexed, rep.Model, rep.LoadSeconds, rep.HeapMiB, rep.RSSMiB)
	if cfg.Prefault { // as serve does, after the forced cycle above (PrefaultHeap says why)
		rep.PrefaultMiB = float64(server.PrefaultHeap()) / (1 << 20)
	}
	hugeHeap.Seal()
	return eng, rep, nil
}

// runPhases runs the client phases cfg.Phases names against the server at
// url, in order (one connection; the closed-loop peak; the open loop at
// cfg.Rate or half the peak), appending each to rep.
func runPhases(ctx context.Context, timed *timedHandler, url, idsFile string, tl *timelineFile, cfg serveBenchConfig, rep *serveBenchReport, say func(string, ...any)) error {
	phase := func(key, name string, conns int, rate float64) (*servePhase, error) {
		say("%s: %v…", name, cfg.Warmup+cfg.Duration)
		return runPhase(ctx, timed, name, clientConfig{URL: url, Conns: conns, Rate: rate, Duration: cfg.Duration, Warmup: cfg.Warmup, Slowest: 10, IO: cfg.IO}, idsFile, tl, key)
	}
	run := func(p *servePhase, err error) error {
		if err == nil {
			rep.Phases = append(rep.Phases, *p)
		}
		return err
	}
	if strings.Contains(cfg.Phases, "one") {
		if err := run(phase("one", "1 connection, closed loop", 1, 0)); err != nil {
			return err
		}
	}
	rate := cfg.Rate
	if strings.Contains(cfg.Phases, "peak") {
		if err := run(phase("peak", fmt.Sprintf("%d connections, closed loop (peak)", cfg.Conns), cfg.Conns, 0)); err != nil {
			return err
		}
		if rate == 0 {
			rate = rep.Phases[len(rep.Phases)-1].Client.QPS / 2
		}
	}
	if strings.Contains(cfg.Phases, "open") {
		if err := run(phase("open", fmt.Sprintf("%d connections at %.0f/s, open loop", cfg.Conns, rate), cfg.Conns, rate)); err != nil {
			return err
		}
	}
	return nil
}

// baseline measures the answer in-process without HTTP (server.Similar,
// which GET /similar calls), interleaved query by query with the whole
// handler called in-process (no network) on other random ids, so that both
// see the same machine load and their ratio is the handler's overhead.
func baseline(ctx context.Context, eng *soundalike.Engine, srv *server.Server, ids []soundalike.TrackID, cfg serveBenchConfig, rep *serveBenchReport) error {
	rng := rand.New(rand.NewPCG(42, 42))
	base := make([]time.Duration, 0, cfg.Baseline)
	inproc := make([]time.Duration, 0, cfg.Baseline)
	for range cfg.Baseline {
		id := ids[rng.IntN(len(ids))]
		t0 := time.Now()
		if _, err := server.Similar(ctx, eng, id, cfg.K, nil); err != nil {
			return fmt.Errorf("baseline similar %s: %w", id, err)
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
			return fmt.Errorf("in-process GET /similar?track=%s = %d %s", id, w.Code, w.Body)
		}
	}
	slices.Sort(base)
	slices.Sort(inproc)
	rep.BaselineP50US, rep.BaselineP99US = pctUS(base, 0.50), pctUS(base, 0.99)
	rep.HandlerP50US, rep.HandlerP99US = pctUS(inproc, 0.50), pctUS(inproc, 0.99)
	return nil
}

// runPhase runs the client in its own process (this command's client
// mode) and pairs what it saw with the handler's times and the runtime's
// counters over the same span.
func runPhase(ctx context.Context, timed *timedHandler, name string, cc clientConfig, idsFile string, tl *timelineFile, key string) (*servePhase, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"client", "--url", cc.URL, "--ids", idsFile, "--conns", strconv.Itoa(cc.Conns),
		"--rate", strconv.FormatFloat(cc.Rate, 'f', -1, 64), "--duration", cc.Duration.String(),
		"--warmup", cc.Warmup.String(), "--slowest", strconv.Itoa(cc.Slowest), "--io", cc.IO, "--json"}
	clientTimeline := filepath.Join(filepath.Dir(idsFile), "timeline.csv")
	if tl != nil {
		args = append(args, "--timeline", clientTimeline)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), benchAsCommandEnv+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	gcCPU0 := gcCPUSeconds()
	cpu0 := cputime.Process()
	f0 := minorFaults()
	m0, t0 := sampleMachine(), time.Now()
	timed.reset()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("client %s: %w: %s", strings.Join(args, " "), err, errb.Bytes())
	}
	calls := timed.calls()
	cpu := cputime.Process() - cpu0
	m1, wall := sampleMachine(), time.Since(t0).Seconds()
	f1 := minorFaults()
	runtime.ReadMemStats(&ms1)
	p := &servePhase{Name: name, Key: key, Client: new(clientReport), GCs: ms1.NumGC - ms0.NumGC,
		GCPauseUS: float64(ms1.PauseTotalNs-ms0.PauseTotalNs) / 1e3, GCCPUMS: (gcCPUSeconds() - gcCPU0) * 1e3,
		MinorFaults: f1 - f0, RSSMiB: procStatusMiB("VmRSS")}
	if len(calls) > 0 {
		p.AllocPerReq = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(len(calls))
		p.CPUPerReqUS = float64(cpu) / 1e3 / float64(len(calls))
	}
	other, kdamond := m1.since(m0) // the client, exited, is in neither
	p.OtherCPUMS, p.KdamondCPUMS = other.Seconds()*1e3/wall, kdamond.Seconds()*1e3/wall
	if err := json.Unmarshal(out.Bytes(), p.Client); err != nil {
		return nil, fmt.Errorf("client output %q: %w", out.Bytes(), err)
	}
	if tl != nil {
		if err := tl.add(key, clientTimeline, calls); err != nil {
			return nil, err
		}
	}
	// The handler calls of the measured span, which ended as the client
	// exited.
	from := time.Now().Add(-cc.Duration).UnixNano()
	var measured []handlerCall
	for _, c := range calls {
		if c.start >= from {
			measured = append(measured, c)
		}
	}
	d := make([]time.Duration, len(measured))
	for i, c := range measured {
		d[i] = c.d
	}
	slices.Sort(d)
	p.HandlerP50US, p.HandlerP99US, p.HandlerP999 = pctUS(d, 0.50), pctUS(d, 0.99), pctUS(d, 0.999)
	if len(d) > 0 {
		p.HandlerMaxUS = float64(d[len(d)-1]) / 1e3
	}
	for _, r := range p.Client.Slowest {
		i, _ := slices.BinarySearchFunc(calls, r.Start, func(c handlerCall, t int64) int { return cmp.Compare(c.start, t) })
		sp := slowPair{Start: r.Start, ClientUS: r.LatencyUS, LagUS: r.LagUS, BusyUS: r.BusyUS}
		if i < len(calls) {
			sp.HandlerUS, sp.WaitUS = float64(calls[i].d)/1e3, float64(calls[i].start-r.Start)/1e3
			sp.AfterUS = r.LatencyUS - r.LagUS - sp.WaitUS - sp.HandlerUS
		}
		p.Slowest = append(p.Slowest, sp)
	}
	return p, nil
}

// benchAsCommandEnv set to 1 makes a test binary run this command's main
// (bench_serve_test.go), so that serve can start its client by
// re-executing itself under go test too.
const benchAsCommandEnv = "SOUNDALIKE_BENCH_AS_COMMAND"

func writeIDs(path string, ids []soundalike.TrackID) error {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(string(id))
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// timedHandler records when each request entered the handler and how
// long it spent there, in the order they started.
type timedHandler struct {
	h  http.Handler
	mu sync.Mutex
	c  []handlerCall
}

type handlerCall struct {
	start int64 // Unix ns
	d     time.Duration
	peer  string // the client's address: which connection
}

func (t *timedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	d := time.Since(start)
	t.mu.Lock()
	t.c = append(t.c, handlerCall{start.UnixNano(), d, r.RemoteAddr})
	t.mu.Unlock()
}

func (t *timedHandler) reset() {
	t.mu.Lock()
	t.c = make([]handlerCall, 0, 1<<16)
	t.mu.Unlock()
}

// calls returns the calls since reset, by start time.
func (t *timedHandler) calls() []handlerCall {
	t.mu.Lock()
	c := slices.Clone(t.c)
	t.mu.Unlock()
	slices.SortFunc(c, func(a, b handlerCall) int { return cmp.Compare(a.start, b.start) })
	return c
}

func pctUS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return float64(sorted[max(i, 0)]) / 1e3
}

// writeAllocProfile writes the process's allocation profile so far to path.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// gcCPUSeconds is the CPU time the garbage collector has taken so far:
// background marking, mark assists and pauses.
func gcCPUSeconds() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return s[0].Value.Float64()
}

// procStatusMiB is a size field of /proc/self/status (VmRSS, VmHWM) in
// MiB, 0 where there is none.
func procStatusMiB(field string) float64 {
	v, err := procfs.Read("/proc/self/status", field)
	if err != nil {
		return 0
	}
	return float64(v[0]) / (1 << 20)
}

// minorFaults is the process's minor page faults so far (field 10 of
// /proc/self/stat), 0 where there is none.
func minorFaults() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 8 {
		return 0
	}
	n, _ := strconv.ParseInt(f[7], 10, 64)
	return n
}

// sampleIDs returns max catalogue track ids drawn uniformly at random
// (a reservoir sample, fixed seed), or all of them when there are fewer.
// Clients ask for random tracks of the whole catalogue: the first max in
// id order would keep a run's query tracks in one part of memory and
// flatter the tail.
func sampleIDs(ctx context.Context, path string, max int) ([]soundalike.TrackID, error) {
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]soundalike.TrackID, 0, max)
	seen := 0
	err = eng.ForEachTrack(ctx, func(t *soundalike.Track) error {
		seen++
		if len(ids) < max {
			ids = append(ids, t.ID)
		} else if j := rng.IntN(seen); j < max {
			ids[j] = t.ID
		}
		return nil
	})
	if err != nil {
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
	fmt.Fprintf(tw, "catalogue\t%d tracks, %d indexed, model %s, k=%d, GOMAXPROCS=%d\n", r.Tracks, r.Indexed, r.Model, r.K, r.GOMAXPROCS)
	if r.DAMON {
		fmt.Fprintf(tw, "note\tthe kernel's DAMON monitor (kdamond) is on: every sample interval its checks of the pages the server reads stall it for milliseconds, which the client sees in its tail (docs/scaling.md)\n")
	}
	fmt.Fprintf(tw, "load time\t%.1fs (detached: catalogue, model and index read into memory)\n", r.LoadSeconds)
	if r.HugeHeapMiB > 0 {
		fmt.Fprintf(tw, "huge pages\t%.0f MiB of heap advised before the load (server.ReserveHugeHeap)\n", r.HugeHeapMiB)
	}
	if r.PrefaultMiB > 0 {
		fmt.Fprintf(tw, "heap prefault\t%.0f MiB allocated after the load to grow the heap to its serving size (server.PrefaultHeap)\n", r.PrefaultMiB)
	}
	fmt.Fprintf(tw, "garbage collection\t%.0f ms CPU for one forced cycle after load; GOGC %d\n", r.GCCPUMS, r.GOGC)
	anon := ""
	if r.AnonMiB > 0 {
		anon = fmt.Sprintf(" (%.0f MiB anonymous, %.0f of it on huge pages)", r.AnonMiB, r.AnonHugeMiB)
	}
	fmt.Fprintf(tw, "memory\theap %.0f MiB and RSS %.0f MiB after load, RSS %.0f MiB after the phases%s, peak RSS %.0f MiB\n",
		r.HeapMiB, r.RSSMiB, r.EndRSSMiB, anon, r.MaxRSSMiB)
	fp := r.Footprint
	fmt.Fprintf(tw, "snapshot bytes per track\t%.0f: vectors %.0f, graph %.0f, catalogue %.0f, dedupe keys %.0f, word index %.0f, facets %.0f, map %.0f, histories %.0f\n",
		fp.Total, fp.Vectors, fp.Graph, fp.Catalogue, fp.DedupeKeys, fp.WordIndex, fp.Facets, fp.Map, fp.Histories)
	fmt.Fprintf(tw, "baseline: server.Similar in-process, 1 caller\tp50 %.0f µs, p99 %.0f µs\n", r.BaselineP50US, r.BaselineP99US)
	fmt.Fprintf(tw, "handler in-process (httptest), interleaved\tp50 %.0f µs, p99 %.0f µs\n", r.HandlerP50US, r.HandlerP99US)
	for _, p := range r.Phases {
		c := p.Client
		fmt.Fprintf(tw, "%s\t%d requests, %.0f/s, %d errors\n", p.Name, c.Requests, c.QPS, c.Errors)
		fmt.Fprintf(tw, "  client (own process, %s)\tp50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, max %.0f µs; %d GCs, %.0f µs CPU a request\n", c.IO, c.P50US, c.P99US, c.P999US, c.MaxUS, c.GCs, c.CPUPerReqUS)
		if c.Rate > 0 {
			fmt.Fprintf(tw, "  client's send lag p99\t%.0f µs: %.0f waiting for the connection's previous answer, %.0f its own wake-up\n", c.LagP99US, c.BusyP99US, c.WakeP99US)
		}
		fmt.Fprintf(tw, "  handler\tp50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, max %.0f µs\n", p.HandlerP50US, p.HandlerP99US, p.HandlerP999, p.HandlerMaxUS)
		fmt.Fprintf(tw, "  server runtime\t%.0f µs CPU a request; %d GCs (%.0f µs stopped, %.0f ms CPU), %.1f KiB allocated a request, %d minor faults, RSS %.0f MiB\n", p.CPUPerReqUS, p.GCs, p.GCPauseUS, p.GCCPUMS, p.AllocPerReq/1024, p.MinorFaults, p.RSSMiB)
		fmt.Fprintf(tw, "  rest of the machine\t%.0f ms of CPU a second beside server and client, kdamond %.0f ms of it\n", p.OtherCPUMS, p.KdamondCPUMS)
		server, client := p.CPUs()
		rest := p.OtherCPUMS / 1e3
		fmt.Fprintf(tw, "  CPUs in use\t%.2f of %d: server %.2f, client %.2f, the rest %.2f\n", server+client+rest, runtime.NumCPU(), server, client, rest)
	}
	return tw.Flush()
}

// snapshotFootprint is soundalike.Footprint per track.
type snapshotFootprint struct {
	Vectors    float64 `json:"vectors"`
	Graph      float64 `json:"graph"`
	Catalogue  float64 `json:"catalogue"`
	DedupeKeys float64 `json:"dedupe_keys"`
	WordIndex  float64 `json:"word_index"`
	Facets     float64 `json:"facets"`
	Map        float64 `json:"map"`
	Histories  float64 `json:"histories"`
	Total      float64 `json:"total"`
}

func footprintOf(f soundalike.Footprint) snapshotFootprint {
	n := float64(max(f.Tracks, 1))
	return snapshotFootprint{
		Vectors:    float64(f.Vectors) / n,
		Graph:      float64(f.Graph) / n,
		Catalogue:  float64(f.Catalogue) / n,
		DedupeKeys: float64(f.DedupeKeys) / n,
		WordIndex:  float64(f.WordIndex) / n,
		Facets:     float64(f.Facets) / n,
		Map:        float64(f.Map) / n,
		Histories:  float64(f.Histories) / n,
		Total:      float64(f.Total()) / n,
	}
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

// record starts a recorder of the measured phases (a runtime trace, a CPU
// profile) writing to the file at path, and returns what stops it and
// closes the file; with an empty path it records nothing.
func record(path string, start func(io.Writer) error, stop func()) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}
