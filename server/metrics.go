package server

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names, all under the soundalike_ namespace:
//
//	soundalike_http_requests_total{route,method,status}            counter
//	soundalike_http_request_duration_seconds{route,method,status}  histogram
//	soundalike_http_panics_total                                   counter
//	soundalike_http_requests_unhandled_total                       counter, requests net/http ended before a handler (400, 431, slowloris),
//	                                                               on an http.Server of HTTPServer (Serve, ListenAndServe) or WatchConns
//	soundalike_index_size                                          gauge, live vectors in the index
//	soundalike_catalogue_tracks                                    gauge, tracks in the catalogue
//	soundalike_generation                                          gauge, database generation served
//	soundalike_reload_failures_total                               counter, snapshot loads that failed (the previous one kept serving)
//	soundalike_reload_last_success_timestamp_seconds               gauge, when the served snapshot was loaded (Unix time)
//	soundalike_model_info{version}                                 gauge, 1 for the model served
//
// A server with its own registry (Options.Registerer nil) also exports
// the Go runtime's metrics (go_*, e.g. go_memstats_heap_inuse_bytes,
// go_gc_gogc_percent) and the process's (process_*, e.g.
// process_resident_memory_bytes, the RSS).
//
// route is the route pattern as the OpenAPI document and the docs write
// it ("/tracks/{id}"), never the raw URL, so the number of series stays
// bounded; requests that match no route share the route "unmatched".
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	panics   prometheus.Counter
	// unhandled counts requests net/http ended before a handler saw
	// them, on the http.Servers whose hooks watchConns set (connwatch.go).
	unhandled prometheus.Counter
	handler   echo.HandlerFunc
	reg       prometheus.Registerer // where the server's other metrics go (limits.go)

	obs sync.Map // obsKey → *routeObservers
}

type obsKey struct {
	route, method string
	status        int
}

type routeObservers struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// latencyBuckets resolve the sub-millisecond range the API aims for.
var latencyBuckets = []float64{
	50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6,
	1e-3, 2e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10,
}

func newMetrics(s Searcher, reg prometheus.Registerer, g prometheus.Gatherer) *metrics {
	if reg == nil {
		own := prometheus.NewRegistry()
		own.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg = own
		if g == nil {
			g = own
		}
	}
	if g == nil {
		if rg, ok := reg.(prometheus.Gatherer); ok {
			g = rg
		} else {
			g = prometheus.DefaultGatherer
		}
	}
	m := &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soundalike_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "soundalike_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests in the handler, by route pattern, method and status.",
			Buckets: latencyBuckets,
		}, []string{"route", "method", "status"})),
		panics: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "soundalike_http_panics_total",
			Help: "Panics recovered in HTTP handlers (each answered with a 500).",
		})),
		unhandled: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "soundalike_http_requests_unhandled_total",
			Help: "Requests net/http ended before any handler saw them: malformed (400), header fields too large (431), headers not complete within the read-header timeout, or the client closed mid-request. Counted on the http.Server of HTTPServer, Serve or ListenAndServe, or one WatchConns wired; on no other.",
		})),
		reg: reg,
	}
	registerNewest(reg, engineMetrics(), s)

	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	m.handler = echo.WrapHandler(h)
	return m
}

// register registers c, or returns the collector already registered under
// the same description, so that Servers on one Registerer share their
// counters (each adds to them) rather than panic.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("server: register metric: " + err.Error())
	}
	return c
}

// newest is a collector of metrics read from one source at each scrape:
// the engine served (Searcher.Stats) or the searches' slots (limiter).
// A gauge has one value: on a Registerer several Servers share, it reads
// the newest Server's source, as registerNewest points the collector
// registered first at each new Server's. An embedder that replaces a
// Server (and its engine) with a new one on the same Registerer thus
// exports the new engine's figures, never the closed one's.
type newest[S any] struct {
	src     atomic.Pointer[S]
	descs   []*prometheus.Desc
	collect func(src S, ch chan<- prometheus.Metric)
}

func (c *newest[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *newest[S]) Collect(ch chan<- prometheus.Metric) {
	if p := c.src.Load(); p != nil {
		c.collect(*p, ch)
	}
}

// registerNewest registers c reading src, or, when a Server registered
// its like on reg before, points that one at src.
func registerNewest[S any](reg prometheus.Registerer, c *newest[S], src S) {
	register(reg, c).src.Store(&src)
}

// observe records one answered request.
func (m *metrics) observe(route, method string, status int, d time.Duration) {
	k := obsKey{route, method, status}
	v, ok := m.obs.Load(k)
	if !ok {
		code := strconv.Itoa(status)
		v, _ = m.obs.LoadOrStore(k, &routeObservers{
			count:    m.requests.WithLabelValues(route, method, code),
			duration: m.duration.WithLabelValues(route, method, code),
		})
	}
	o := v.(*routeObservers)
	o.count.Inc()
	o.duration.Observe(d.Seconds())
}

// The metrics of the engine served, read from one Searcher.Stats call a
// scrape.
var (
	indexSizeDesc = prometheus.NewDesc("soundalike_index_size",
		"Live vectors in the similarity index being served.", nil, nil)
	hugeTLBDesc = prometheus.NewDesc("soundalike_index_hugetlb_bytes",
		"Bytes of the served index on the hugetlb pool (serve --hugetlb), which process_resident_memory_bytes does not count.", nil, nil)
	tracksDesc = prometheus.NewDesc("soundalike_catalogue_tracks",
		"Tracks in the catalogue snapshot being served.", nil, nil)
	generationDesc = prometheus.NewDesc("soundalike_generation",
		"Database generation the served snapshot was loaded from.", nil, nil)
	reloadFailuresDesc = prometheus.NewDesc("soundalike_reload_failures_total",
		"Snapshot loads (reloads, refreshes after writes) that failed; the previous snapshot kept serving.", nil, nil)
	loadedDesc = prometheus.NewDesc("soundalike_reload_last_success_timestamp_seconds",
		"When the snapshot being served was loaded, in Unix seconds (0 before the first load).", nil, nil)
	// soundalike_model_info{version="…"} 1, or nothing when there is no model.
	modelInfoDesc = prometheus.NewDesc("soundalike_model_info",
		"The model being served: 1, with its version as a label.", []string{"version"}, nil)
)

// engineMetrics is the collector of the engine's metrics.
func engineMetrics() *newest[Searcher] {
	return &newest[Searcher]{
		descs:   []*prometheus.Desc{indexSizeDesc, hugeTLBDesc, tracksDesc, generationDesc, reloadFailuresDesc, loadedDesc, modelInfoDesc},
		collect: collectEngine,
	}
}

func collectEngine(s Searcher, ch chan<- prometheus.Metric) {
	st := s.Stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	gauge(indexSizeDesc, float64(st.Indexed))
	gauge(hugeTLBDesc, float64(st.HugeTLB))
	gauge(tracksDesc, float64(st.Tracks))
	gauge(generationDesc, float64(st.Generation))
	ch <- prometheus.MustNewConstMetric(reloadFailuresDesc, prometheus.CounterValue, float64(st.ReloadFailures))
	loaded := 0.0
	if !st.Loaded.IsZero() {
		loaded = float64(st.Loaded.UnixNano()) / 1e9
	}
	gauge(loadedDesc, loaded)
	if st.ModelVersion != "" {
		ch <- prometheus.MustNewConstMetric(modelInfoDesc, prometheus.GaugeValue, 1, st.ModelVersion)
	}
}
