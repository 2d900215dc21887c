// Package server is soundalike's HTTP API: similar-track queries, track
// lookups, health, readiness, the model and Prometheus metrics, as an
// http.Handler that a recommender can mount or serve with ListenAndServe.
//
// Endpoints:
//
//	GET  /similar?track=ID&k=20[&exclude=ID,ID][&exclude_artist=true][&dedupe=false]
//	POST /similar   {"tracks":[…]} | {"features":{…}} | {"vector":[…]}, plus "k", "exclude", "exclude_artist", "dedupe"
//	GET  /tracks/{id}   a track by id, spotify:track:ID URI or open.spotify.com link
//	GET  /tracks?q=TEXT&k=10   tracks by words of their name and artists
//	GET  /tracks?ids=ID,ID     a batch; ids not in the catalogue are listed in "missing"
//	GET  /healthz   200 while the process is up
//	GET  /readyz    200 when a model and an index are loaded, else 503 naming the command to run
//	GET  /model     the current model's version, config and evaluation figures
//	GET  /metrics   Prometheus
//	GET  /map?sample=N&ids=ID,ID   points of the 2-D map of the embedding space
//	GET  /          the explorer: a web page over this API (explore.go)
//
// Every error is JSON, {"error":"…"}, and the status says whose fault it
// is (the mapping lives in one place, errors.go):
//
//	400  bad input: a missing track parameter, k outside 1..1000 (1..100
//	     for /tracks), a reference that is no track id, URI or link, bad JSON,
//	     unknown fields, NaN/Inf, a wrong vector length (ErrDimension),
//	     missing features, nothing to search by (ErrInvalidQuery)
//	404  unknown track (soundalike.ErrNotFound) or endpoint
//	405  a method the endpoint does not take
//	413  a body over Options.MaxBodyBytes
//	503  no model or no index yet (ErrNoModel, ErrNoIndex), naming the
//	     command to run: soundalike train, soundalike reindex
//	500  anything else: logged, and the message hides the details
//
// Bad input never gets a 500. A panic in a handler is recovered, logged
// with its stack, counted (soundalike_http_panics_total) and answered with
// a 500.
//
// Metrics (GET /metrics): soundalike_http_requests_total and
// soundalike_http_request_duration_seconds by route pattern (never the raw
// URL), method and status; soundalike_http_panics_total;
// soundalike_index_size, soundalike_catalogue_tracks,
// soundalike_generation; soundalike_model_info{version};
// soundalike_reload_failures_total and
// soundalike_reload_last_success_timestamp_seconds (a failed reload keeps
// the previous snapshot serving: see soundalike.Engine.Reload).
//
// Access logs go to Options.Logger at Info level, one record per request
// with method, route, path, status, duration and client_ip. The client IP
// is the peer address unless the peer is one of Options.TrustedProxies, so
// X-Forwarded-For cannot be spoofed.
//
// The HTTP framework (echo v4) is private to this package: no echo type
// appears in its API.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/audotics/soundalike"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
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
	// SearchTracks returns up to k catalogue tracks whose name and artists
	// hold the words of text, best match first.
	SearchTracks(ctx context.Context, text string, k int) ([]soundalike.Track, error)
	// Track returns a catalogue track, or an error wrapping
	// soundalike.ErrNotFound. id is any reference soundalike.ParseTrackRef
	// accepts.
	Track(ctx context.Context, id soundalike.TrackID) (*soundalike.Track, error)
	// Model describes the model being served, or returns an error wrapping
	// soundalike.ErrNoModel.
	Model(ctx context.Context) (soundalike.ModelInfo, error)
	// Stats is a cheap snapshot of what is being served.
	Stats() soundalike.Stats
	// Ready returns nil when queries can be answered, else an error
	// wrapping soundalike.ErrNoModel or soundalike.ErrNoIndex.
	Ready() error
}

// Options configure a Server. The zero value (or nil) means the defaults
// documented on each field; DefaultOptions returns them filled in.
type Options struct {
	// Logger receives access logs (one Info record per request: method,
	// route, path, status, duration, client_ip), recovered panics and
	// internal errors. nil discards.
	Logger *slog.Logger

	// MaxBodyBytes limits request bodies; a larger body gets 413.
	// 0 (or negative) means 1 MiB.
	MaxBodyBytes int64

	// Timeouts of the http.Server built by ListenAndServe and Serve.
	// 0 (or negative) means the default given.
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // default 10s
	WriteTimeout      time.Duration // default 10s
	IdleTimeout       time.Duration // default 2m
	// ShutdownTimeout bounds the graceful shutdown once the context passed
	// to ListenAndServe is done; connections still open after it are
	// closed. Default 10s.
	ShutdownTimeout time.Duration

	// Registerer receives the server's metrics. nil means a registry of the
	// server's own, which also holds the Go runtime and process collectors.
	// One Registerer serves one Server.
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
	}
}

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
		{&r.WriteTimeout, &d.WriteTimeout},
		{&r.IdleTimeout, &d.IdleTimeout},
		{&r.ShutdownTimeout, &d.ShutdownTimeout},
	} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
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
}

// New returns a Server answering from s. opts may be nil for the defaults.
func New(s Searcher, opts *Options) *Server {
	o := opts.withDefaults()
	srv := &Server{s: s, opts: o, log: o.Logger}
	srv.metrics = newMetrics(s, o.Registerer, o.Gatherer)

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(discard{})
	e.IPExtractor = ipExtractor(o.TrustedProxies)
	e.HTTPErrorHandler = srv.writeError
	e.Use(srv.observe)

	e.GET("/similar", srv.getSimilar)
	e.POST("/similar", srv.postSimilar)
	e.GET("/tracks", srv.getTracks)
	e.GET("/tracks/:id", srv.getTrack)
	e.GET("/healthz", srv.healthz)
	e.HEAD("/healthz", srv.healthz) // load balancers often probe with HEAD
	e.GET("/readyz", srv.readyz)
	e.HEAD("/readyz", srv.readyz)
	e.GET("/model", srv.model)
	e.GET("/metrics", srv.metrics.handler)
	e.GET("/map", srv.getMap)
	e.GET("/", srv.explorerFile)
	e.HEAD("/", srv.explorerFile)
	e.GET("/explorer/:file", srv.explorerFile)
	srv.e = e
	return srv
}

// ServeHTTP implements http.Handler.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv.e.ServeHTTP(w, r)
}

// HTTPServer returns an http.Server for srv with the read-header, read,
// write and idle timeouts of its Options, and its Logger for the server's
// own errors.
func (srv *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           srv,
		ReadHeaderTimeout: srv.opts.ReadHeaderTimeout,
		ReadTimeout:       srv.opts.ReadTimeout,
		WriteTimeout:      srv.opts.WriteTimeout,
		IdleTimeout:       srv.opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(srv.log.Handler(), slog.LevelWarn),
	}
}

// ListenAndServe listens on the TCP address addr and serves until ctx is
// done, then shuts down gracefully: it stops accepting, lets requests in
// flight finish for up to Options.ShutdownTimeout, and returns nil. It
// returns an error if it cannot listen or serving fails.
func (srv *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return srv.Serve(ctx, ln)
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
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		n := &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
