package server

import (
	"net/http"
	"strconv"
)

// StatusOf returns the HTTP status and the message the server answers err
// with, so that handlers mounted beside a Server answer the library's
// errors as it does: 404 for soundalike.ErrNotFound; 503 for ErrNoModel,
// ErrNoIndex, ErrNoDatabase ("run `soundalike import` first"),
// ErrNoLayout and an *IndexDamagedError, the message naming the command
// to run; 503 for ErrClosed, "the engine is closed: the server is
// shutting down"; 503 for an ErrStarting (a Searcher still loading;
// WriteError adds Retry-After), with its message; 503 for
// ErrLocked (another process writes the database; WriteError adds
// Retry-After), the message naming neither file nor process; 503 for
// ErrIndexUnavailable (a vector source that did not answer; WriteError
// adds Retry-After), with its message; 400 for
// ErrDimension and ErrInvalidQuery; 503 for context.DeadlineExceeded; 499
// for context.Canceled (the client went away); and 500 "internal server
// error" for anything else, the message hiding the details. err may be
// wrapped. errors.go holds the whole mapping. A nil err is 200 with no
// message.
func StatusOf(err error) (status int, msg string) {
	if err == nil {
		return http.StatusOK, ""
	}
	status, msg, _ = statusOf(err)
	return status, msg
}

// WriteError answers err as the server does: StatusOf's status, a
// Retry-After where the server sends one, and the JSON body
// {"error":"…"} (no body for the 499 of a client that went away). It
// does not log; a 500 is the caller's to log.
func WriteError(w http.ResponseWriter, err error) {
	status, msg := StatusOf(err)
	if status == statusClientClosed {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if s := retryAfterOf(err); s > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	w.WriteHeader(status)
	w.Write(appendErrorJSON(make([]byte, 0, 32+len(msg)), msg)) // a failed write means the client went away
}
