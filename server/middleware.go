package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
)

// observe wraps every handler (routes, not-found and method-not-allowed
// alike): it recovers panics, writes errors as JSON, then records metrics
// and the access log with the final status.
func (srv *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := srv.recovering(next, c); err != nil {
			srv.writeError(err, c)
		}
		d := time.Since(start)

		r := c.Request()
		status := c.Response().Status
		route := c.Path()
		if route == "" || route == "/*" {
			route = "unmatched"
		}
		method := metricMethod(r.Method)
		srv.metrics.observe(route, method, status, d)
		srv.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.String("client_ip", c.RealIP()),
		)
		return nil
	}
}

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
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
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
