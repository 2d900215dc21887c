package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

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
)

// checkWork refuses a query that asks for more work than the limits
// allow: seeds seed tracks and exclude excluded references.
func checkWork(seeds, exclude int) error {
	if seeds > MaxSeeds {
		return badRequest("tracks: %d seed tracks: at most %d in one query", seeds, MaxSeeds)
	}
	if exclude > MaxExclude {
		return badRequest("exclude: %d tracks: at most %d in one query", exclude, MaxExclude)
	}
	return nil
}

// limiter bounds the searches running at once: MaxInFlight run, up to
// MaxQueued wait their turn, and a search beyond both is refused at once
// with a 503 and Retry-After, rather than slowing every other query down.
// A search that waits longer than its RequestTimeout is refused the same
// way.
type limiter struct {
	slots    chan struct{}
	maxQueue int64
	queued   atomic.Int64

	inFlightGauge prometheus.GaugeFunc
	queuedGauge   prometheus.GaugeFunc
	rejected      *prometheus.CounterVec // by reason: busy, timeout
}

func newLimiter(inFlight, queued int, reg prometheus.Registerer) *limiter {
	l := &limiter{slots: make(chan struct{}, inFlight), maxQueue: int64(queued)}
	register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "soundalike_searches_in_flight",
		Help: "Searches running now (at most Options.MaxInFlight).",
	}, func() float64 { return float64(len(l.slots)) }))
	register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "soundalike_searches_queued",
		Help: "Searches waiting for a slot (at most Options.MaxQueued).",
	}, func() float64 { return float64(l.queued.Load()) }))
	l.rejected = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "soundalike_searches_rejected_total",
		Help: "Searches answered 503: busy (every slot and queue place taken) or timeout (over Options.RequestTimeout).",
	}, []string{"reason"}))
	return l
}

// errBusy is a search refused because every slot and queue place is
// taken.
var errBusy = errors.New("busy")

// acquire takes a slot, waiting in the queue while there is room in it
// and ctx allows. The caller calls release when its search is done.
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-l.slots }
	select {
	case l.slots <- struct{}{}:
		return release, nil
	default:
	}
	if l.queued.Add(1) > l.maxQueue {
		l.queued.Add(-1)
		return nil, errBusy
	}
	defer l.queued.Add(-1)
	select {
	case l.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// limit is the middleware of the routes that search: it gives the request
// its deadline (Options.RequestTimeout, from the moment it arrives) and
// runs it in a limiter slot.
func (srv *Server) limit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx, cancel := context.WithTimeout(r.Context(), srv.opts.RequestTimeout)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		release, err := srv.limiter.acquire(ctx)
		if err == nil {
			err = func() error {
				defer release() // a panic in next must not keep the slot
				return next(c)
			}()
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errBusy):
			srv.limiter.rejected.WithLabelValues("busy").Inc()
			c.Response().Header().Set("Retry-After", "1")
			return &httpError{http.StatusServiceUnavailable, fmt.Sprintf(
				"busy: %d searches running and %d waiting, the most this server takes: retry after a second", cap(srv.limiter.slots), srv.limiter.maxQueue)}
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == context.DeadlineExceeded && r.Context().Err() == nil:
			srv.limiter.rejected.WithLabelValues("timeout").Inc()
			c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter(srv.opts.RequestTimeout)))
			return &httpError{http.StatusServiceUnavailable, fmt.Sprintf(
				"request timed out: over the server's limit of %v per request (waiting for a slot included); ask for fewer seeds, exclusions or results, or retry", srv.opts.RequestTimeout)}
		}
		return err
	}
}

// retryAfter is the Retry-After of a timed-out request, in whole seconds.
func retryAfter(d time.Duration) int {
	return max(1, int(d.Round(time.Second)/time.Second))
}
