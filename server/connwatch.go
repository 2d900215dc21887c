package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// connWatch tells the requests net/http ends before any handler sees
// them: a malformed request (answered 400), header fields over
// http.DefaultMaxHeaderBytes (431), an Expect header it cannot meet (417),
// headers not complete within the read-header timeout (a slowloris), or a
// client that closed its connection mid-request. net/http answers or drops those itself and logs
// nothing, so without this they would leave no trace in the log or
// /metrics.
//
// net/http marks a connection active (http.StateActive) once it has read
// a request, or failed to after reading some of it, and idle once it has
// answered; the handler chain (observe), or the Handler WatchConns
// wraps, marks a request seen, for the answer after which the connection
// closes. A connection that closes while active and unseen ended such a
// request: net/http closes the connection after each of them.
type connWatch struct {
	conns sync.Map // net.Conn → *connState
	ended func(peer string, waited time.Duration)
}

// WatchConns makes hs log and count
// (soundalike_http_requests_unhandled_total) the requests net/http ends
// on its connections before any handler sees them, as the http.Server of
// HTTPServer, Serve and ListenAndServe does (which needs no call): for a
// program that serves srv, alone or among handlers of its own, from an
// http.Server it builds. It sets hs.ConnContext and hs.ConnState,
// keeping those hs had (its ConnContext's context is the one watched, its
// ConnState is told after the watch), and wraps hs.Handler (nil:
// http.DefaultServeMux) so that a request any of its handlers saw is not
// counted; call it once for each Server hs serves, after setting
// hs.Handler and before hs serves.
//
// An "OPTIONS *" request that net/http answers itself (unless
// hs.DisableGeneralOptionsHandler) on a connection it then closes
// (Connection: close) is counted too: no handler sees it.
func (srv *Server) WatchConns(hs *http.Server) {
	h := hs.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	hs.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen(r)
		h.ServeHTTP(w, r)
	})
	srv.watchConns(hs)
}

// watchConns sets hs's connection hooks to those of a new connWatch,
// chained with any hs had.
func (srv *Server) watchConns(hs *http.Server) {
	w := &connWatch{ended: srv.requestEnded}
	prevContext, prevState := hs.ConnContext, hs.ConnState
	hs.ConnContext, hs.ConnState = w.connContext, w.connStateChanged
	if prevContext != nil {
		hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			return w.connContext(prevContext(ctx, c), c)
		}
	}
	if prevState != nil {
		hs.ConnState = func(c net.Conn, st http.ConnState) {
			w.connStateChanged(c, st)
			prevState(c, st)
		}
	}
}

// connState is what connWatch knows of one connection.
type connState struct {
	peer string // peerOf
	// waiting is when the connection began to wait for its next
	// request (UnixNano): opened, or idle after an answer.
	waiting atomic.Int64
	unseen  atomic.Bool // a request was read (or failed) and no handler saw it
}

type connStateKey struct{}

// connContext gives a new connection's requests its state (http.Server's
// ConnContext). A connection another watch of the same http.Server has
// given a state (two Servers, each wired by WatchConns) keeps it: seen
// marks one state, which every watch of the connection reads.
func (w *connWatch) connContext(ctx context.Context, c net.Conn) context.Context {
	if !hashable(c) {
		return ctx // a caller's listener of such conns is served unwatched
	}
	cs, ok := ctx.Value(connStateKey{}).(*connState)
	if !ok {
		cs = &connState{peer: peerOf(c)}
		cs.waiting.Store(time.Now().UnixNano())
		ctx = context.WithValue(ctx, connStateKey{}, cs)
	}
	w.conns.Store(c, cs)
	return ctx
}

// hashable reports whether c can key a map: Serve takes any listener,
// and one whose conns are values holding a slice would panic the
// accept loop in the map's hash.
func hashable(c net.Conn) (ok bool) {
	if reflect.TypeOf(c).Kind() == reflect.Pointer {
		return true // every conn of net's listeners, at no cost a request
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_ = map[net.Conn]struct{}{c: {}}
	return true
}

// peerOf names c's peer for the log: host:port, or "unix" for a Unix
// socket's, which has no address.
func peerOf(c net.Conn) string {
	a := c.RemoteAddr()
	if a == nil || a.Network() == "unix" {
		return "unix"
	}
	return a.String()
}

// connStateChanged follows a connection's states (http.Server's ConnState).
func (w *connWatch) connStateChanged(c net.Conn, st http.ConnState) {
	if !hashable(c) {
		return
	}
	v, ok := w.conns.Load(c)
	if !ok {
		return // a connection ConnContext never saw
	}
	cs := v.(*connState)
	switch st {
	case http.StateActive:
		cs.unseen.Store(true)
	case http.StateIdle:
		// Answered, by a handler or by net/http itself ("OPTIONS *"):
		// net/http closes the connection after a request it ends.
		cs.unseen.Store(false)
		cs.waiting.Store(time.Now().UnixNano())
	case http.StateClosed, http.StateHijacked:
		w.conns.Delete(c)
		if st == http.StateClosed && cs.unseen.Load() {
			w.ended(cs.peer, time.Since(time.Unix(0, cs.waiting.Load())))
		}
	}
}

// seen marks the request of r's connection as one a handler saw. A
// request served without a connection (ServeHTTP called directly) has
// no state.
func seen(r *http.Request) {
	if cs, ok := r.Context().Value(connStateKey{}).(*connState); ok {
		cs.unseen.Store(false)
	}
}

// requestEnded counts and logs a request net/http ended before a handler
// saw it, waited for that long since the connection opened or last went
// idle. Which of the reasons it was, net/http does not say; a wait of
// the read-header timeout is a slowloris. peer is the connection's
// address (a proxy's, behind one), not the client IP of the access log.
func (srv *Server) requestEnded(peer string, waited time.Duration) {
	srv.metrics.unhandled.Inc()
	srv.log.LogAttrs(context.Background(), slog.LevelInfo, "request ended before a handler",
		slog.String("reason", "malformed (400), header fields over 1 MiB (431), an Expect header net/http cannot meet (417), headers not complete within the read-header timeout, or the client closed the connection mid-request"),
		slog.Duration("read_header_timeout", srv.opts.ReadHeaderTimeout),
		slog.Duration("waited", waited.Round(time.Millisecond)), slog.String("peer", peer))
}
