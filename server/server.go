// Package server is soundalike's HTTP API: similar-track queries, track
// lookups, health, readiness, the model and Prometheus metrics, as an
// http.Handler that a recommender can mount or serve with ListenAndServe.
//
// Endpoints:
//
//	GET  /similar?track=ID&k=20[&exclude=ID,ID][&exclude_artist=true][&dedupe=false] plus the search parameters:
//	     [&offset=N][&score_threshold=S][&genre=G,G][&year_min=Y][&year_max=Y][&popularity_min=P]
//	     [&popularity_max=P][&max_per_artist=N][&diversity=λ][&fields=metadata,features]
//	POST /similar   {"tracks":[…]} | {"features":{…}} | {"vector":[…]}, plus "k", "exclude", "exclude_artist",
//	     "dedupe", "filter":{"genres","year_min","year_max","popularity_min","popularity_max","artists",
//	     "exclude_artists","ids"}, "offset", "score_threshold", "max_per_artist", "diversity", "fields":[…]
//	POST /similar/batch   {"queries":[a POST /similar body, …]}: up to 100, answered {"results":[…]} in order,
//	     a query that failed as it ran for a reason of its own (a seed not found) as {"error":"…","status":404}
//	POST /recommend {"positive":[…],"negative":[…],"strategy":"average"|"best_score","k":20}, plus the search options of POST /similar
//	GET  /users/{id}/recommend?k=20[&…the search parameters of GET /similar]
//	GET  /users/{id}/history?limit=50&offset=0   a page of a user's interactions, newest first, and their total
//	GET  /tracks/{id}   a track by id, spotify:track:ID URI or open.spotify.com link
//	GET  /tracks?q=TEXT&k=10   tracks by words of their name and artists
//	GET  /tracks?ids=ID,ID     a batch; ids not in the catalogue are listed in "missing"
//	GET  /tracks?id=ID&id=ID   the same, each value one whole id (one that holds a comma)
//	GET  /healthz   200 while the process is up
//	GET  /readyz    200 when a model and an index are loaded (status "stale", with the
//	                generation on disk and the error, when the last reload failed and an
//	                older snapshot serves), else 503 naming the command to run or what
//	                the server waits for
//	GET  /model     the current model's version, config and evaluation figures
//	GET  /metrics   Prometheus
//	GET  /map?sample=N&ids=ID,ID   points of the 2-D map of the embedding space (or &id=ID&id=ID)
//	GET  /          the explorer: a web page over this API, whose URLs are relative to it
//	                so that it works under a prefix a proxy strips (explore.go)
//	GET  /openapi.json   the OpenAPI 3 document of these endpoints
//
// Every GET endpoint also answers HEAD, as net/http's ServeMux does: the
// same status and headers, no body.
//
// A query parameter an endpoint does not take is a 400 naming it (GET
// /tracks/{id} and GET /model take none), except on /healthz, /readyz,
// /metrics, /openapi.json and the explorer's files, which ignore them: a
// load balancer's probe or a scraper may add its own, and the page reads
// its own query string.
//
// The search parameters: offset skips results (a page is that slice of
// the longer query's results), score_threshold drops results scoring
// below it (-1..1), genre keeps tracks of any of the genres, year_* and
// popularity_* bound the release year (1..9999) and popularity (0..100)
// inclusively, max_per_artist caps the results one artist may have,
// diversity is MMR's λ (0..1: 0 ranks by similarity alone), and fields adds
// to each result its metadata (spotify_id when stored, album, release_date,
// popularity, genres)
// and/or its features; without fields a result is track_id, name, artists
// and score.
//
// Every error is JSON, {"error":"…"}, and the status says whose fault it
// is (the mapping lives in one place, errors.go; StatusOf exports it):
//
//	400  bad input: a missing or badly escaped track parameter, k outside
//	     1..1000 (1..100 for /tracks), a reference that is no track id, URI
//	     or link, bad JSON, unknown, duplicate or miscased keys, NaN/Inf, a
//	     wrong vector length (ErrDimension), missing features, nothing to
//	     search by, a search parameter out of its range, naming it
//	     (ErrInvalidQuery), more than MaxSeeds seeds, MaxExclude
//	     exclusions or MaxFilterIDs filter.ids, a body nesting deeper than MaxJSONDepth, a filter's
//	     bounds the wrong way round, offset + k past MaxK, an unknown
//	     query parameter, an empty entry of a comma-separated one, an
//	     array element of the wrong kind; each named as the request
//	     spelled it (year_min, filter.year_min, positive[1].vector,
//	     exclude[1], tracks[0]); in a batch,
//	     any query's, before any runs, naming the query: queries[3].k
//	404  unknown track (a seed named by its index, tracks[1]), a user with
//	     no history (soundalike.ErrNotFound), or an unknown endpoint
//	405  a method the endpoint does not take
//	408  a body not received within Options.ReadTimeout
//	413  a body over Options.MaxBodyBytes (serve --max-body)
//	415  a POST body that is not Content-Type application/json, or that
//	     has a Content-Encoding other than identity (bodies are read as
//	     sent, never decompressed)
//	503  no model or no index yet (ErrNoModel, ErrNoIndex), naming the
//	     command to run: soundalike train, soundalike reindex; or, with
//	     Retry-After, a search refused because Options.MaxInFlight run and
//	     Options.MaxQueued wait ("busy"), or one past Options.RequestTimeout;
//	     or, with Retry-After, a user's history that another process
//	     (soundalike import, train or reindex) is rewriting (ErrLocked)
//	500  anything else: logged, and the message hides the details
//
// POST bodies are decoded strictly: Content-Type application/json (with
// charset=utf-8 at most), no Content-Encoding but identity, keys exactly
// as documented (case counts), each key once, no unknown keys, one JSON
// value, an array's elements of the kind it takes and never null (an
// object in tracks is refused, naming tracks[0]: {"track": ID} is POST
// /recommend's example form), whole numbers as digits alone (1e2 is
// refused, saying to write 100).
//
// A comma-separated query parameter (exclude, genre, fields, ids) may be
// repeated; its entries are counted over all its values. An empty entry
// (a comma doubled, leading or trailing) is a 400 naming it by that
// count (exclude[1]), as a refused track reference in it is; a value
// that is blank (a form's empty input, genre=) names none.
//
// # Bounded work
//
// A search (GET and POST /similar, GET /tracks) asks for at most MaxK
// results, MaxSeeds seed tracks, MaxExclude exclusions and MaxFilterIDs
// filter.ids, in a body of at most Options.MaxBodyBytes nesting at most
// MaxJSONDepth levels (both checked before the body is decoded). It has Options.RequestTimeout (2s) from its
// arrival to its answer, and runs in one of Options.MaxInFlight slots
// (GOMAXPROCS: a search is CPU work), with Options.MaxQueued more waiting
// their turn; beyond that it is refused at once. A heavy search (more
// than 100 results, 10 seeds or 100 exclusions) also needs one of half the
// slots, so that however many heavy queries arrive, plain ones find a slot
// free and do not queue behind them.
//
// Bad input never gets a 500. A panic in a handler is recovered, logged
// with its stack, counted (soundalike_http_panics_total) and answered with
// a 500.
//
// Metrics (GET /metrics): soundalike_http_requests_total and
// soundalike_http_request_duration_seconds by route pattern (never the raw
// URL), method and status; soundalike_http_panics_total;
// soundalike_http_requests_unhandled_total, the requests net/http ended
// before any handler saw them (malformed, headers too large, a slowloris),
// counted on the http.Server of HTTPServer, Serve or ListenAndServe, or
// on one of the caller's that WatchConns wired, and on no other (net/http
// tells a handler nothing of them); soundalike_index_size,
// soundalike_catalogue_tracks, soundalike_generation;
// soundalike_model_info{version};
// soundalike_reload_failures_total and
// soundalike_reload_last_success_timestamp_seconds (a failed reload keeps
// the previous snapshot serving: see soundalike.Engine.Reload);
// soundalike_searches_in_flight, soundalike_searches_queued and
// soundalike_searches_rejected_total{reason="busy"|"timeout"}.
// A response the client did not read within Options.WriteTimeout, or
// hung up on, is counted and logged with status 499 and a client_error,
// not as the 200 it started as.
//
// Access logs go to Options.Logger at Info level (a probe of /healthz,
// /readyz or /metrics answered 200 at Debug), one record per request
// with method, route, path (cut to 512 bytes), status, duration and
// client_ip, and for a POST /similar/batch whose queries failed in their
// slots, failed_queries, how many. The client IP
// is the peer address unless the peer is one of Options.TrustedProxies, so
// X-Forwarded-For cannot be spoofed; a peer over a Unix socket (Listen's
// unix:PATH) is a local process the socket's permissions admitted, taken
// as the proxy in front, whose X-Forwarded-For is believed.
//
// The HTTP framework (echo v4) is private to this package: no echo type
// appears in its API.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/outfile"
)

// Searcher is what the server needs from an engine. *soundalike.Engine
// implements it; tests use it, and a fake with canned answers where an
// engine cannot be made to fail or stall.
type Searcher interface {
	// Similar returns the k tracks most similar to the catalogue track id,
	// never id itself, with the query track, the neighbours' tracks and
	// the model that answered.
	Similar(ctx context.Context, id soundalike.TrackID, k int, opts *soundalike.SearchOptions) (soundalike.Results, error)
	// SimilarTo returns the k tracks most similar to q, likewise.
	SimilarTo(ctx context.Context, q soundalike.Query, k int, opts *soundalike.SearchOptions) (soundalike.Results, error)
	// Recommend returns tracks like q's positive examples and unlike its
	// negative ones, or for q.User from their history, never one of the
	// examples' tracks; an error wrapping soundalike.ErrNotFound when the
	// user has no history.
	Recommend(ctx context.Context, q soundalike.RecommendQuery) (soundalike.Results, error)
	// UserHistory returns a user's interactions, newest first, or an error
	// wrapping soundalike.ErrNotFound when there are none.
	UserHistory(ctx context.Context, user string) ([]soundalike.Interaction, error)
	// SearchTracks returns up to k catalogue tracks whose name and artists
	// hold the words of text, best match first, or ctx's error when ctx is
	// done before it searches (the request's deadline: a 503).
	SearchTracks(ctx context.Context, text string, k int) ([]soundalike.Track, error)
	// Track returns a catalogue track, or an error wrapping
	// soundalike.ErrNotFound. id is a stored id or any reference
	// soundalike.ParseTrackRef accepts; one that names no track wraps
	// ErrNotFound, one that no stored id could be is a
	// *soundalike.TrackRefError, which the server answers 400.
	Track(ctx context.Context, id soundalike.TrackID) (*soundalike.Track, error)
	// Model describes the model being served, or returns an error wrapping
	// soundalike.ErrNoModel.
	Model(ctx context.Context) (soundalike.ModelInfo, error)
	// Stats is a cheap snapshot of what is being served; it does not
	// wait for a load.
	Stats() soundalike.Stats
	// Ready returns nil when queries can be answered, else an error
	// wrapping soundalike.ErrNoModel or soundalike.ErrNoIndex, or ctx's
	// when it ends first.
	Ready(ctx context.Context) error
}

// Options configure a Server. The zero value (or nil) means the defaults
// documented on each field; DefaultOptions returns them filled in.
type Options struct {
	// Logger receives access logs (one Info record per request, Debug
	// for a probe answered 200: method,
	// route, path, status, duration, client_ip; failed_queries for a
	// batch with failed queries), recovered panics and internal errors.
	// nil discards.
	Logger *slog.Logger

	// MaxBodyBytes limits request bodies; a larger body gets 413.
	// 0 (or negative) means 1 MiB.
	MaxBodyBytes int64

	// Timeouts of the http.Server built by ListenAndServe and Serve.
	// 0 (or negative) means the default given.
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // default 10s
	// WriteTimeout bounds a request from the end of its headers to the
	// end of its answer; past it the connection is closed unanswered.
	// Default 10s, or RequestTimeout plus 8s when that is longer, so that
	// a search allowed RequestTimeout still gets its answer (or its 503)
	// written.
	WriteTimeout time.Duration
	IdleTimeout  time.Duration // default 2m
	// ShutdownTimeout bounds the graceful shutdown once the context passed
	// to ListenAndServe is done; connections still open after it are
	// closed. Default 10s, or WriteTimeout when that is longer, so that
	// every request in flight ends on its own deadline.
	ShutdownTimeout time.Duration

	// RequestTimeout is the deadline of a search (GET and POST /similar,
	// GET /tracks), from its arrival to its answer, a wait for a slot
	// included; past it the answer is 503 "request timed out" with
	// Retry-After. 0 (or negative) means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxInFlight is how many searches run at once; MaxQueued more wait
	// for a slot, and a search beyond both is answered 503 "busy" with
	// Retry-After at once. Defaults: MaxInFlight runtime.GOMAXPROCS (a
	// search is CPU work: more at once only makes each slower), MaxQueued
	// 32 per slot: a plain search takes well under a millisecond of CPU, so
	// a full queue of plain ones clears in a few milliseconds, and a load
	// balancer's or client pool's usual few dozen connections never meet a
	// 503 on an idle server. RequestTimeout bounds the wait of any search.
	// 0 (or negative) means the default.
	MaxInFlight int
	MaxQueued   int

	// Registerer receives the server's metrics. nil means a registry of the
	// server's own, which also holds the Go runtime and process collectors.
	// Servers may share one Registerer: the request counters and
	// histograms add up every Server's requests, and the gauges (the
	// engine's soundalike_index_size, soundalike_catalogue_tracks,
	// soundalike_generation, soundalike_model_info, the reload metrics,
	// soundalike_searches_in_flight and soundalike_searches_queued) read
	// the Server made last, so that a new Server replacing one on a new
	// engine exports the new engine's figures.
	Registerer prometheus.Registerer
	// Gatherer is what GET /metrics serves. nil means the server's own
	// registry when Registerer is nil, else Registerer itself if it is a
	// prometheus.Gatherer (as *prometheus.Registry is), else
	// prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer

	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For header is believed when logging the client IP. nil
	// (the default) trusts no one: the client IP is the peer address and
	// X-Forwarded-For is ignored, so a client cannot spoof it.
	TrustedProxies []netip.Prefix
}

// Default option values.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultRequestTimeout    = 2 * time.Second
)

// DefaultOptions returns a fresh Options with every default filled in.
func DefaultOptions() *Options {
	return &Options{
		Logger:            slog.New(slog.DiscardHandler),
		MaxBodyBytes:      DefaultMaxBodyBytes,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		ShutdownTimeout:   DefaultShutdownTimeout,
		RequestTimeout:    DefaultRequestTimeout,
		MaxInFlight:       runtime.GOMAXPROCS(0),
		MaxQueued:         queuePerSlot * runtime.GOMAXPROCS(0),
	}
}

// writeMargin is how much longer than RequestTimeout the default
// WriteTimeout is: the time to write the answer to a slow client, as the
// defaults leave it (10s against 2s).
const writeMargin = DefaultWriteTimeout - DefaultRequestTimeout

// queuePerSlot is the default MaxQueued per MaxInFlight slot.
const queuePerSlot = 32

// withDefaults returns a copy of o (which may be nil) with zero fields set
// to their defaults.
func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	d := DefaultOptions()
	if r.Logger == nil {
		r.Logger = d.Logger
	}
	if r.MaxBodyBytes <= 0 {
		r.MaxBodyBytes = d.MaxBodyBytes
	}
	for _, p := range []struct{ v, def *time.Duration }{
		{&r.ReadHeaderTimeout, &d.ReadHeaderTimeout},
		{&r.ReadTimeout, &d.ReadTimeout},
		{&r.IdleTimeout, &d.IdleTimeout},
		{&r.RequestTimeout, &d.RequestTimeout},
	} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	// A connection's write deadline cuts an answer still being computed:
	// the client would get no answer at all, and the log would blame it.
	if r.WriteTimeout <= 0 {
		w := r.RequestTimeout + writeMargin
		if w < r.RequestTimeout {
			w = math.MaxInt64 // a RequestTimeout of centuries
		}
		r.WriteTimeout = max(d.WriteTimeout, w)
	}
	if r.ShutdownTimeout <= 0 {
		r.ShutdownTimeout = max(d.ShutdownTimeout, r.WriteTimeout)
	}
	if r.MaxInFlight <= 0 {
		r.MaxInFlight = d.MaxInFlight
	}
	if r.MaxQueued <= 0 {
		r.MaxQueued = queuePerSlot * r.MaxInFlight
	}
	return r
}

// Server is soundalike's HTTP API. It implements http.Handler and is safe
// for concurrent use.
type Server struct {
	s       Searcher
	opts    Options
	log     *slog.Logger
	e       *echo.Echo
	metrics *metrics
	limiter *limiter
	// routes maps each route as echo has it (/tracks/:id) to the route as
	// the OpenAPI document writes it (/tracks/{id}); written by New only.
	routes map[string]string
}

// echoPath writes a route's path as echo takes it: each OpenAPI path
// parameter, {id}, as echo's :id.
func echoPath(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if name, ok := strings.CutPrefix(s, "{"); ok {
			segs[i] = ":" + strings.TrimSuffix(name, "}")
		}
	}
	return strings.Join(segs, "/")
}

// route is the route that answered c, as the OpenAPI document writes it,
// or "unmatched" for a request no route matched: the metrics' and the
// access log's route, from a bounded set.
func (srv *Server) route(c echo.Context) string {
	if r, ok := srv.routes[c.Path()]; ok {
		return r
	}
	return "unmatched"
}

// isNilEngine reports whether s is a nil *soundalike.Engine: a non-nil
// interface holding a nil pointer.
func isNilEngine(s Searcher) bool {
	e, ok := s.(*soundalike.Engine)
	return ok && e == nil
}

// New returns a Server answering from s. opts may be nil for the defaults.
// A nil s (or a nil *soundalike.Engine) panics here, as http.Handle does
// with a nil handler, rather than in every request.
func New(s Searcher, opts *Options) *Server {
	if s == nil || isNilEngine(s) {
		panic("server.New: nil Searcher")
	}
	o := opts.withDefaults()
	srv := &Server{s: s, opts: o, log: o.Logger}
	srv.metrics = newMetrics(s, o.Registerer, o.Gatherer)
	srv.limiter = newLimiter(o.MaxInFlight, o.MaxQueued, srv.metrics.reg)

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(discard{})
	e.IPExtractor = ipExtractor(o.TrustedProxies)
	e.HTTPErrorHandler = srv.writeError
	e.Use(srv.observe)

	// Routes are written as OpenAPI writes them, /tracks/{id}, and
	// registered with echo as /tracks/:id; srv.routes maps back, so that
	// metrics and the access log name a route as the document does.
	srv.routes = map[string]string{}
	handle := func(methods []string, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
		ep := echoPath(path)
		srv.routes[ep] = path
		e.Match(methods, ep, h, m...)
	}
	// Every GET route answers HEAD too, as net/http's ServeMux does (load
	// balancers probe /healthz with it, curl -I asks for any resource):
	// the same handler, whose body net/http drops.
	get := func(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
		handle([]string{http.MethodGet, http.MethodHead}, path, h, m...)
	}
	post := func(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
		handle([]string{http.MethodPost}, path, h, m...)
	}
	// Routes that search take srv.limit: a deadline and a slot.
	get("/similar", srv.getSimilar, srv.limit)
	post("/similar", srv.postSimilar, srv.limit)
	post("/similar/batch", srv.postSimilarBatch, srv.limit)
	post("/recommend", srv.postRecommend, srv.limit)
	get("/users/{id}/recommend", srv.getUserRecommend, srv.limit)
	get("/users/{id}/history", srv.getUserHistory)
	get("/tracks", srv.getTracks, srv.limit)
	get("/tracks/{id}", srv.getTrack)
	get("/healthz", srv.healthz)
	get("/readyz", srv.readyz)
	get("/model", srv.model)
	get("/metrics", srv.metrics.handler)
	get("/openapi.json", srv.openAPI)
	get("/map", srv.getMap)
	get("/", srv.explorerFile)
	get("/explorer/{file}", srv.explorerFile)
	srv.e = e
	return srv
}

// ServeHTTP implements http.Handler. A path without its leading "/" (from
// http.StripPrefix in front of srv) is given one in place: net/http's
// server never hands over such a path, so only such a copy is changed.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rootPath(r.URL)
	srv.e.ServeHTTP(w, r)
}

// HTTPServer returns an http.Server for srv with the read-header, read,
// write and idle timeouts of its Options, its Logger for the server's own
// errors, and hooks that log and count the requests net/http ends before
// any handler sees them (connWatch). Its Handler may be replaced by one
// that passes every request to srv (a timing wrapper, http.StripPrefix);
// one that answers some requests itself needs an http.Server of the
// caller's that WatchConns wired, not this one, whose hooks would count
// the requests it answers on connections it closes (WatchConns on this
// one would count each request net/http ends twice).
func (srv *Server) HTTPServer(addr string) *http.Server {
	hs := &http.Server{
		// "OPTIONS *" goes to the handler chain, which answers and logs
		// it, rather than to net/http's own answer, which nothing logs.
		DisableGeneralOptionsHandler: true,
		Addr:                         addr,
		Handler:                      srv,
		ReadHeaderTimeout:            srv.opts.ReadHeaderTimeout,
		ReadTimeout:                  srv.opts.ReadTimeout,
		WriteTimeout:                 srv.opts.WriteTimeout,
		IdleTimeout:                  srv.opts.IdleTimeout,
		ErrorLog:                     slog.NewLogLogger(srv.log.Handler(), slog.LevelWarn),
	}
	srv.watchConns(hs)
	return hs
}

// ListenAndServe listens on addr (see Listen) and serves until ctx is
// done, then shuts down gracefully: it stops accepting, lets requests in
// flight finish for up to Options.ShutdownTimeout, and returns nil. It
// returns an error if it cannot listen or serving fails.
func (srv *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := Listen(ctx, addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return srv.Serve(ctx, ln)
}

// unixPrefix marks an address as a Unix socket's path.
const unixPrefix = "unix:"

// Listen listens on addr: a TCP host:port, or "unix:PATH" for a Unix
// socket, the usual way to sit behind a proxy on the same machine. A
// socket left at PATH by a server that is gone is replaced; any other
// file there, or a socket a server still answers on, is an error, never
// removed; servers starting at once on one path take turns (see
// lockSocketDir). Closing the listener removes the socket.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	path, ok := strings.CutPrefix(addr, unixPrefix)
	if !ok {
		return lc.Listen(ctx, "tcp", addr)
	}
	if path == "" {
		return nil, errors.New(`listen unix: the path is empty: give "unix:PATH"`)
	}
	if path[0] == '@' && runtime.GOOS == "linux" { // the abstract namespace: no file to judge or lock
		return lc.Listen(ctx, "unix", path)
	}
	unlock, err := lockSocketDir(ctx, path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	return lc.Listen(ctx, "unix", path)
}

// removeStaleSocket removes the socket at path when no server answers on
// it; it leaves a missing path alone and refuses anything else.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listen unix %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("listen unix %s: the path is %s, not a socket: choose another path, or remove it if nothing needs it", path, outfile.Kind(fi.Mode()))
	}
	// Only a refused connection says no server is there: a dial that
	// fails otherwise (no permission to the socket, a full backlog) may
	// be that of a server still answering, whose socket must stay.
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("listen unix %s: another server is listening on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("listen unix %s: a socket is there and whether a server answers on it is unknown (%v): remove it if none does", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listen unix %s: remove the socket a stopped server left: %w", path, err)
	}
	return nil
}

// Serve is ListenAndServe on a listener the caller opened (for example on
// port 0, to learn the address first). It closes ln.
func (srv *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := srv.HTTPServer(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), srv.opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = fmt.Errorf("shutdown %s: %w", ln.Addr(), err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve %s: %w", ln.Addr(), serr)
	}
	return err
}

// ipExtractor returns how the client IP is found: the peer address, or,
// when proxies are trusted, the nearest untrusted address in
// X-Forwarded-For. Echo's defaults (which trust loopback, link-local and
// private addresses) are all turned off so only the ranges given count.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	byPeer := echo.ExtractIPDirect()
	if len(trusted) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, p := range trusted {
			p = p.Masked()
			n := &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
			opts = append(opts, echo.TrustIPRange(n))
		}
		byPeer = echo.ExtractIPFromXFFHeader(opts...)
	}
	return func(r *http.Request) string {
		if _, _, err := net.SplitHostPort(r.RemoteAddr); err != nil {
			return forwardedOverUnix(r, trusted)
		}
		return byPeer(r)
	}
}

// forwardedOverUnix is the client IP of a request that came over a Unix
// socket, whose peer has no address: a local process the socket's file
// permissions admitted, the proxy in front (serve --addr unix:PATH), so
// X-Forwarded-For is believed, from its nearest entry back past the
// trusted proxies. "" when the header is missing or malformed.
func forwardedOverUnix(r *http.Request, trusted []netip.Prefix) string {
	hops := strings.Split(strings.Join(r.Header.Values(echo.HeaderXForwardedFor), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(hops[i]), "[]"))
		if err != nil {
			return ""
		}
		if !slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a.Unmap()) }) || i == 0 {
			return a.Unmap().String()
		}
	}
	return ""
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
