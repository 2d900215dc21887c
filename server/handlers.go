package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/audotics/soundalike"
)

// bufPool recycles the buffers writeAppended encodes answers in.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// writeAppended answers 200 with the JSON that appendJSON appends (a
// hand-rolled encoder's: a /similar, /similar/batch or /recommend answer)
// and a newline, in a pooled buffer.
func writeAppended(c echo.Context, appendJSON func([]byte) []byte) error {
	bp := bufPool.Get().(*[]byte)
	b := appendJSON((*bp)[:0])
	b = append(b, '\n')
	// With its length set, net/http writes the answer whole instead of
	// in chunks (it chunks a body over 2 KiB whose length it was not told).
	c.Response().Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
	err := c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
	if cap(b) <= 1<<20 {
		*bp = b
		bufPool.Put(bp)
	}
	return err
}

func writeJSON(c echo.Context, status int, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(status, echo.MIMEApplicationJSON, b)
}

// GET /similar?track=ID&k=20 plus the search parameters (request.go)
func (srv *Server) getSimilar(c echo.Context) error {
	r := c.Request()
	q, err := queryOf(r)
	if err != nil {
		return err
	}
	p, err := parseSimilarQuery(q)
	if err != nil {
		return err
	}
	release, err := srv.admit(c, searchWork(p.k, 0, p.opts, false))
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	res, err := srv.s.Similar(r.Context(), p.track, p.k, p.opts)
	if err != nil {
		return asParams.runError(err, "", "track")
	}
	a := answerPool.Get().(*similarAnswer)
	defer a.recycle()
	a.resp.fill(start, res, p.fields, &a.track)
	return writeAppended(c, a.resp.AppendJSON)
}

// similarAnswer is the storage of one GET /similar answer, recycled once
// it is written, so that the hot path allocates no response of its own.
type similarAnswer struct {
	resp  SimilarResponse
	track TrackJSON
}

var answerPool = sync.Pool{New: func() any { return new(similarAnswer) }}

// recycle clears a (its strings point into the snapshot, which a pooled
// answer must not keep alive past a reload) and returns it to the pool.
func (a *similarAnswer) recycle() {
	clear(a.resp.Results)
	a.resp = SimilarResponse{Results: a.resp.Results[:0]}
	a.track = TrackJSON{}
	answerPool.Put(a)
}

// POST /similar {"tracks":[…]} | {"features":{…}} | {"vector":[…]}, plus
// k and the search options (searchBody)
func (srv *Server) postSimilar(c echo.Context) error {
	r := c.Request()
	sq, err := decodeSimilarRequest(c.Response(), r, srv.opts.MaxBodyBytes, srv.modelDim(r.Context()))
	if err != nil {
		return err
	}
	release, err := srv.admit(c, sq.work())
	if err != nil {
		return err
	}
	defer release()
	resp, err := srv.similarTo(r.Context(), sq)
	if err != nil {
		return asFields.runError(err, "", "")
	}
	return writeAppended(c, resp.AppendJSON)
}

// similarTo answers one POST /similar query (or a batch's). A seed that
// names no track is a 404 naming it by its index, tracks[1] (the engine
// names it so).
func (srv *Server) similarTo(ctx context.Context, sq similarQuery) (*SimilarResponse, error) {
	start := time.Now()
	res, err := srv.s.SimilarTo(ctx, sq.q, sq.k, sq.opts)
	if err != nil {
		return nil, err
	}
	return respond(start, res, sq.fields), nil
}

// POST /similar/batch {"queries":[a POST /similar body, …]}: up to
// MaxBatch queries, answered in order. Every query is checked before any
// runs, track references included, as far as that needs no catalogue
// (decodeBatchRequest): a malformed one fails the batch with its 400,
// naming its index. A query that fails as it runs for a reason of its own
// (a seed track not found, a filter genre no track has: failedQuery) is
// answered in its slot with the error and status it alone would get, and
// the others are answered as usual, so that one deleted track does not
// lose a recommender the other answers; any other failure (the request
// cancelled or timed out, no model, the server's fault) fails the batch.
func (srv *Server) postSimilarBatch(c echo.Context) error {
	r := c.Request()
	qs, err := decodeBatchRequest(c.Response(), r, srv.opts.MaxBodyBytes, srv.modelDim(r.Context()))
	if err != nil {
		return err
	}
	// The batch takes one slot, as heavy as its queries together.
	var w work
	for _, sq := range qs {
		qw := sq.work()
		w.k += qw.k
		w.seeds, w.exclude, w.filterIDs = max(w.seeds, qw.seeds), max(w.exclude, qw.exclude), max(w.filterIDs, qw.filterIDs)
	}
	release, err := srv.admit(c, w)
	if err != nil {
		return err
	}
	defer release()
	answers := make([]batchAnswer, len(qs))
	failed := 0
	for i, sq := range qs {
		a := &answers[i]
		if a.resp, err = srv.similarTo(r.Context(), sq); err != nil {
			var own bool
			if a.failed, own = failedQuery(err, queryPlace(i)); !own {
				return asFields.runError(err, queryPlace(i), "")
			}
			failed++
		}
	}
	if failed > 0 {
		c.Set(failedQueriesKey, failed) // for the access log (observe)
	}
	return writeAppended(c, func(b []byte) []byte {
		b = append(b, `{"results":[`...)
		for i, a := range answers {
			if i > 0 {
				b = append(b, ',')
			}
			if a.resp == nil {
				b = a.failed.appendJSON(b)
			} else {
				b = a.resp.AppendJSON(b)
			}
		}
		return append(b, "]}"...)
	})
}

// batchAnswer is a batch's answer to one query: its response, or, when
// resp is nil, the error it failed with as it ran (failedQuery).
type batchAnswer struct {
	resp   *SimilarResponse
	failed queryError
}

// failedQueriesKey is where postSimilarBatch leaves, in the request's
// echo context, how many of the batch's queries failed in their slots:
// the access log's failed_queries.
const failedQueriesKey = "failed_queries"

// BatchResponse is the body of POST /similar/batch: one result per
// query, in the order of the queries. postSimilarBatch writes it with
// SimilarResponse's encoder; a Go client decodes it.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// BatchResult is one query's answer in a POST /similar/batch: its
// SimilarResponse, or, for a query that failed as it ran for a reason of
// its own (a seed track not found, a filter genre no track has), nil and
// Error and Status: the error body POST /similar gives the query alone,
// its fields named at the query (queries[1].tracks[0]), and that answer's
// status (404, 400). It embeds the SimilarResponse for the JSON's flat
// shape: its methods (AppendJSON) are for a slot that holds an answer.
type BatchResult struct {
	*SimilarResponse
	Error  string `json:"error,omitempty"`
	Status int    `json:"status,omitempty"`
}

// GET /tracks/{id}
func (srv *Server) getTrack(c echo.Context) error {
	id, err := pathID(strings.TrimPrefix(c.Request().URL.EscapedPath(), "/tracks/"))
	if err != nil {
		return err
	}
	if err := checkNoParams(c.Request(), "GET /tracks/{id}"); err != nil {
		return err
	}
	t, err := srv.s.Track(c.Request().Context(), id)
	if err != nil {
		return refError(err, "the path's track")
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, append(NewTrackJSON(t).AppendJSON(nil), '\n'))
}

// statusJSON is the body of GET /readyz: status "ready", or "stale" when
// the last reload failed and an older snapshot is serving (still 200: it
// answers queries), with the generation on disk it could not load and why.
type statusJSON struct {
	Status           string `json:"status"`
	Model            string `json:"model,omitempty"`
	Tracks           int    `json:"tracks"`
	Indexed          int    `json:"indexed"`
	Generation       uint64 `json:"generation"`
	GenerationOnDisk uint64 `json:"generation_on_disk,omitempty"`
	ReloadError      string `json:"reload_error,omitempty"`
}

// GET /healthz: the process is up.
func (srv *Server) healthz(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, []byte(`{"status":"ok"}`+"\n"))
}

// GET /readyz: a model and an index are loaded.
func (srv *Server) readyz(c echo.Context) error {
	if err := srv.s.Ready(c.Request().Context()); err != nil {
		return err
	}
	st := srv.s.Stats()
	body := statusJSON{Status: "ready", Model: st.ModelVersion, Tracks: st.Tracks, Indexed: st.Indexed, Generation: st.Generation}
	if st.ReloadError != nil {
		body.Status = "stale"
		body.GenerationOnDisk = st.ReloadGeneration
		body.ReloadError = shorten(st.ReloadError.Error())
	}
	return writeJSON(c, http.StatusOK, body)
}

// ModelJSON is the body of GET /model.
type ModelJSON struct {
	Version string          `json:"version"`
	Created time.Time       `json:"created"`
	Dim     int             `json:"dim"`
	Inputs  []string        `json:"inputs"`
	Config  json.RawMessage `json:"config"`
	Metrics json.RawMessage `json:"metrics"`
	// History is the training run's record: its epochs (loss, val_loss,
	// val_precision_at_k… per epoch) and best epoch; null when none was
	// recorded.
	History   json.RawMessage `json:"history"`
	IndexSize int             `json:"index_size"`
}

// NewModelJSON converts a model description to its API form. Config and
// Metrics that are empty or not valid JSON become null.
func NewModelJSON(m soundalike.ModelInfo) ModelJSON {
	return ModelJSON{
		Version: m.Version, Created: m.Created, Dim: m.Dim, Inputs: nonNil(m.Inputs),
		Config: rawOrNull(m.Config), Metrics: rawOrNull(m.Metrics), History: rawOrNull(m.History), IndexSize: m.IndexSize,
	}
}

func rawOrNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 || !json.Valid(r) {
		return json.RawMessage("null")
	}
	return r
}

// GET /model
func (srv *Server) model(c echo.Context) error {
	if err := checkNoParams(c.Request(), "GET /model"); err != nil {
		return err
	}
	m, err := srv.s.Model(c.Request().Context())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, NewModelJSON(m))
}
