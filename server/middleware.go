package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// observe wraps every handler (routes, not-found and method-not-allowed
// alike): it recovers panics, writes errors as JSON, then records metrics
// and the access log with the final status.
func (srv *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		seen(c.Request())
		// Every answer is sniff-proof: a browser never reads the JSON
		// API's bodies, which quote catalogue text, as HTML or script.
		c.Response().Header()["X-Content-Type-Options"] = nosniff
		var clientErr string
		if err := srv.recovering(next, c); err != nil {
			if clientErr = clientFault(err, c); clientErr == "" {
				srv.writeError(err, c)
			}
		}
		d := time.Since(start)

		r := c.Request()
		status := c.Response().Status
		if clientErr != "" {
			status = statusClientClosed // not the 200 whose writing failed
		}
		route := srv.route(c)
		method := metricMethod(r.Method)
		srv.metrics.observe(route, method, status, d)
		level := accessLevel(route, status)
		if !srv.log.Enabled(r.Context(), level) {
			return nil // serve --log off: no access log to build
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", shorten(r.URL.Path)),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.String("client_ip", c.RealIP()),
		}
		if clientErr != "" {
			attrs = append(attrs, slog.String("client_error", clientErr))
		}
		if n, ok := c.Get(failedQueriesKey).(int); ok {
			attrs = append(attrs, slog.Int("failed_queries", n))
		}
		srv.log.LogAttrs(r.Context(), level, "request", attrs...)
		return nil
	}
}

// accessLevel is the level of a request's access log record: Info, but
// Debug for a probe answered 200 (GET /healthz, /readyz, /metrics), which
// a load balancer, an orchestrator and Prometheus send every few seconds
// and would drown the log in; a probe that fails is Info, as it says
// something.
func accessLevel(route string, status int) slog.Level {
	switch route {
	case "/healthz", "/readyz", "/metrics":
		if status == http.StatusOK {
			return slog.LevelDebug
		}
	}
	return slog.LevelInfo
}

// nosniff is the X-Content-Type-Options value, shared: set as a header's
// slice, it costs a request no allocation.
var nosniff = []string{"nosniff"}

// recovering calls next, turning a panic into an errPanic after logging it
// with its stack and counting it.
func (srv *Server) recovering(next echo.HandlerFunc, c echo.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v) // net/http's way to abort a response: not ours to swallow
			}
			srv.metrics.panics.Inc()
			r := c.Request()
			srv.log.LogAttrs(r.Context(), slog.LevelError, "panic recovered",
				slog.String("method", r.Method), slog.String("path", shorten(r.URL.Path)),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			err = errPanic{v}
		}
	}()
	return next(c)
}

// metricMethod bounds the method label to the standard methods.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// clientFault describes an error that is the client's doing once the
// answer is on its way: writing it timed out (the client reads too slowly
// for Options.WriteTimeout) or the client went away. Such a request is
// logged and counted as 499, not as the 200 whose writing failed nor as
// an internal error. It returns "" for any other error.
func clientFault(err error, c echo.Context) string {
	if !c.Response().Committed {
		return ""
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return "client timeout: the client did not read the response within the write timeout"
	}
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrHandlerTimeout) {
		return "client closed the connection before the response was written"
	}
	return ""
}

// maxLogged is how much of a client's input (a path, a message quoting
// it) the server logs or answers: a megabyte-long id is never echoed
// whole.
const maxLogged = 512

// shorten cuts s to maxLogged bytes on a rune boundary, saying how long
// it was.
func shorten(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	cut := maxLogged
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}
