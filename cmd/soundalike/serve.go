package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/weaviate"
)

func init() {
	register(command{name: "serve", summary: "serve the HTTP API (GET /similar?track=ID&k=20 …)", run: runServe})
}

// serveRun is what the serve command was asked to do.
type serveRun struct {
	dbPath, addr                    string
	weaviateURLs, collection        string // publish.go
	reload, requestTimeout          time.Duration
	hedgeDelay                      time.Duration // with --weaviate
	maxBody                         int64
	maxInFlight, maxQueued          int // 0: server's defaults
	socketMode                      os.FileMode
	hugeHeap, prefaultHeap, hugeTLB bool
	trusted                         []netip.Prefix
	logger                          *slog.Logger
	logJSON                         bool // --log json
}

func runServe(ctx context.Context, args []string, stdio stdio) (err error) {
	r, err := parseServeArgs(args, stdio)
	if err != nil {
		return err
	}
	defer func() { err = r.logged(err) }()
	// SIGHUP asks for a reload now. Caught from the start: its default
	// action would end the server, unlogged. One sent while the database
	// loads waits in the channel and is handled once it serves.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// Listen first: a busy port fails before the catalogue is loaded. A
	// socket file has --socket-mode before any client can connect.
	ln, err := server.ListenSocketMode(ctx, r.addr, r.socketMode)
	if err != nil {
		return listenError(r.addr, err)
	}
	defer ln.Close()

	var vectors soundalike.VectorSource
	if r.weaviateURLs != "" {
		if vectors, err = weaviateSource(r.weaviateURLs, r.collection, r.hedgeDelay); err != nil {
			return err
		}
	}

	// Answer while the database loads: /healthz 200, /readyz and queries
	// 503 saying what the server waits for.
	front := &startingSearcher{}
	front.waitFor(fmt.Errorf("%w: loading the database %s", server.ErrStarting, r.dbPath))
	srv := server.New(front, r.serverOptions())
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()

	var reserved server.HugeHeap
	if r.hugeHeap {
		reserved = server.ReserveHugeHeap(server.HugeHeapSize(r.dbPath))
	}
	eng, err := openDetached(ctx, r.dbPath, stdio, front, soundalike.Options{Logger: r.logger, VectorSource: vectors, HugeTLB: r.hugeTLB})
	abandoned := false // a second signal: exit without waiting for Close
	if err == nil {
		defer func() {
			if !abandoned {
				eng.Close()
			}
		}()
	}
	if err == nil && ctx.Err() == nil {
		// Before the heap is grown: its builds' garbage would outgrow it.
		err = prepare(ctx, eng)
	}
	if ctx.Err() != nil {
		// Stopped while it waited for the lock, loaded (which stops at
		// once) or prepared: what was asked, not a failure.
		stopServing()
		<-served
		if err != nil {
			r.logger.Info("stopped before serving", "db", r.dbPath, "err", err.Error())
		} else {
			r.logger.Info("stopped before serving", "db", r.dbPath)
		}
		return nil
	}
	if err != nil {
		stopServing()
		<-served
		return err
	}
	server.SetServingGC()
	var prefaulted int64
	if r.prefaultHeap {
		prefaulted = server.PrefaultHeap()
	}
	reserved.Seal()
	front.serve(eng)
	logServing(ctx, r, eng, ln.Addr(), reserved.Size(), prefaulted)
	if r.reload > 0 {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go eng.Watch(wctx, r.reload)
	}
	go reloadOnHangup(serveCtx, eng, hup, r.logger)
	select {
	case err := <-served:
		return err // serving failed: ctx is not done, so err is not nil
	case <-ctx.Done():
	}
	err = r.stop(served)
	// After a second signal the process exits at once: Close would wait
	// for a reload in progress to see ctx's end (within a block of
	// records, but after a wait for the lock or the index's check), and
	// the engine holds nothing the exit does not release.
	abandoned = errors.Is(err, errSecondSignal)
	return err
}

// serverOptions are the server's options the flags set.
func (r *serveRun) serverOptions() *server.Options {
	return &server.Options{Logger: r.logger, TrustedProxies: r.trusted, MaxBodyBytes: r.maxBody, RequestTimeout: r.requestTimeout,
		MaxInFlight: r.maxInFlight, MaxQueued: r.maxQueued}
}

// loggedError is an error of serve --log json. main writes it to log, as
// a JSON object at level ERROR whose msg is the line it would have
// printed after "soundalike: " (exitCode), and prints no plain line: a
// pipeline reading standard error as JSON would drop a line that is not
// (or stop at it), and this is the line that says why the server stopped.
type loggedError struct {
	error
	log *slog.Logger
}

func (e loggedError) Unwrap() error { return e.error }

// logged is err, the error serve ends with, marked for its log when that
// is JSON. Errors of the command line itself (parseServeArgs) are
// printed as every command's are, before the log's format is known.
func (r *serveRun) logged(err error) error {
	if err == nil || !r.logJSON {
		return err
	}
	return loggedError{err, r.logger}
}

// defaultSocketMode is --socket-mode's default: the owner and the
// socket's group may connect, no one else whatever the umask. A proxy
// running as another user is let in by group (serve's group, or the
// group of a setgid directory the socket is in).
const defaultSocketMode = 0o660

// errSecondSignal is stop's error when a second signal ended the wait.
var errSecondSignal = errors.New("stopped by a second")

// stop waits for the graceful shutdown that ctx's end began (requests in
// flight finish, each within its deadlines, the read and write timeouts)
// and logs it. A second SIGINT or SIGTERM stops at once, with an error:
// an operator who sends one does not want to wait.
func (r *serveRun) stop(served <-chan error) error {
	// Registered only now, so the signal that began the shutdown is not
	// taken for a second one.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	start := time.Now()
	r.logger.Info("stopping: no new connections; finishing the requests in flight (a second SIGINT or SIGTERM stops at once)")
	select {
	case err := <-served:
		if err != nil {
			return err
		}
		r.logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
		return nil
	case sig := <-again:
		return fmt.Errorf("%w %v %v after the first, without waiting for the requests in flight", errSecondSignal, sig, time.Since(start).Round(time.Millisecond))
	}
}

// prepare waits for eng.Prepare (the derived indexes' builds: seconds at
// 1M tracks) unless ctx is done first: a stop then need not wait for them,
// and they end on their own.
func prepare(ctx context.Context, eng *soundalike.Engine) error {
	prepared := make(chan struct{})
	go func() { eng.Prepare(); close(prepared) }()
	select {
	case <-prepared:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("building the track search and filter indexes: %w", ctx.Err())
	}
}

// reloadOnHangup reloads the database on each SIGHUP until ctx is done:
// the --reload poll made to happen now (or with --reload 0, the only
// reload). The engine logs a reload or a failure, with on=SIGHUP
// (ReloadFor), as it does Watch's; this adds a line only for what the
// engine does not log, a lock held by another process or an unchanged
// file, so each SIGHUP is answered by one line.
func reloadOnHangup(ctx context.Context, eng *soundalike.Engine, hup <-chan os.Signal, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		changed, err := eng.ReloadFor(ctx, "SIGHUP")
		switch {
		case errors.Is(err, soundalike.ErrClosed), ctx.Err() != nil:
			return
		case errors.Is(err, soundalike.ErrLocked):
			log.Warn("not reloaded: another process holds the database; still serving the previous snapshot; send SIGHUP again once it is done",
				"on", "SIGHUP", "db", eng.Path(), "generation", eng.Stats().Generation, "err", err.Error())
		case err == nil && !changed:
			log.Info("not reloaded: the database is unchanged", "on", "SIGHUP", "generation", eng.Stats().Generation)
		}
	}
}

// minReload is the shortest --reload interval: each tick stats the file,
// and a tick of a few microseconds (--reload 1ns) would spend a core on it.
const minReload = 10 * time.Millisecond

// parseServeArgs reads serve's flags.
func parseServeArgs(args []string, stdio stdio) (*serveRun, error) {
	var (
		r                  = &serveRun{}
		proxies, logFormat string
		socketMode         string
	)
	// No --lock-timeout: serve waits at start as long as it takes (answering
	// /readyz meanwhile), and a reload that finds the file held tries again
	// at the next --reload tick.
	fs := newFlagSet("serve", stdio.withoutLockFlag(), &r.dbPath)
	fs.StringVar(&r.addr, "addr", "127.0.0.1:8080", "`address` to listen on: host:port, or unix:PATH for a Unix socket (a proxy on the same machine)")
	fs.DurationVar(&r.reload, "reload", defaultReload, "how often to check the database for a new model or index (0: never)")
	fs.StringVar(&socketMode, "socket-mode", fmt.Sprintf("%04o", defaultSocketMode), "with --addr unix:PATH: the socket's permissions, in `octal`; connecting takes write permission, so 0660 lets the owner and the socket's group connect (serve's group, or the directory's when it is setgid), 0600 the owner alone")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For is believed (default: none)")
	fs.StringVar(&logFormat, "log", "text", "log `format` on standard error: text, json (every line, the error serve exits with too; durations as text writes them: 88ms), or off (no access log; warnings and errors still as text). The access log leaves out probes answered 200 (/healthz, /readyz, /metrics)")
	fs.Int64Var(&r.maxBody, "max-body", server.DefaultMaxBodyBytes, "request body limit in `bytes`")
	fs.DurationVar(&r.requestTimeout, "request-timeout", server.DefaultRequestTimeout, "deadline of a search, from arrival to answer; past it the answer is 503 with Retry-After")
	fs.IntVar(&r.maxInFlight, "max-in-flight", 0, "`searches` that run at once; 0: one a CPU (GOMAXPROCS), as a search is CPU work and more at once only makes each slower")
	fs.IntVar(&r.maxQueued, "max-queued", 0, "`searches` that wait for a slot beyond --max-in-flight, each at most --request-timeout; 0: 32 a slot. One beyond both is answered 503 busy, with Retry-After, at once")
	fs.StringVar(&r.weaviateURLs, "weaviate", "", "answer the nearest-neighbour step from this Weaviate cluster (node `URLs`, comma-separated, or a file listing them; see docs/scaling.md) instead of the local index")
	fs.StringVar(&r.collection, "collection", "Tracks", "with --weaviate: the `alias` the catalogue was published under")
	fs.DurationVar(&r.hedgeDelay, "weaviate-hedge-delay", weaviate.DefaultHedgeDelay, "with --weaviate: how long a search waits for the node it asked before it asks the next node too (the first answer wins); negative: never")
	fs.BoolVar(&r.hugeHeap, "huge-heap", true, "for a database of 256 MiB or more, load the snapshot onto transparent huge pages where the kernel leaves them to madvise (docs/scaling.md)")
	fs.BoolVar(&r.hugeTLB, "hugetlb", false, "load the index's vectors and layer-0 links (256 MB a million tracks) onto the huge pages that sysctl vm.nr_hugepages reserves, which the kernel's DAMON monitor does not check; reserve room for two indexes, as a reload holds both (docs/scaling.md)")
	fs.BoolVar(&r.prefaultHeap, "prefault-heap", true, "before answering queries, grow the heap to the size serving keeps it at, so the first seconds of serving take no page faults (docs/scaling.md)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike serve [--db PATH] [--addr 127.0.0.1:8080] [flags]

Serves the HTTP API from memory: GET /similar?track=ID&k=20, POST /similar,
POST /similar/batch, POST /recommend, GET /users/{id}/recommend,
GET /users/{id}/history, GET /tracks?q=TEXT, GET /tracks?ids=ID,ID,
GET /tracks/{id}, GET /map, GET /healthz, GET /readyz, GET /model,
GET /metrics, GET /openapi.json (the OpenAPI document of them all) and the
explorer at GET /. The database file is released after loading, so import,
train and reindex can run beside the server; it picks up their new model and
index every --reload interval without a restart. While another process
holds the database at start, /healthz answers 200 and /readyz 503 saying
whom it waits for. SIGHUP reloads at once; each reload, or its failure, is
logged in one line (on=SIGHUP or on=watch for the --reload poll). SIGINT or
SIGTERM before it serves (waiting for the database, loading it) stops it at
once; once it serves, it shuts down gracefully: requests in flight finish
within their timeouts, and a second SIGINT or SIGTERM stops at once.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("serve takes no arguments, got %q", fs.Args())
	}
	if r.reload < 0 || r.reload > 0 && r.reload < minReload {
		return nil, refuseFlag(fs, "reload", r.reload, "want 0 (never) or a duration of at least %v, such as 2s", minReload)
	}
	if r.maxBody < 1 {
		return nil, refuseFlag(fs, "max-body", r.maxBody, "want at least 1 (bytes)")
	}
	if r.requestTimeout <= 0 {
		return nil, refuseFlag(fs, "request-timeout", r.requestTimeout, "want a positive duration such as 2s")
	}
	if r.maxInFlight < 0 {
		return nil, refuseFlag(fs, "max-in-flight", r.maxInFlight, "want 0 (one a CPU) or a positive number of searches")
	}
	if r.maxQueued < 0 {
		return nil, refuseFlag(fs, "max-queued", r.maxQueued, "want 0 (32 a slot) or a positive number of searches")
	}
	if isFlagSet(fs, "collection") && r.weaviateURLs == "" {
		return nil, usagef("--collection needs --weaviate: it names the alias the catalogue was published under in a Weaviate cluster")
	}
	if isFlagSet(fs, "weaviate-hedge-delay") && r.weaviateURLs == "" {
		return nil, usagef("--weaviate-hedge-delay needs --weaviate: it applies to searches through a Weaviate cluster")
	}
	if r.hugeTLB && r.weaviateURLs != "" {
		return nil, usagef("--hugetlb and --weaviate are alternatives: --hugetlb places the local index, and with --weaviate the cluster searches, with no local index loaded")
	}
	if r.hedgeDelay == 0 {
		return nil, refuseFlag(fs, "weaviate-hedge-delay", r.hedgeDelay, "want a positive duration such as 250ms, or a negative one (-1s) to never hedge")
	}
	var err error
	if r.trusted, err = parsePrefixes(fs, proxies); err != nil {
		return nil, err
	}
	switch logFormat {
	case "text":
		r.logger = slog.New(slog.NewTextHandler(stdio.err, nil))
	case "json":
		r.logger = slog.New(slog.NewJSONHandler(stdio.err, &slog.HandlerOptions{ReplaceAttr: durationText}))
		r.logJSON = true
	case "off":
		// No access log, but what an operator must act on (a failed
		// reload, a panic, an internal error) still goes to standard error.
		r.logger = slog.New(slog.NewTextHandler(stdio.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	default:
		return nil, refuseFlag(fs, "log", logFormat, "want text, json or off")
	}
	if err := checkAddr(r.addr); err != nil {
		return nil, err
	}
	if r.socketMode, err = parseSocketMode(fs, socketMode, r.addr); err != nil {
		return nil, err
	}
	return r, nil
}

// parseSocketMode parses --socket-mode of fs, s, for --addr addr: an
// octal mode of at most 0777. Given with an address that is no socket
// file (host:port, unix:@name), it is refused: it would set nothing.
func parseSocketMode(fs *flag.FlagSet, s, addr string) (os.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return 0, refuseFlag(fs, "socket-mode", s, "want an octal mode of at most 0777, such as 0660 (the owner and the socket's group may connect) or 0600 (the owner alone)")
	}
	if path, ok := strings.CutPrefix(addr, "unix:"); isFlagSet(fs, "socket-mode") && (!ok || strings.HasPrefix(path, "@")) {
		return 0, usagef("--socket-mode needs --addr unix:PATH: it sets the permissions of the socket's file, and --addr %s makes none", addr)
	}
	return os.FileMode(m), nil
}

// logServing warns about what will cost the server's queries latency (a
// heap on 4 KiB pages, the kernel's DAMON monitor), then logs what it
// serves: the "serving" line is the last of its start.
func logServing(ctx context.Context, r *serveRun, eng *soundalike.Engine, addr net.Addr, reserved, prefaulted int64) {
	st := eng.Stats()
	if err := eng.Ready(ctx); err != nil {
		// As /similar words it: the commands to run, not the library calls.
		_, reason := server.StatusOf(err)
		r.logger.Warn("not ready: /similar answers 503 until this is done; serving anyway", "reason", reason)
	}
	if hp, err := server.ReadHeapPages(); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.logger.Debug("heap pages unknown", "err", err.Error())
	} else if err == nil && hp.OnBasePages() {
		r.logger.Warn("most of the heap is on 4 KiB pages: a query's reads of it can miss the TLB, and where the kernel's DAMON monitor runs, holding them "+
			"can cost the latency tail milliseconds; set /sys/kernel/mm/transparent_hugepage/enabled to madvise (serve then advises its heap) or always, "+
			"and keep --huge-heap (docs/scaling.md)",
			"anon_mib", hp.Anon>>20, "anon_huge_mib", hp.Huge>>20)
	}
	if server.DAMONRunning() {
		hint := "; --hugetlb keeps the index's layer 0 off its samples"
		if r.hugeTLB {
			hint = "" // on the pool, or the load said why not
		}
		r.logger.Warn("the kernel's DAMON monitor (kdamond) is running: its samples of the pages a query reads can stall queries for milliseconds, which clients see in the latency tail" + hint + " (docs/scaling.md)")
	}
	r.logger.Info("serving", "addr", servingURL(addr), "db", r.dbPath,
		"tracks", st.Tracks, "indexed", st.Indexed, "model", st.ModelVersion, "generation", st.Generation,
		"huge_heap_mib", reserved>>20, "prefaulted_mib", prefaulted>>20, "hugetlb_mib", st.HugeTLB>>20,
		"read_under_lock", st.LoadRead.Round(time.Millisecond), "decode", st.LoadDecode.Round(time.Millisecond))
}

// servingURL is how a client reaches addr: an http URL, or for a Unix
// socket unix:PATH (curl --unix-socket PATH http://localhost/).
func servingURL(addr net.Addr) string {
	if addr.Network() == "unix" {
		return "unix:" + addr.String()
	}
	return "http://" + addr.String()
}

// checkAddr refuses an empty --addr, which net.Listen would take for
// every interface on a random port: a server no one could find, open to
// the network.
func checkAddr(addr string) error {
	if strings.TrimSpace(addr) == "" {
		return usagef("--addr is empty: give the host:port to listen on, such as 127.0.0.1:8080 (:8080 listens on every interface), or unix:PATH")
	}
	if addr == "unix:" {
		return usagef("--addr unix: names no socket: give unix:PATH, such as unix:/run/soundalike.sock")
	}
	return nil
}

// listenError is the error of listening on addr (--addr): a usage error
// (exit 2) when the address itself is wrong (no port, a port out of
// range, a port or host name that names nothing), and otherwise the
// machine's refusal (the port busy, a port the user may not bind, an
// address not on this machine, a file where the socket goes), exit 1: the
// command line is right, and works once the machine's state changes.
func listenError(addr string, err error) error {
	var (
		bad *net.AddrError
		dns *net.DNSError
	)
	if errors.As(err, &bad) || errors.As(err, &dns) && dns.IsNotFound {
		return usagef("--addr %s: %w", addr, err)
	}
	return fmt.Errorf("--addr %s: %w", addr, err)
}

// proxyForms says what --trusted-proxies takes.
const proxyForms = "addresses or CIDRs (e.g. 10.0.0.0/8)"

// parsePrefixes parses s, --trusted-proxies of fs: CIDRs or single
// addresses. An entry that is neither is refused as refuseFlag refuses
// a value, the entry named.
func parsePrefixes(fs *flag.FlagSet, s string) ([]netip.Prefix, error) {
	fields, err := splitList("--trusted-proxies", s, proxyForms)
	if err != nil {
		return nil, err
	}
	var ps []netip.Prefix
	for _, f := range fields {
		p, err := parsePrefix(f)
		if err != nil {
			return nil, refuseFlag(fs, "trusted-proxies", s, "entry %s is not an address or CIDR; want comma-separated %s", quoteText(f), proxyForms)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// parsePrefix parses one entry of --trusted-proxies: a CIDR, or an
// address, which is the CIDR of that address alone.
func parsePrefix(f string) (netip.Prefix, error) {
	if strings.Contains(f, "/") {
		return netip.ParsePrefix(f)
	}
	a, err := netip.ParseAddr(f)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// durationText writes a duration as the text log does ("88ms"), not as
// slog's JSON handler would, a bare number of nanoseconds that names no
// unit (--log json).
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// openDetached opens the engine for serving. A batch job (import, train,
// reindex) holds the database for as long as it runs, so a lock is waited
// out, with a line now and then naming the holder, rather than treated as
// a failure; front tells /readyz what the server waits for. base holds
// the engine's options (Logger set), to which it adds Detached and the
// lock's handling.
func openDetached(ctx context.Context, path string, stdio stdio, front *startingSearcher, base soundalike.Options) (*soundalike.Engine, error) {
	logger := base.Logger
	// The engine keeps OnLockWait for its reloads, which wait one
	// LockTimeout and fail with ErrLocked: Watch tries again next tick,
	// and reloadOnHangup says so. Only the first load's wait is told here
	// (and on /readyz).
	var opened atomic.Bool
	for i := 0; ; i++ {
		o := base
		o.Detached = true
		opts := stdio.engineOptions(&o)
		opts.LockTimeout = time.Second // each try; the loop waits as long as it takes
		opts.OnLockWait = func(holders string) {
			if opened.Load() {
				return
			}
			front.waitFor(fmt.Errorf("%w: waiting to load the database %s, %s", server.ErrStarting, path, holders))
			if i%15 == 0 {
				logger.Warn("waiting to load the database: another process holds it", "db", path, "holder", holders)
			}
		}
		eng, err := soundalike.OpenContext(ctx, path, opts)
		if !errors.Is(err, soundalike.ErrLocked) {
			if err == nil {
				opened.Store(true)
			}
			return eng, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: still locked by another process when stopped: %w", path, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
