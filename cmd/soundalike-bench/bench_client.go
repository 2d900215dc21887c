package main

import (
	"bufio"
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
	"strconv"
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
}

// clientReport is what one client run saw. Latency is from the request's
// intended send time in the open loop (so a request that waits behind a
// slow one counts the wait, as wrk2 does: no coordinated omission), from
// its actual send time in the closed loop.
type clientReport struct {
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
	conns := make([]*clientConn, cfg.Conns)
	for i := range conns {
		c, err := dialClient(ctx, host, u)
		if err != nil {
			return nil, err
		}
		defer c.conn.Close()
		conns[i] = c
	}
	pacers := make([]*pacer, cfg.Conns)
	if cfg.Rate > 0 {
		for i := range pacers {
			p, err := newPacer()
			if err != nil {
				return nil, err
			}
			defer p.close()
			pacers[i] = p
		}
	}
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	var gc0, gc1 runtime.MemStats
	var cpu0 time.Duration
	gcAt := time.AfterFunc(cfg.Warmup, func() { runtime.ReadMemStats(&gc0); cpu0 = cputime.Process() })
	end := measureFrom.Add(cfg.Duration)
	var wg sync.WaitGroup
	recs := make([][]clientRequest, cfg.Conns)
	timelines := make([][]timelineRow, cfg.Conns)
	errs := make([]int, cfg.Conns)
	var firstErr error
	var errOnce sync.Once
	paceErrs := make([]error, cfg.Conns)
	for i, c := range conns {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
			var next func() time.Time // the intended send time of the next request
			if cfg.Rate > 0 {
				interval := time.Duration(float64(cfg.Conns) / cfg.Rate * float64(time.Second))
				at := start.Add(time.Duration(i) * interval / time.Duration(cfg.Conns))
				next = func() time.Time { t := at; at = at.Add(interval); return t }
			}
			out := make([]clientRequest, 0, 1<<14)
			var tl []timelineRow
			if cfg.Timeline != "" {
				tl = make([]timelineRow, 0, 1<<14)
			}
			var free time.Time // when the connection answered its last request
			for ctx.Err() == nil {
				intended := time.Now()
				if next != nil {
					intended = next()
					if err := pacers[i].sleepUntil(intended); err != nil {
						paceErrs[i] = err
						break
					}
				}
				if !intended.Before(end) {
					break
				}
				id := cfg.IDs[rng.IntN(len(cfg.IDs))]
				sent := time.Now()
				err := c.get(id)
				done := time.Now()
				busy := max(free.Sub(intended), 0)
				free = done
				if cfg.Timeline != "" {
					tl = append(tl, timelineRow{due: intended.UnixNano(), sent: sent.UnixNano(), answered: done.UnixNano(), measured: !intended.Before(measureFrom), ok: err == nil})
				}
				if err != nil {
					errs[i]++
					errOnce.Do(func() { firstErr = err })
					if errors.Is(err, errConnBroken) {
						break
					}
					continue
				}
				if intended.Before(measureFrom) {
					continue
				}
				out = append(out, clientRequest{Start: sent.UnixNano(), LatencyUS: float64(done.Sub(intended)) / 1e3, LagUS: float64(sent.Sub(intended)) / 1e3, BusyUS: float64(busy) / 1e3, Track: id})
			}
			recs[i], timelines[i] = out, tl
		})
	}
	wg.Wait()
	var cpu time.Duration
	if !gcAt.Stop() {
		runtime.ReadMemStats(&gc1)
		cpu = cputime.Process() - cpu0
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(paceErrs...); err != nil {
		return nil, err
	}
	if cfg.Timeline != "" {
		if err := writeClientTimeline(cfg.Timeline, conns, timelines); err != nil {
			return nil, err
		}
	}
	all := slices.Concat(recs...)
	rep := &clientReport{Conns: cfg.Conns, Rate: cfg.Rate, Requests: len(all), Seconds: cfg.Duration.Seconds()}
	for _, e := range errs {
		rep.Errors += e
	}
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

// timelineRow is one request's times for --timeline.
type timelineRow struct {
	due, sent, answered int64 // Unix ns
	measured, ok        bool
}

// writeClientTimeline writes each connection's requests in the order they
// were sent, with the connection's local address, by which the server
// side (bench serve) pairs them with its handler calls.
func writeClientTimeline(path string, conns []*clientConn, timelines [][]timelineRow) error {
	var b bytes.Buffer
	b.WriteString("conn,local_addr,measured,due_unix_ns,sent_unix_ns,answered_unix_ns,ok\n")
	for i, rows := range timelines {
		addr := conns[i].conn.LocalAddr().String()
		for _, r := range rows {
			fmt.Fprintf(&b, "%d,%s,%t,%d,%d,%d,%t\n", i, addr, r.measured, r.due, r.sent, r.answered, r.ok)
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
// by hand: the client's own work per request stays a few allocations, so
// that its garbage collection does not show up as server latency.
type clientConn struct {
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	prefix string // "GET /path?query"
	suffix string // " HTTP/1.1\r\nHost: …\r\n\r\n"
}

// errConnBroken ends a connection's run: the server closed it or answered
// something that is not HTTP.
var errConnBroken = errors.New("connection broken")

func dialClient(ctx context.Context, host string, u *url.URL) (*clientConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	return &clientConn{
		conn:   conn,
		r:      bufio.NewReaderSize(conn, 64<<10),
		w:      bufio.NewWriter(conn),
		prefix: "GET " + u.RequestURI(),
		suffix: " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: soundalike-bench\r\n\r\n",
	}, nil
}

// get sends one request for track id and reads the whole answer. The
// answer is parsed by hand (status line, Content-Length, body discarded)
// without allocating: http.ReadResponse cost the client about 60 µs of
// CPU and a garbage collection every 2 s, time a single-connection run
// counts as the server's latency.
func (c *clientConn) get(id string) error {
	c.w.WriteString(c.prefix)
	c.w.WriteString(url.QueryEscape(id))
	c.w.WriteString(c.suffix)
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("%w: %v", errConnBroken, err)
	}
	status, n, err := c.readHead()
	if err == nil {
		if n >= 0 {
			_, err = c.r.Discard(n)
		} else {
			err = c.discardChunks()
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errConnBroken, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("track %s: status %d", id, status)
	}
	return nil
}

// readHead reads an answer's status line and headers, and returns its
// status and Content-Length (-1 for a chunked answer).
func (c *clientConn) readHead() (status, length int, err error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, fmt.Errorf("not an HTTP status line: %q", line)
	}
	if status, err = atoiBytes(line[9:12]); err != nil {
		return 0, 0, fmt.Errorf("status line %q: %v", line, err)
	}
	length = -1
	chunked := false
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = atoiBytes(bytes.TrimSpace(value)); err != nil {
				return 0, 0, fmt.Errorf("Content-Length %q: %v", value, err)
			}
		}
		if ok && bytes.EqualFold(name, []byte("Transfer-Encoding")) {
			chunked = bytes.EqualFold(bytes.TrimSpace(value), []byte("chunked"))
		}
	}
	if length < 0 && !chunked {
		return 0, 0, errors.New("answer with neither Content-Length nor chunked encoding")
	}
	return status, length, nil
}

// discardChunks reads a chunked body up to its last chunk and trailer.
func (c *clientConn) discardChunks() error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 40)
		if err != nil {
			return fmt.Errorf("chunk size %q: %v", line, err)
		}
		if n == 0 {
			for { // the trailer, up to its blank line
				line, err := c.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := c.r.Discard(int(n) + 2); err != nil { // and its CRLF
			return err
		}
	}
}

// atoiBytes parses a non-negative decimal number of at most 18 digits.
func atoiBytes(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 18 {
		return 0, fmt.Errorf("want 1 to 18 digits")
	}
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, fmt.Errorf("not a number")
		}
		n = n*10 + int(d-'0')
	}
	return n, nil
}
