package server

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/audotics/soundalike"
	"github.com/labstack/echo/v4"
)

// bufPool recycles response buffers of the /similar hot path.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// writeSimilar encodes resp with its hand-rolled encoder.
func writeSimilar(c echo.Context, resp *SimilarResponse) error {
	bp := bufPool.Get().(*[]byte)
	b := resp.AppendJSON((*bp)[:0])
	b = append(b, '\n')
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

// GET /similar?track=ID&k=20&exclude=ID,ID&exclude_artist=true&dedupe=false
func (srv *Server) getSimilar(c echo.Context) error {
	r := c.Request()
	p, err := parseSimilarQuery(r.URL.Query())
	if err != nil {
		return err
	}
	resp, err := Similar(r.Context(), srv.s, p.track, p.k, &p.opts)
	if err != nil {
		return err
	}
	return writeSimilar(c, resp)
}

// POST /similar {"tracks":[…]} | {"features":{…}} | {"vector":[…]}
func (srv *Server) postSimilar(c echo.Context) error {
	r := c.Request()
	q, k, opts, err := decodeSimilarRequest(c.Response(), r, srv.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	resp, err := SimilarTo(r.Context(), srv.s, q, k, &opts)
	if err != nil {
		return err
	}
	return writeSimilar(c, resp)
}

// GET /tracks/:id
func (srv *Server) getTrack(c echo.Context) error {
	id, err := pathID(c.Param("id"))
	if err != nil {
		return err
	}
	t, err := srv.s.Track(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, append(NewTrackJSON(t).AppendJSON(nil), '\n'))
}

type statusJSON struct {
	Status  string `json:"status"`
	Model   string `json:"model,omitempty"`
	Tracks  int    `json:"tracks"`
	Indexed int    `json:"indexed"`
}

// GET /healthz: the process is up.
func (srv *Server) healthz(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, []byte(`{"status":"ok"}`+"\n"))
}

// GET /readyz: a model and an index are loaded.
func (srv *Server) readyz(c echo.Context) error {
	if err := srv.s.Ready(); err != nil {
		return err
	}
	st := srv.s.Stats()
	return writeJSON(c, http.StatusOK, statusJSON{Status: "ready", Model: st.ModelVersion, Tracks: st.Tracks, Indexed: st.Indexed})
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
	m, err := srv.s.Model(c.Request().Context())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, NewModelJSON(m))
}
