package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/audotics/soundalike"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Limits on the work one request may ask for. A request over one is a
// 400 naming the limit; together with MaxK and Options.MaxBodyBytes they
// bound the cost of the heaviest query.
const (
	// MaxSeeds is the most seed tracks a query by tracks may give.
	MaxSeeds = 100
	// MaxExclude is the most track references a query may exclude.
	MaxExclude = 1000
	// MaxFilterIDs is the most track references a query's filter.ids may
	// restrict it to: each is looked up, as an excluded one is.
	MaxFilterIDs = 10000
)

// A heavy search is one that asks for more than heavyK results, heavySeeds
// seeds, heavyExclude exclusions or heavyFilterIDs filter.ids: it costs
// many times a plain one, so heavy searches run in at most half the slots
// (see limiter).
const (
	heavyK         = 100
	heavySeeds     = 10
	heavyExclude   = 100
	heavyFilterIDs = 1000
)

// work is what one search asks for. probes marks a query answered by
// several index searches (StrategyBestScore).
type work struct {
	k, seeds, exclude, filterIDs int
	probes                       bool
}

// searchWork is the work of a search for k results under opts, from
// seeds examples (or seed tracks).
func searchWork(k, seeds int, opts *soundalike.SearchOptions, probes bool) work {
	w := work{k: opts.Offset + k, seeds: seeds, exclude: len(opts.Exclude), probes: probes}
	if opts.Filter != nil {
		w.filterIDs = len(opts.Filter.IDs)
	}
	return w
}

func (w work) heavy() bool {
	return w.probes || w.k > heavyK || w.seeds > heavySeeds || w.exclude > heavyExclude || w.filterIDs > heavyFilterIDs
}

// admit waits for a slot for w (see limiter); the caller calls release
// when its search is done. Every handler that searches calls it once its
// request is parsed. w is within the limits: they are the request's
// validity, a 400 naming the field, so parsing refused a request over one
// (checkSeeds, checkLists) before it checked each entry, and admit only
// weighs w for its slot.
func (srv *Server) admit(c echo.Context, w work) (release func(), err error) {
	return srv.limiter.acquire(c.Request().Context(), w.heavy())
}

// checkSeeds refuses a query by more than MaxSeeds seed tracks.
func checkSeeds(n int) error {
	if n > MaxSeeds {
		return badRequest("tracks: %d seed tracks: at most %d in one query", n, MaxSeeds)
	}
	return nil
}

// checkLists refuses search options whose lists are longer than the
// limits allow: excluded references and filter.ids.
func checkLists(opts *soundalike.SearchOptions) error {
	if n := len(opts.Exclude); n > MaxExclude {
		return badRequest("exclude: %d tracks: at most %d in one query", n, MaxExclude)
	}
	if opts.Filter != nil && len(opts.Filter.IDs) > MaxFilterIDs {
		return badRequest("filter.ids: %d tracks: at most %d in one query", len(opts.Filter.IDs), MaxFilterIDs)
	}
	return nil
}

// limiter bounds the searches running at once: MaxInFlight run, up to
// MaxQueued wait their turn, and a search beyond both is refused at once
// with a 503 and Retry-After, rather than slowing every other query down.
// A search that waits longer than its RequestTimeout is refused the same
// way. Heavy searches also need one of half the slots (at least one), so
// that however many arrive, plain ones find a slot free and do not queue
// behind them.
type limiter struct {
	slots    chan struct{}
	heavy    chan struct{}
	maxQueue int64
	queued   atomic.Int64

	rejected *prometheus.CounterVec // by reason: busy, timeout
}

func newLimiter(inFlight, queued int, reg prometheus.Registerer) *limiter {
	l := &limiter{slots: make(chan struct{}, inFlight), heavy: make(chan struct{}, max(1, inFlight/2)), maxQueue: int64(queued)}
	registerNewest(reg, limiterMetrics(), l)
	l.rejected = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "soundalike_searches_rejected_total",
		Help: "Searches answered 503: busy (every slot and queue place taken) or timeout (over serve --request-timeout, Options.RequestTimeout).",
	}, []string{"reason"}))
	return l
}

// The limiter's gauges; their help names serve's flag and the option
// that set each bound, for an operator reading /metrics.
var (
	inFlightDesc = prometheus.NewDesc("soundalike_searches_in_flight",
		"Searches running now: at most serve --max-in-flight (Options.MaxInFlight; default one a CPU, GOMAXPROCS).", nil, nil)
	queuedDesc = prometheus.NewDesc("soundalike_searches_queued",
		"Searches waiting for a slot: at most serve --max-queued (Options.MaxQueued; default 32 a slot); past it a search is answered 503 busy.", nil, nil)
)

// limiterMetrics is the collector of a limiter's gauges.
func limiterMetrics() *newest[*limiter] {
	return &newest[*limiter]{descs: []*prometheus.Desc{inFlightDesc, queuedDesc}, collect: collectLimiter}
}

func collectLimiter(l *limiter, ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(len(l.slots)))
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(l.queued.Load()))
}

// errBusy is a search refused because every slot and queue place is
// taken.
var errBusy = errors.New("busy")

// acquire takes a slot (a heavy search first takes one of the heavy
// slots), waiting in the queue while there is room in it and ctx allows.
// The caller calls release when its search is done.
func (l *limiter) acquire(ctx context.Context, heavy bool) (release func(), err error) {
	if !heavy {
		if err := l.take(ctx, l.slots); err != nil {
			return nil, err
		}
		return func() { <-l.slots }, nil
	}
	if err := l.take(ctx, l.heavy); err != nil {
		return nil, err
	}
	if err := l.take(ctx, l.slots); err != nil {
		<-l.heavy
		return nil, err
	}
	return func() { <-l.slots; <-l.heavy }, nil
}

// take takes a place in ch, waiting in the queue while there is room in it
// and ctx allows.
func (l *limiter) take(ctx context.Context, ch chan struct{}) error {
	select {
	case ch <- struct{}{}:
		return nil
	default:
	}
	if l.queued.Add(1) > l.maxQueue {
		l.queued.Add(-1)
		return errBusy
	}
	defer l.queued.Add(-1)
	select {
	case ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// limit is the middleware of the routes that search: it gives the request
// its deadline (Options.RequestTimeout, from the moment it arrives), and
// answers a search that admit refused (busy, or past its deadline) with
// 503 and Retry-After. A search that a vector source failed
// (soundalike.ErrIndexUnavailable) keeps that error, its deadline passed
// or not: its message names the source that did not answer.
func (srv *Server) limit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx, cancel := context.WithTimeout(r.Context(), srv.opts.RequestTimeout)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		err := next(c)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errBusy):
			srv.limiter.rejected.WithLabelValues("busy").Inc()
			c.Response().Header().Set("Retry-After", "1")
			return statusError(http.StatusServiceUnavailable, fmt.Sprintf(
				"busy: every search slot is taken and %d searches wait, the most this server takes: retry after a second", srv.limiter.maxQueue))
		case errors.Is(err, soundalike.ErrIndexUnavailable):
			// The vector source's own 503 (writeError), which names what
			// did not answer, even when the deadline passed waiting for it.
			return err
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == context.DeadlineExceeded && r.Context().Err() == nil:
			srv.limiter.rejected.WithLabelValues("timeout").Inc()
			c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter(srv.opts.RequestTimeout)))
			return statusError(http.StatusServiceUnavailable, fmt.Sprintf(
				"request timed out: over the server's limit of %v per request (waiting for a slot included); ask for fewer seeds, exclusions or results, or retry", srv.opts.RequestTimeout))
		}
		return err
	}
}

// retryAfter is the Retry-After of a timed-out request, in whole seconds.
func retryAfter(d time.Duration) int {
	return max(1, int(d.Round(time.Second)/time.Second))
}

// work is the size of a checked POST /similar query, for admit.
func (sq *similarQuery) work() work {
	return searchWork(sq.k, len(sq.q.Tracks), sq.opts, false)
}
