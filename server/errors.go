package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/audotics/soundalike"
)

// This file is the one place where errors become HTTP statuses, the first
// row an error matches deciding:
//
//	*httpError (found by the server)             its own status: 400, 408, 415, 501, 503
//	*http.MaxBytesError (body over MaxBodyBytes) 413
//	*echo.HTTPError (echo's own, e.g. 405)       its status
//	soundalike.ErrNoModel                        503 "… run `soundalike train` first"
//	soundalike.ErrNoIndex                        503 "… run `soundalike reindex` first"
//	soundalike.ErrNoDatabase                     503 "… run `soundalike import` first"
//	*soundalike.IndexDamagedError                503 "… run `soundalike reindex --full`" (the
//	                                             engine logs what was damaged, and where)
//	soundalike.ErrClosed                         503 "the engine is closed: the server is shutting
//	                                             down" (the program closed the engine)
//	ErrStarting                                  503 with Retry-After, saying what it waits for
//	soundalike.ErrLocked                         503 with Retry-After: another process writes the
//	                                             database the engine has not loaded yet
//	soundalike.ErrIndexUnavailable               503 with Retry-After, its message: the vector
//	                                             source (serve --weaviate) did not answer, or
//	                                             not in time (the error then also wraps
//	                                             context.DeadlineExceeded: this row wins)
//	context.Canceled (the client went away)      499, not logged as an error
//	context.DeadlineExceeded                     503
//	soundalike.ErrNotFound                       404
//	soundalike.ErrDimension, ErrInvalidQuery     400
//	anything else                                500 "internal server error", logged
//
// The body is always {"error":"…"}. Errors are matched with errors.Is and
// errors.As, so handlers and the Searcher may wrap them freely. A query of
// a POST /similar/batch that fails as it runs for a reason of its own (a
// 404 or 400 only the snapshot could tell: failedQuery) is answered
// in its slot of the batch's 200 instead, as {"error":"…","status":N}.

// httpError is an answer the server decides itself: bad input, mostly.
// Its message is kept as one part for each field at fault, joined with
// "; " (most have one), so that a batch can say which query each field is
// of (place.in).
type httpError struct {
	status int
	parts  []string
}

func (e *httpError) Error() string { return strings.Join(e.parts, "; ") }

// statusError returns an answer of status with one message.
func statusError(status int, msg string) error {
	return &httpError{status: status, parts: []string{msg}}
}

// badRequest returns a 400 whose message says what is wrong and what would
// be accepted.
func badRequest(format string, a ...any) error {
	return statusError(http.StatusBadRequest, fmt.Sprintf(format, a...))
}

// badFields returns a 400 of one message for each field at fault.
func badFields(msgs []string) error {
	return &httpError{status: http.StatusBadRequest, parts: msgs}
}

// statusClientClosed is nginx's status for a client that closed the
// connection before the answer; it is only ever logged and counted.
const statusClientClosed = 499

const (
	endpoints      = "the endpoints are GET /similar, POST /similar, POST /similar/batch, POST /recommend, GET /users/{id}/recommend, GET /users/{id}/history, GET /tracks?q=TEXT, GET /tracks?ids=ID,ID, GET /tracks/{id}, GET /map, GET /healthz, GET /readyz, GET /model, GET /metrics, GET /openapi.json, GET / (the explorer)"
	noSuchEndpoint = "no such endpoint: " + endpoints
)

// The 503 answers name the commands an operator runs; the library's
// errors name library calls instead.
const (
	msgNoModel    = "no model: run `soundalike train` first"
	msgNoIndex    = "no index: run `soundalike reindex` first"
	msgNoDatabase = "no database yet: run `soundalike import` first"
	msgDamaged    = "the stored index is damaged: run `soundalike reindex --full` to rebuild it"
	msgNoLayout   = "no map: run `soundalike reindex` to compute it"
)

// ErrStarting is what a Searcher returns while it cannot answer yet
// because it is still loading (its message says what it waits for, e.g.
// the process holding the database): a 503 with that message and
// Retry-After, while /healthz answers 200.
var ErrStarting = errors.New("starting")

// startingRetryAfter is the Retry-After, in seconds, of the 503 of a
// Searcher still starting (ErrStarting): loading a database takes seconds,
// waiting for another process to release it seconds to minutes, and the
// answer tells a client or load balancer to come back rather than give up.
const startingRetryAfter = 5

// lockedRetryAfter is the Retry-After, in seconds, of the 503 for a
// database file another process holds: an import, train or reindex holds
// it for seconds to minutes, and a retry within the engine's lock timeout
// (1s by default) would only wait it out again.
const lockedRetryAfter = 5

// unavailableRetryAfter is the Retry-After, in seconds, of the 503 for a
// vector source that did not answer (soundalike.ErrIndexUnavailable): a
// node restarting or a collection still being published takes seconds
// to minutes, and the request has already tried every node.
const unavailableRetryAfter = 5

// errPanic wraps a recovered panic value.
type errPanic struct{ v any }

func (e errPanic) Error() string { return fmt.Sprintf("panic: %v", e.v) }

// statusOf maps err to a status and the message the client sees. internal
// reports whether the error is the server's fault (logged at error level).
func statusOf(err error) (status int, msg string, internal bool) {
	var he *httpError
	var mbe *http.MaxBytesError
	var ee *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.status, he.Error(), false
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"request body is over the limit of %d bytes (the server's serve --max-body, or Options.MaxBodyBytes where a program mounts it): send a smaller body", mbe.Limit), false
	case errors.As(err, &ee):
		m := http.StatusText(ee.Code)
		if s, ok := ee.Message.(string); ok {
			m = s
		}
		switch ee.Code {
		case http.StatusNotFound:
			m = noSuchEndpoint
		case http.StatusMethodNotAllowed:
			m = "method not allowed: " + endpoints
		}
		return ee.Code, m, ee.Code >= 500
	case errors.Is(err, soundalike.ErrNoModel):
		return http.StatusServiceUnavailable, msgNoModel, false
	case errors.Is(err, soundalike.ErrNoIndex):
		return http.StatusServiceUnavailable, msgNoIndex, false
	case errors.Is(err, soundalike.ErrNoDatabase):
		return http.StatusServiceUnavailable, msgNoDatabase, false
	case isIndexDamaged(err):
		return http.StatusServiceUnavailable, msgDamaged, false
	case errors.Is(err, soundalike.ErrNoLayout):
		return http.StatusServiceUnavailable, msgNoLayout, false
	case errors.Is(err, soundalike.ErrClosed):
		return http.StatusServiceUnavailable, "the engine is closed: the server is shutting down", false
	case errors.Is(err, soundalike.ErrIndexUnavailable):
		return http.StatusServiceUnavailable, err.Error(), false
	case errors.Is(err, ErrStarting):
		return http.StatusServiceUnavailable, err.Error(), false
	case errors.Is(err, soundalike.ErrLocked):
		// The lock's error names the file and the holder's pid: the
		// operator's business, not the client's.
		return http.StatusServiceUnavailable, fmt.Sprintf(
			"the database is being rewritten by another process (soundalike import, train or reindex): retry after %d seconds", lockedRetryAfter), false
	case errors.Is(err, context.Canceled):
		return statusClientClosed, "request canceled", false
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "request timed out", false
	// The client's errors come last: a request that also ran out of time
	// (a Searcher merging its shards' errors) was cut short, whatever else
	// it found.
	case errors.Is(err, soundalike.ErrNotFound):
		return http.StatusNotFound, err.Error(), false
	case errors.Is(err, soundalike.ErrDimension), errors.Is(err, soundalike.ErrInvalidQuery):
		return http.StatusBadRequest, err.Error(), false
	}
	var p errPanic
	if errors.As(err, &p) {
		return http.StatusInternalServerError, "internal server error", false // logged with its stack where recovered
	}
	return http.StatusInternalServerError, "internal server error", true
}

func isIndexDamaged(err error) bool {
	_, ok := errors.AsType[*soundalike.IndexDamagedError](err)
	return ok
}

// retryAfterOf is the Retry-After, in seconds, of the answer to err: 0
// (no header) unless retrying soon can succeed where the request failed.
// The limiter sets its own (busy, timed out) in the limit middleware.
func retryAfterOf(err error) int {
	switch {
	case errors.Is(err, ErrStarting):
		return startingRetryAfter
	case errors.Is(err, soundalike.ErrLocked):
		return lockedRetryAfter
	case errors.Is(err, soundalike.ErrIndexUnavailable):
		return unavailableRetryAfter
	}
	return 0
}

// writeError answers err as JSON. It is also echo's HTTPErrorHandler.
func (srv *Server) writeError(err error, c echo.Context) {
	status, msg, internal := statusOf(err)
	if msg == noSuchEndpoint {
		// Say what was asked for: a client's typo, or a Server mounted
		// under a prefix it was not stripped of (/music/similar).
		r := c.Request()
		msg = "no such endpoint " + r.Method + " " + quoteShort(r.URL.Path) + ": " + endpoints
	}
	if internal {
		r := c.Request()
		srv.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("method", r.Method), slog.String("path", shorten(r.URL.Path)), slog.String("error", shorten(err.Error())))
	}
	if c.Response().Committed {
		return
	}
	if status == statusClientClosed {
		c.Response().WriteHeader(status)
		return
	}
	if s := retryAfterOf(err); s > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(s))
	}
	msg = shorten(msg) // a message quoting a client's input never echoes it whole
	b := appendErrorJSON(make([]byte, 0, 32+len(msg)), msg)
	if err := c.Blob(status, echo.MIMEApplicationJSON, b); err != nil {
		srv.log.LogAttrs(c.Request().Context(), slog.LevelDebug, "write error response", slog.String("error", err.Error()))
	}
}

// failedQuery returns the answer, in its slot of the batch, of the
// batch's query at at that failed with err as it ran, and whether err is
// that query's own: a seed track not found (soundalike.ErrNotFound), a
// value the engine refused once it had the catalogue
// (soundalike.ErrInvalidQuery: a filter genre no track has) or a vector
// not of the served model's dimension (soundalike.ErrDimension). The
// answer is the status and message the query alone would get from POST
// /similar (statusOf), its fields named at at (runError). Any other error
// fails the whole batch, the one place that decides so: a cancellation or
// a deadline (the request's, or a Searcher's own), even where a query's
// own error comes with it, since the query's answer was cut short and
// statusOf answers it as the timeout it is; the engine's state (no model,
// a damaged index); the server's fault.
func failedQuery(err error, at place) (queryError, bool) {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return queryError{}, false
	case errors.Is(err, soundalike.ErrNotFound), errors.Is(err, soundalike.ErrInvalidQuery), errors.Is(err, soundalike.ErrDimension):
		status, msg, _ := statusOf(asFields.runError(err, at, ""))
		return queryError{status: status, msg: shorten(msg)}, true
	}
	return queryError{}, false
}

// queryError is a batch's answer to one query that failed as it ran
// (failedQuery): the body and status the query alone would get.
type queryError struct {
	status int
	msg    string
}

// appendJSON appends e as its slot of the batch's results:
// {"error":"…","status":404}, the error body plus the status.
func (e queryError) appendJSON(b []byte) []byte {
	b = append(b, `{"error":`...)
	b = appendString(b, e.msg)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	return append(b, '}')
}

func appendErrorJSON(b []byte, msg string) []byte {
	b = append(b, `{"error":`...)
	b = appendString(b, msg)
	return append(b, "}\n"...)
}
