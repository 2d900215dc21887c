package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/audotics/soundalike/internal/cputime"
)

func init() {
	benchModes["client"] = benchMode{"an HTTP load client: closed loop, or open loop at a fixed rate timed from each request's intended send time", runBenchClient}
}

// clientConfig is one run of the load client.
type clientConfig struct {
	URL      string        // the request URL up to the track id, e.g. http://host/similar?k=20&track=
	IDs      []string      // track ids to ask for, at random
	Conns    int           // keep-alive connections, one request in flight on each
	Rate     float64       // requests per second over all connections; 0: closed loop
	Duration time.Duration // measured phase
	Warmup   time.Duration // unmeasured phase before it
	Seed     uint64
	Slowest  int    // how many of the slowest requests to report with their times
	Timeline string // file for every request's times as CSV, when set
	IO       string // the driver: ioEpoll or ioGoroutines
}

// clientReport is what one client run saw. Latency is from the request's
// intended send time in the open loop (so a request that waits behind a
// slow one counts the wait, as wrk2 does: no coordinated omission), from
// its actual send time in the closed loop.
type clientReport struct {
	IO       string  `json:"io"` // the driver: ioEpoll or ioGoroutines
	Conns    int     `json:"conns"`
	Rate     float64 `json:"rate"` // asked for; 0: closed loop
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	QPS      float64 `json:"qps"`
	P50US    float64 `json:"p50_us"`
	P90US    float64 `json:"p90_us"`
	P99US    float64 `json:"p99_us"`
	P999US   float64 `json:"p999_us"`
	MaxUS    float64 `json:"max_us"`
	LagP99US float64 `json:"send_lag_p99_us"` // open loop: how late the client sent, both causes below
	// BusyP99US is the part of the send lag spent waiting for the
	// request's connection to answer the one before it (open loop).
	BusyP99US float64 `json:"busy_lag_p99_us"`
	// WakeP99US is the rest: the client's own scheduling (timer, goroutine
	// and process wake-up) after the connection was free and the time due.
	WakeP99US float64 `json:"wake_lag_p99_us"`
	GCs       uint32  `json:"gcs"`         // the client's own garbage collections in the measured phase
	GCPauseUS float64 `json:"gc_pause_us"` // and their stop-the-world time
	// CPUPerReqUS is the client process's own CPU time per measured
	// request: what it takes from the cores the server shares.
	CPUPerReqUS float64         `json:"cpu_per_request_us"`
	Slowest     []clientRequest `json:"slowest,omitempty"`
}

// clientRequest is one measured request.
type clientRequest struct {
	Start     int64   `json:"start_unix_ns"` // when it was sent (wall clock, to match a server trace)
	LatencyUS float64 `json:"latency_us"`
	LagUS     float64 `json:"send_lag_us"` // sent this long after its intended time
	BusyUS    float64 `json:"busy_lag_us"` // of which waiting for the connection's previous answer
	Track     string  `json:"track"`
}

func runBenchClient(ctx context.Context, args []string, stdio stdio) error {
	var cfg clientConfig
	fs := newFlagSet("client", stdio)
	fs.StringVar(&cfg.URL, "url", "", "request `URL` up to the track id, e.g. http://127.0.0.1:8080/similar?k=20&track=")
	idsFile := fs.String("ids", "", "`file` of track ids, one a line, asked for at random")
	fs.IntVar(&cfg.Conns, "conns", 1, "keep-alive connections, one request in flight on each")
	fs.Float64Var(&cfg.Rate, "rate", 0, "requests per `second` over all connections, sent on a fixed schedule (open loop); 0: each connection sends its next request when the last one is answered (closed loop)")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "measured phase")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured phase before it")
	seed := fs.Int64("seed", 1, "seed of the track choice")
	fs.IntVar(&cfg.Slowest, "slowest", 20, "report this many of the slowest requests with their send times")
	fs.StringVar(&cfg.Timeline, "timeline", "", "write every request, warm-up included, to `FILE` as CSV: connection, its local address, whether measured, and when it was due, sent and answered (Unix ns)")
	fs.StringVar(&cfg.IO, "io", defaultIO, "how connections wait: "+strings.Join(ioDrivers(), " or ")+"; "+ioEpoll+": one thread, every socket and its timer in one epoll set, a few system calls a request, as wrk2's threads (Linux only); "+ioGoroutines+": a goroutine a connection")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("client: unexpected argument %q", fs.Arg(0))
	case cfg.URL == "":
		return usagef("client: --url is required")
	case *idsFile == "":
		return usagef("client: --ids is required")
	case cfg.Conns < 1 || cfg.Conns > 1024:
		return usagef("client: --conns %d: want 1..1024", cfg.Conns)
	case cfg.Rate < 0:
		return usagef("client: --rate %v: want 0 (closed loop) or a positive rate", cfg.Rate)
	case cfg.Duration <= 0 || cfg.Warmup < 0:
		return usagef("client: --duration must be positive and --warmup not negative")
	case cfg.Slowest < 0:
		return usagef("client: --slowest %d: want ≥ 0", cfg.Slowest)
	case !slices.Contains(ioDrivers(), cfg.IO):
		return usagef("client: --io %q: want %s", cfg.IO, strings.Join(ioDrivers(), " or "))
	}
	if _, err := url.Parse(cfg.URL); err != nil {
		return usagef("client: --url: %v", err)
	}
	b, err := os.ReadFile(*idsFile)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	cfg.IDs = strings.Fields(string(b))
	if len(cfg.IDs) == 0 {
		return usagef("client: --ids %s holds no ids", *idsFile)
	}
	cfg.Seed = uint64(*seed)
	rep, err := runClient(ctx, cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(stdio.out).Encode(rep)
	}
	fmt.Fprintf(stdio.out, "%d conns, rate %s: %d requests in %.1fs (%.0f/s), %d errors; p50 %.0f µs, p90 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, max %.0f µs\n",
		rep.Conns, rateString(rep.Rate), rep.Requests, rep.Seconds, rep.QPS, rep.Errors, rep.P50US, rep.P90US, rep.P99US, rep.P999US, rep.MaxUS)
	return nil
}

func rateString(r float64) string {
	if r == 0 {
		return "closed loop"
	}
	return fmt.Sprintf("%.0f/s", r)
}

// runClient runs the warm-up and the measured phase and summarises the
// measured requests.
func runClient(ctx context.Context, cfg clientConfig) (*clientReport, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	req := requestText{prefix: "GET " + u.RequestURI(), suffix: " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: soundalike-bench\r\n\r\n"}
	var d clientDriver
	switch cfg.IO {
	case ioEpoll:
		d = &epollDriver{cfg: &cfg, req: req}
	case ioGoroutines:
		d = &goroutineDriver{cfg: &cfg, req: req}
	default:
		return nil, fmt.Errorf("--io %q: want %s or %s", cfg.IO, ioEpoll, ioGoroutines)
	}
	defer d.close()
	if err := d.dial(ctx, host); err != nil {
		return nil, err
	}
	start := time.Now()
	times := clientTimes{start: start, measureFrom: start.Add(cfg.Warmup), end: start.Add(cfg.Warmup + cfg.Duration)}
	var gc0, gc1 runtime.MemStats
	var cpu0 time.Duration
	warm := make(chan struct{}) // closed once gc0 and cpu0 are set
	gcAt := time.AfterFunc(cfg.Warmup, func() { runtime.ReadMemStats(&gc0); cpu0 = cputime.Process(); close(warm) })
	runs, err := d.run(ctx, times)
	var cpu time.Duration
	if !gcAt.Stop() { // the warm-up ended: its figures are being taken, or were
		<-warm
		runtime.ReadMemStats(&gc1)
		cpu = cputime.Process() - cpu0
	}
	if err := ctx.Err(); err != nil {
		return nil, err // first: a stop closes what the run was waiting on
	}
	if err != nil {
		return nil, err
	}
	if cfg.Timeline != "" {
		if err := writeClientTimeline(cfg.Timeline, runs); err != nil {
			return nil, err
		}
	}
	rep := &clientReport{IO: cfg.IO, Conns: cfg.Conns, Rate: cfg.Rate, Seconds: cfg.Duration.Seconds()}
	var all []clientRequest
	var firstErr error
	for _, r := range runs {
		all = append(all, r.out...)
		rep.Errors += r.errs
		if firstErr == nil {
			firstErr = r.firstErr
		}
	}
	rep.Requests = len(all)
	if len(all) == 0 {
		return nil, fmt.Errorf("no request succeeded (first error: %v)", firstErr)
	}
	rep.QPS = float64(len(all)) / rep.Seconds
	rep.CPUPerReqUS = float64(cpu) / 1e3 / float64(len(all))
	rep.GCs, rep.GCPauseUS = gc1.NumGC-gc0.NumGC, float64(gc1.PauseTotalNs-gc0.PauseTotalNs)/1e3
	lags, busy, wake := make([]float64, len(all)), make([]float64, len(all)), make([]float64, len(all))
	for i, r := range all {
		lags[i], busy[i], wake[i] = r.LagUS, r.BusyUS, r.LagUS-r.BusyUS
	}
	slices.Sort(lags)
	slices.Sort(busy)
	slices.Sort(wake)
	rep.BusyP99US, rep.WakeP99US = pct(busy, 0.99), pct(wake, 0.99)
	slices.SortFunc(all, func(a, b clientRequest) int { return cmpFloat(a.LatencyUS, b.LatencyUS) })
	lat := make([]float64, len(all))
	for i, r := range all {
		lat[i] = r.LatencyUS
	}
	rep.P50US, rep.P90US, rep.P99US, rep.P999US = pct(lat, 0.50), pct(lat, 0.90), pct(lat, 0.99), pct(lat, 0.999)
	rep.MaxUS = lat[len(lat)-1]
	rep.LagP99US = pct(lags, 0.99)
	for i := len(all) - 1; i >= 0 && len(rep.Slowest) < cfg.Slowest; i-- {
		rep.Slowest = append(rep.Slowest, all[i])
	}
	return rep, nil
}

// The client's drivers: how its connections wait for their answers and
// their send times.
const (
	ioEpoll      = "epoll"      // one OS thread, every socket and its timer in one epoll set (Linux)
	ioGoroutines = "goroutines" // a goroutine a connection, blocking reads through the runtime's poller
)

// A clientDriver opens the client's connections and runs its requests
// over them.
type clientDriver interface {
	dial(ctx context.Context, host string) error // opens cfg.Conns keep-alive connections
	run(ctx context.Context, t clientTimes) ([]*connRun, error)
	close()
}

// clientTimes are a run's times: its start, when the measured phase
// begins (the warm-up before it), and its end.
type clientTimes struct{ start, measureFrom, end time.Time }

// schedule gives one connection's intended send times in the open loop:
// the connections share the rate, each offset by its share of the
// interval.
type schedule struct {
	at       time.Time
	interval time.Duration
}

// newSchedule returns connection i's schedule, nil in the closed loop.
func newSchedule(cfg *clientConfig, i int, start time.Time) *schedule {
	if cfg.Rate <= 0 {
		return nil
	}
	interval := time.Duration(float64(cfg.Conns) / cfg.Rate * float64(time.Second))
	return &schedule{at: start.Add(time.Duration(i) * interval / time.Duration(cfg.Conns)), interval: interval}
}

// next returns the next request's intended send time.
func (s *schedule) next() time.Time {
	t := s.at
	s.at = s.at.Add(s.interval)
	return t
}

// requestText is a request's text around its track id.
type requestText struct {
	prefix string // "GET /path?query="
	suffix string // " HTTP/1.1\r\nHost: …\r\n\r\n"
}

// append appends the request for track id to b.
func (r requestText) append(b []byte, id string) []byte {
	b = append(b, r.prefix...)
	b = append(b, url.QueryEscape(id)...)
	return append(b, r.suffix...)
}

// connRun is what one connection did: its measured requests, the rows
// of its timeline, and its failed requests.
type connRun struct {
	addr     string // the connection's local address, by which bench serve pairs the timeline with its handler calls
	rng      *rand.Rand
	out      []clientRequest
	tl       []timelineRow
	errs     int
	firstErr error
	free     time.Time // when the connection answered its last request
}

func newConnRun(cfg *clientConfig, i int, addr string) *connRun {
	r := &connRun{addr: addr, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), out: make([]clientRequest, 0, 1<<14)}
	if cfg.Timeline != "" {
		r.tl = make([]timelineRow, 0, 1<<14)
	}
	return r
}

// pick returns the track of the connection's next request.
func (r *connRun) pick(cfg *clientConfig) string { return cfg.IDs[r.rng.IntN(len(cfg.IDs))] }

// done records a request for track id that was due at intended, sent at
// sent and answered (or failed) at answered.
func (r *connRun) done(cfg *clientConfig, t clientTimes, id string, intended, sent, answered time.Time, err error) {
	busy := max(r.free.Sub(intended), 0)
	r.free = answered
	measured := !intended.Before(t.measureFrom)
	if cfg.Timeline != "" {
		r.tl = append(r.tl, timelineRow{due: intended.UnixNano(), sent: sent.UnixNano(), answered: answered.UnixNano(), measured: measured, ok: err == nil})
	}
	if err != nil {
		r.failed(err)
		return
	}
	if measured {
		r.out = append(r.out, clientRequest{Start: sent.UnixNano(), LatencyUS: float64(answered.Sub(intended)) / 1e3,
			LagUS: float64(sent.Sub(intended)) / 1e3, BusyUS: float64(busy) / 1e3, Track: id})
	}
}

// failed counts a failed request.
func (r *connRun) failed(err error) {
	r.errs++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// goroutineDriver runs each connection on its own goroutine, reading
// through the runtime's poller and paced by a pacer each.
type goroutineDriver struct {
	cfg    *clientConfig
	req    requestText
	conns  []*clientConn
	pacers []*pacer
}

func (d *goroutineDriver) dial(ctx context.Context, host string) error {
	for range d.cfg.Conns {
		var nd net.Dialer
		conn, err := nd.DialContext(ctx, "tcp", host)
		if err != nil {
			return err
		}
		d.conns = append(d.conns, &clientConn{conn: conn, req: d.req})
		if d.cfg.Rate > 0 {
			p, err := newPacer()
			if err != nil {
				return err
			}
			d.pacers = append(d.pacers, p)
		}
	}
	return nil
}

func (d *goroutineDriver) close() {
	for _, c := range d.conns {
		c.conn.Close()
	}
	for _, p := range d.pacers {
		p.close()
	}
}

func (d *goroutineDriver) run(ctx context.Context, t clientTimes) ([]*connRun, error) {
	cfg := d.cfg
	runs := make([]*connRun, len(d.conns))
	paceErrs := make([]error, len(d.conns))
	// A request whose answer never comes would hold its goroutine past a
	// cancelled ctx: its connection is closed then (and its pacer's
	// timerfd, which a sleeping goroutine reads).
	stop := context.AfterFunc(ctx, d.close)
	defer stop()
	var wg sync.WaitGroup
	for i, c := range d.conns {
		run := newConnRun(cfg, i, c.conn.LocalAddr().String())
		runs[i] = run
		sched := newSchedule(cfg, i, t.start)
		wg.Go(func() {
			for ctx.Err() == nil {
				intended := time.Now()
				if sched != nil {
					intended = sched.next()
					if err := d.pacers[i].sleepUntil(intended); err != nil {
						paceErrs[i] = err
						return
					}
				}
				if !intended.Before(t.end) {
					return
				}
				id := run.pick(cfg)
				sent := time.Now()
				err := c.get(id)
				run.done(cfg, t, id, intended, sent, time.Now(), err)
				if errors.Is(err, errConnBroken) {
					return
				}
			}
		})
	}
	wg.Wait()
	return runs, errors.Join(paceErrs...)
}

// timelineRow is one request's times for --timeline.
type timelineRow struct {
	due, sent, answered int64 // Unix ns
	measured, ok        bool
}

// writeClientTimeline writes each connection's requests in the order they
// were sent, with the connection's local address, by which the server
// side (bench serve) pairs them with its handler calls.
func writeClientTimeline(path string, runs []*connRun) error {
	var b bytes.Buffer
	b.WriteString("conn,local_addr,measured,due_unix_ns,sent_unix_ns,answered_unix_ns,ok\n")
	for i, run := range runs {
		for _, r := range run.tl {
			fmt.Fprintf(&b, "%d,%s,%t,%d,%d,%d,%t\n", i, run.addr, r.measured, r.due, r.sent, r.answered, r.ok)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--timeline: %w", err)
	}
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pct is the p-quantile of sorted values (nearest rank).
func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(min(i, len(sorted)-1), 0)]
}

// clientConn is one keep-alive HTTP/1.1 connection with a request written
// by hand and its answer parsed by hand (answerBuf): the client's own work
// per request stays without allocations, so that its garbage collection
// does not show up as server latency (http.ReadResponse cost the client
// about 60 µs of CPU and a garbage collection every 2 s).
type clientConn struct {
	conn net.Conn
	req  requestText
	w    []byte
	ans  answerBuf
}

// errConnBroken ends a connection's run: the server closed it or answered
// something that is not HTTP.
var errConnBroken = errors.New("connection broken")

// broken is the error of a connection that cannot go on because of err.
func broken(err error) error { return fmt.Errorf("%w: %v", errConnBroken, err) }

// get sends one request for track id and reads its whole answer.
func (c *clientConn) get(id string) error {
	c.w = c.req.append(c.w[:0], id)
	if _, err := c.conn.Write(c.w); err != nil {
		return broken(err)
	}
	for {
		k, err := c.conn.Read(c.ans.space())
		c.ans.added(k)
		status, ok, perr := c.ans.next()
		if perr != nil {
			return broken(perr)
		}
		if ok {
			return answerStatus(id, status)
		}
		if err != nil {
			return broken(err)
		}
	}
}

// answerStatus is the error of an answer with status for track id: nil
// for a 200.
func answerStatus(id string, status int) error {
	if status != http.StatusOK {
		return fmt.Errorf("track %s: status %d", id, status)
	}
	return nil
}

// ioDrivers lists the drivers this system has.
func ioDrivers() []string {
	if haveEpoll {
		return []string{ioEpoll, ioGoroutines}
	}
	return []string{ioGoroutines}
}
