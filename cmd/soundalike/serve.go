package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

func init() {
	register(command{name: "serve", summary: "serve the HTTP API (GET /similar?track=ID&k=20 …)", run: runServe})
}

func runServe(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath, addr, proxies, logFormat string
		weaviateURLs, collection         string // publish.go
		reload, requestTimeout           time.Duration
		maxBody                          int64
		hugeHeap, prefaultHeap, hugeTLB  bool
	)
	// No --lock-timeout: serve waits at start as long as it takes (answering
	// /readyz meanwhile), and a reload that finds the file held tries again
	// at the next --reload tick.
	fs := newFlagSet("serve", stdio.withoutLockFlag(), &dbPath)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "`address` to listen on (host:port)")
	fs.DurationVar(&reload, "reload", 2*time.Second, "how often to check the database for a new model or index (0: never)")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For is believed (default: none)")
	fs.StringVar(&logFormat, "log", "text", "access log `format` on standard error: text, json or off")
	fs.Int64Var(&maxBody, "max-body", server.DefaultMaxBodyBytes, "request body limit in `bytes`")
	fs.DurationVar(&requestTimeout, "request-timeout", server.DefaultRequestTimeout, "deadline of a search, from arrival to answer; past it the answer is 503 with Retry-After")
	fs.StringVar(&weaviateURLs, "weaviate", "", "answer the nearest-neighbour step from this Weaviate cluster (node `URLs`, comma-separated, or a file listing them; see docs/scaling.md) instead of the local index")
	fs.StringVar(&collection, "collection", "Tracks", "with --weaviate: the `alias` the catalogue was published under")
	fs.BoolVar(&hugeHeap, "huge-heap", true, "for a database of 256 MiB or more, load the snapshot onto transparent huge pages where the kernel leaves them to madvise (docs/scaling.md)")
	fs.BoolVar(&hugeTLB, "hugetlb", false, "load the index's vectors and layer-0 links (256 MB a million tracks) onto the huge pages that sysctl vm.nr_hugepages reserves, which the kernel's DAMON monitor does not check; reserve room for two indexes, as a reload holds both (docs/scaling.md)")
	fs.BoolVar(&prefaultHeap, "prefault-heap", true, "before answering queries, grow the heap to the size serving keeps it at, so the first seconds of serving take no page faults (docs/scaling.md)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike serve [--db PATH] [--addr 127.0.0.1:8080] [flags]

Serves the HTTP API from memory: GET /similar?track=ID&k=20, POST /similar,
GET /tracks/{id}, /healthz, /readyz, /model, /metrics. The database file is
released after loading, so import, train and reindex can run beside the
server; it picks up their new model and index every --reload interval
without a restart. While another process holds the database at start,
/healthz answers 200 and /readyz 503 saying whom it waits for. SIGINT or
SIGTERM shuts it down gracefully.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve takes no arguments, got %q", fs.Args())
	}
	if reload < 0 {
		return usagef("--reload %v: want 0 (never) or a positive duration such as 2s", reload)
	}
	if maxBody < 1 {
		return usagef("--max-body %d: want a positive number of bytes", maxBody)
	}
	if requestTimeout <= 0 {
		return usagef("--request-timeout %v: want a positive duration such as 2s", requestTimeout)
	}
	trusted, err := parsePrefixes(proxies)
	if err != nil {
		return err
	}
	var logger *slog.Logger
	switch logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(stdio.err, nil))
	case "json":
		logger = slog.New(slog.NewJSONHandler(stdio.err, nil))
	case "off":
		logger = slog.New(slog.DiscardHandler)
	default:
		return usagef("--log %q: want text, json or off", logFormat)
	}

	if err := checkAddr(addr); err != nil {
		return err
	}
	// Listen first: a busy port fails before the catalogue is loaded.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return usagef("--addr %s: %v", addr, err)
	}
	defer ln.Close()

	var vectors soundalike.VectorSource
	if weaviateURLs != "" {
		if vectors, err = weaviateSource(weaviateURLs, collection); err != nil {
			return err
		}
	}

	// Answer while the database loads: /healthz 200, /readyz and queries
	// 503 saying what the server waits for.
	front := &startingSearcher{}
	front.waitFor(fmt.Errorf("%w: loading the database %s", server.ErrStarting, dbPath))
	srv := server.New(front, &server.Options{Logger: logger, TrustedProxies: trusted, MaxBodyBytes: maxBody, RequestTimeout: requestTimeout})
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()

	var reserved server.HugeHeap
	if hugeHeap {
		reserved = server.ReserveHugeHeap(server.HugeHeapSize(dbPath))
	}
	eng, err := openDetached(ctx, dbPath, stdio, front, soundalike.Options{Logger: logger, VectorSource: vectors, HugeTLB: hugeTLB})
	if err != nil {
		stopServing()
		<-served
		return err
	}
	defer eng.Close()
	server.SetServingGC()
	eng.Prepare() // before the heap is grown: its builds' garbage would outgrow it
	var prefaulted int64
	if prefaultHeap {
		prefaulted = server.PrefaultHeap()
	}
	reserved.Seal()
	front.serve(eng)
	st := eng.Stats()
	if err := eng.Ready(); err != nil {
		logger.Warn("not ready: /similar answers 503 until this is done; serving anyway", "reason", err.Error())
	}
	logger.Info("serving", "addr", "http://"+ln.Addr().String(), "db", dbPath,
		"tracks", st.Tracks, "indexed", st.Indexed, "model", st.ModelVersion, "generation", st.Generation,
		"huge_heap_mib", reserved.Size()>>20, "prefaulted_mib", prefaulted>>20, "hugetlb_mib", st.HugeTLB>>20,
		"read_under_lock", st.LoadRead.Round(time.Millisecond), "decode", st.LoadDecode.Round(time.Millisecond))
	if hp, err := server.ReadHeapPages(); err != nil && !errors.Is(err, os.ErrNotExist) {
		logger.Debug("heap pages unknown", "err", err.Error())
	} else if err == nil && hp.OnBasePages() {
		logger.Warn("most of the heap is on 4 KiB pages: a query's reads of it can miss the TLB, and where the kernel's DAMON monitor runs, holding them "+
			"can cost the latency tail milliseconds; set /sys/kernel/mm/transparent_hugepage/enabled to madvise (serve then advises its heap) or always, "+
			"and keep --huge-heap (docs/scaling.md)",
			"anon_mib", hp.Anon>>20, "anon_huge_mib", hp.Huge>>20)
	}
	if server.DAMONRunning() {
		hint := "; --hugetlb keeps the index's layer 0 off its samples"
		if hugeTLB {
			hint = "" // on the pool, or the load said why not
		}
		logger.Warn("the kernel's DAMON monitor (kdamond) is running: its samples of the pages a query reads can stall queries for milliseconds, which clients see in the latency tail" + hint + " (docs/scaling.md)")
	}
	if reload > 0 {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go eng.Watch(wctx, reload)
	}
	if err := <-served; err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// checkAddr refuses an empty --addr, which net.Listen would take for
// every interface on a random port: a server no one could find, open to
// the network.
func checkAddr(addr string) error {
	if strings.TrimSpace(addr) == "" {
		return usagef("--addr is empty: give the host:port to listen on, such as 127.0.0.1:8080 (:8080 listens on every interface)")
	}
	return nil
}

// parsePrefixes parses --trusted-proxies: CIDRs or single addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, usagef("--trusted-proxies: %q is not an address or CIDR (e.g. 10.0.0.0/8)", f)
			}
			ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, usagef("--trusted-proxies: %q is not an address or CIDR (e.g. 10.0.0.0/8)", f)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// openDetached opens the engine for serving. A batch job (import, train,
// reindex) holds the database for as long as it runs, so a lock is waited
// out, with a line now and then naming the holder, rather than treated as
// a failure; front tells /readyz what the server waits for. base holds
// the engine's options (Logger set), to which it adds Detached and the
// lock's handling.
func openDetached(ctx context.Context, path string, stdio stdio, front *startingSearcher, base soundalike.Options) (*soundalike.Engine, error) {
	logger := base.Logger
	for i := 0; ; i++ {
		o := base
		o.Detached = true
		opts := stdio.engineOptions(&o)
		opts.LockTimeout = time.Second // each try; the loop waits as long as it takes
		opts.OnLockWait = func(holders string) {
			front.waitFor(fmt.Errorf("%w: waiting to load the database %s, %s", server.ErrStarting, path, holders))
			if i%15 == 0 {
				logger.Warn("waiting to load the database: another process holds it", "db", path, "holder", holders)
			}
		}
		eng, err := soundalike.Open(path, opts)
		if !errors.Is(err, soundalike.ErrLocked) {
			return eng, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: still locked by another process when stopped: %w", path, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
