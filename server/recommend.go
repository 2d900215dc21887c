package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/audotics/soundalike"
)

// Limits of GET /users/{id}/history: limit is how many interactions,
// newest first, after the offset newest ones (any offset ≥ 0: one past
// the history's end reads none).
const (
	DefaultHistoryLimit = 50
	MaxHistoryLimit     = 1000
)

// RecommendResponse is the body of POST /recommend and GET
// /users/{id}/recommend, and what `soundalike recommend --json` prints: the
// /similar response plus the strategy that answered.
type RecommendResponse struct {
	SimilarResponse
	Strategy string `json:"strategy"`
}

// AppendJSON appends r's JSON encoding to b, exactly as encoding/json
// would: the /similar response's fields, then "strategy".
func (r *RecommendResponse) AppendJSON(b []byte) []byte {
	b = r.SimilarResponse.AppendJSON(b)
	b = b[:len(b)-1] // the closing brace
	b = append(b, `,"strategy":`...)
	b = appendString(b, r.Strategy)
	return append(b, '}')
}

// Recommend answers a RecommendQuery with the response POST /recommend
// gives. It does not apply the API's request limits (MaxSeeds,
// MaxExclude, MaxFilterIDs): a caller that takes queries from outside checks them, or
// mounts the Server.
func Recommend(ctx context.Context, s Searcher, q soundalike.RecommendQuery) (*RecommendResponse, error) {
	return recommend(ctx, s, q, 0)
}

// recommend is Recommend with the fields each result carries beside id,
// name, artists and score.
func recommend(ctx context.Context, s Searcher, q soundalike.RecommendQuery, fields fieldSet) (*RecommendResponse, error) {
	start := time.Now()
	res, err := s.Recommend(ctx, q)
	if err != nil {
		return nil, err
	}
	return &RecommendResponse{SimilarResponse: *respond(start, res, fields), Strategy: string(res.Strategy)}, nil
}

// HistoryResponse is the body of GET /users/{id}/history: a page of the
// user's interactions, newest first, and how many there are to page
// through.
type HistoryResponse struct {
	User string `json:"user"`
	// Total is how many interactions the user has in the served
	// snapshot: all of them, not only the newest
	// soundalike.UserHistoryCap that GET /users/{id}/recommend reads. An
	// interaction (track, action and time) that a source listed twice is
	// one, as the pages list it (soundalike.UserHistory).
	Total        int               `json:"total"`
	Interactions []InteractionJSON `json:"interactions"`
}

// InteractionJSON is one interaction of a user. TrackID names its track,
// and Track describes it; Track is nil (absent from the JSON) for a track
// deleted from the catalogue since. Time is RFC 3339, and "" (absent
// from the JSON, as the OpenAPI document has it: an optional date-time)
// when the interaction's time is unknown.
type InteractionJSON struct {
	TrackID string     `json:"track_id"`
	Track   *TrackJSON `json:"track,omitempty"`
	Action  string     `json:"action"`
	Time    string     `json:"time,omitempty"`
}

// UserHistory answers GET /users/{id}/history: limit interactions of
// user, with their tracks, after the offset newest (none when offset is
// past the end), and the user's total. A user with no interaction is an
// error wrapping soundalike.ErrNotFound.
func UserHistory(ctx context.Context, s Searcher, user string, offset, limit int) (*HistoryResponse, error) {
	hist, err := s.UserHistory(ctx, user)
	if err != nil {
		return nil, err
	}
	total := len(hist)
	hist = hist[min(max(offset, 0), total):]
	hist = hist[:min(len(hist), max(limit, 0))]
	resp := &HistoryResponse{User: user, Total: total, Interactions: make([]InteractionJSON, len(hist))}
	for i, in := range hist {
		ij := InteractionJSON{TrackID: string(in.Track), Action: in.Action}
		t, err := s.Track(ctx, in.Track)
		switch {
		case err == nil:
			ij.Track = NewTrackJSON(t)
		case !errors.Is(err, soundalike.ErrNotFound): // not deleted since
			return nil, err
		}
		if !in.Time.IsZero() {
			ij.Time = in.Time.UTC().Format(time.RFC3339Nano)
		}
		resp.Interactions[i] = ij
	}
	return resp, nil
}

// recommendRequest is the body of POST /recommend: Qdrant's recommend
// body, with the search options of POST /similar.
type recommendRequest struct {
	Positive []json.RawMessage `json:"positive" accepts:"an array of examples: track references or example objects"`
	Negative []json.RawMessage `json:"negative" accepts:"an array of examples: track references or example objects"`
	Strategy string            `json:"strategy"`
	K        *int              `json:"k"`
	searchBody
}

// exampleRequest is an example given as an object: exactly one of track,
// vector or features, optionally with a weight.
type exampleRequest struct {
	Track    *string          `json:"track"`
	Vector   []float64        `json:"vector"`
	Features *featuresRequest `json:"features"`
	Weight   *float64         `json:"weight"`
}

const exampleForms = `a track id (or spotify:track: URI or open.spotify.com link), {"track": ID}, {"vector": [...]} or {"features": {...}}, each object optionally with "weight"`

// decodeRecommendRequest reads and checks a POST /recommend body of at
// most limit bytes.
func decodeRecommendRequest(w http.ResponseWriter, r *http.Request, limit int64, dim modelDim) (soundalike.RecommendQuery, fieldSet, error) {
	var (
		q   soundalike.RecommendQuery
		req recommendRequest
	)
	if err := decodeBody(w, r, limit, &req); err != nil {
		return q, 0, err
	}
	q, err := req.query(dim)
	if err != nil {
		return q, 0, err
	}
	opts, fields, err := req.searchBody.options()
	if err != nil {
		return q, 0, err
	}
	if err := checkSearch(q.K, opts, asFields, ""); err != nil {
		return q, 0, err
	}
	q.Options = *opts
	return q, fields, nil
}

// query checks req's examples and strategy, and takes its k, which
// decodeRecommendRequest checks with the options (checkSearch).
func (req *recommendRequest) query(dim modelDim) (soundalike.RecommendQuery, error) {
	var q soundalike.RecommendQuery
	q.K = DefaultK
	if req.K != nil {
		q.K = *req.K
	}
	var err error
	if q.Strategy, err = parseStrategy(req.Strategy); err != nil {
		return q, err
	}
	if len(req.Positive) == 0 {
		return q, badRequest("positive: give at least one positive example: %s", exampleForms)
	}
	if n := len(req.Positive) + len(req.Negative); n > MaxSeeds {
		return q, badRequest("positive, negative: %d examples: at most %d in one query", n, MaxSeeds)
	}
	if q.Positive, err = parseExamples("positive", req.Positive, dim); err != nil {
		return q, err
	}
	q.Negative, err = parseExamples("negative", req.Negative, dim)
	return q, err
}

// parseStrategy reads the strategy parameter or field with
// soundalike.ParseStrategy, the one check of a strategy; its refusal
// names the parameter, as every other refusal begins ("strategy: …"),
// and the library's list of strategies (soundalike.StrategyList).
func parseStrategy(name string) (soundalike.Strategy, error) {
	st, err := soundalike.ParseStrategy(name)
	if err != nil {
		return "", badRequest("strategy: %s is not a strategy: want %s", quoteShort(name), soundalike.StrategyList())
	}
	return st, nil
}

// parseExamples parses the examples of one side, each named in errors at
// its place in the body ("positive[2]: …", "positive[2].weight: …"); dim
// tells the model's dimension (vector32).
func parseExamples(side string, raws []json.RawMessage, dim modelDim) ([]soundalike.Example, error) {
	out := make([]soundalike.Example, len(raws))
	for i, raw := range raws {
		ex, err := parseExample(place(fmt.Sprintf("%s[%d]", side, i)), raw, dim)
		if err != nil {
			return nil, err
		}
		out[i] = ex
	}
	return out, nil
}

// parseExample parses the example at at, a track reference or an object
// giving exactly one of track, vector or features.
func parseExample(at place, raw json.RawMessage, dim modelDim) (soundalike.Example, error) {
	var ex soundalike.Example
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return ex, badRequest("%s: %v", at, err)
		}
		ex.Track = soundalike.TrackID(s)
		return ex, checkExampleTrack(string(at), s)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return ex, badRequest("%s: %s is not an example: give %s", at, clipJSON(raw), exampleForms)
	}
	var er exampleRequest
	if err := decodeValue(raw, &er); err != nil {
		return ex, badRequest("%s: %v", at, err)
	}
	var given []string
	if er.Track != nil {
		given = append(given, "track")
		if err := checkExampleTrack(at.name("track"), *er.Track); err != nil {
			return ex, err
		}
		ex.Track = soundalike.TrackID(*er.Track)
	}
	if er.Vector != nil {
		given = append(given, "vector")
		var err error
		if ex.Vector, err = vector32(at, er.Vector, dim); err != nil {
			return ex, err
		}
	}
	if er.Features != nil {
		given = append(given, "features")
		t, err := er.Features.track()
		if err != nil {
			return ex, at.in(err)
		}
		ex.Features = t
	}
	switch len(given) {
	case 0:
		return ex, badRequest("%s: the example gives none of track, vector or features: give exactly one", at)
	case 1:
	default:
		return ex, badRequest("%s: give exactly one of track, vector or features, not %s", at, strings.Join(given, " and "))
	}
	if er.Weight != nil {
		if w := *er.Weight; w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return ex, badRequest("%s: %v: want a number ≥ 0 (0 or none means 1)", at.name("weight"), w)
		}
		ex.Weight = *er.Weight
	}
	return ex, nil
}

// checkExampleTrack refuses an empty track reference given as param: the
// engine reads an example without a track as one without anything
// (soundalike.Example), so it could not name the reference. Any other
// reference is the engine's to judge (see refError).
func checkExampleTrack(param, s string) error {
	if s == "" {
		return badRequest("%s: empty track reference: give %s", param, soundalike.TrackRefForms)
	}
	return nil
}

// clipJSON shortens a JSON value for an error message.
func clipJSON(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

// POST /recommend
func (srv *Server) postRecommend(c echo.Context) error {
	r := c.Request()
	q, fields, err := decodeRecommendRequest(c.Response(), r, srv.opts.MaxBodyBytes, srv.modelDim(r.Context()))
	if err != nil {
		return err
	}
	release, err := srv.admit(c, searchWork(q.K, len(q.Positive)+len(q.Negative), &q.Options, q.Strategy == soundalike.StrategyBestScore))
	if err != nil {
		return err
	}
	defer release()
	resp, err := recommend(r.Context(), srv.s, q, fields)
	if err != nil {
		return asFields.runError(err, "", "")
	}
	return writeAppended(c, resp.AppendJSON)
}

var userRecommendParams = append([]string{"k", "strategy"}, searchParams...)

// GET /users/{id}/recommend?k=20 and the search parameters of GET /similar
func (srv *Server) getUserRecommend(c echo.Context) error {
	r := c.Request()
	user, err := pathUser(r)
	if err != nil {
		return err
	}
	q, err := queryOf(r)
	if err != nil {
		return err
	}
	if err := checkParams(q, userRecommendParams); err != nil {
		return err
	}
	k, err := takeInt(q, "k", DefaultK, kSpan)
	if err != nil {
		return err
	}
	name, _ := given(q, "strategy")
	strategy, err := parseStrategy(name)
	if err != nil {
		return err
	}
	opts, fields, err := parseSearchParams(q)
	if err != nil {
		return err
	}
	if err := checkSearch(k, opts, asParams, ""); err != nil {
		return err
	}
	// The history's examples are capped (soundalike.UserHistoryCap): the
	// query's weight is known only once it is read, so average counts as
	// plain; best_score searches around several examples, so it is heavy.
	release, err := srv.admit(c, searchWork(k, 0, opts, strategy == soundalike.StrategyBestScore))
	if err != nil {
		return err
	}
	defer release()
	resp, err := recommend(r.Context(), srv.s, soundalike.RecommendQuery{User: user, Strategy: strategy, K: k, Options: *opts}, fields)
	if err != nil {
		return asParams.runError(err, "", "")
	}
	return writeAppended(c, resp.AppendJSON)
}

// GET /users/{id}/history?limit=50&offset=0
func (srv *Server) getUserHistory(c echo.Context) error {
	r := c.Request()
	user, err := pathUser(r)
	if err != nil {
		return err
	}
	q, err := queryOf(r)
	if err != nil {
		return err
	}
	limit, err := takeInt(q, "limit", DefaultHistoryLimit, historyLimitSpan)
	if err != nil {
		return err
	}
	offset, err := takeInt(q, "offset", 0, historyOffsetSpan)
	if err != nil {
		return err
	}
	for name := range q {
		return badRequest("unknown query parameter %q: GET /users/{id}/history takes only limit (%v) and offset (%v)", name, historyLimitSpan, historyOffsetSpan)
	}
	resp, err := UserHistory(r.Context(), srv.s, user, offset, limit)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, resp)
}

// takeInt removes parameter name from q and returns its value in r (def
// when not given, a blank value too: given): a 400 naming it and the
// range otherwise.
func takeInt(q url.Values, name string, def int, r span) (int, error) {
	s, ok, err := takeOnce(q, name)
	if err != nil || !ok {
		return def, err
	}
	return parseWhole(name, s, r)
}

// takeOnce removes the optional parameter name from q and returns its
// value and whether it is given (given); a 400 when it is given more
// than once.
func takeOnce(q url.Values, name string) (string, bool, error) {
	vs := q[name]
	s, ok := given(q, name)
	delete(q, name)
	if len(vs) > 1 {
		return "", false, badRequest("query parameter %s is given %d times: give it once", name, len(vs))
	}
	return s, ok, nil
}

// pathUser unescapes the user id of r's path, /users/{id}/…, once from
// its escaped segment, as pathID does a track's: an id holding "%" arrives
// as "%25", one holding "/" as "%2F". (echo's id parameter is unescaped
// already, except when the path escapes a slash: unescaping it again
// would read "a%2541" as "aA".)
func pathUser(r *http.Request) (string, error) {
	raw, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/users/"), "/")
	if raw == "" {
		return "", badRequest("user id in the path is empty: give /users/{id}/%s with the user's id", rest)
	}
	u, err := url.PathUnescape(raw)
	if err != nil {
		return "", badRequest("user id %s in the path is not a valid escaped path segment (escape %% as %%25 and / as %%2F)", quoteShort(raw))
	}
	if len(u) > soundalike.MaxKeyLen || strings.IndexByte(u, 0) >= 0 {
		return "", badRequest("user id in the path: at most %d bytes and no NUL byte", soundalike.MaxKeyLen)
	}
	return u, nil
}
