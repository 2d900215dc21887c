package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/audotics/soundalike"
	"github.com/labstack/echo/v4"
)

// Limits of GET /tracks: k (for q) and the number of ids are both at most
// MaxTracksK, the library's soundalike.MaxSearchK.
const (
	DefaultTracksK = 10
	MaxTracksK     = soundalike.MaxSearchK
)

var getTracksParams = []string{"q", "k", "ids", "id"}

// TracksResponse is the body of GET /tracks and what `soundalike search
// --json` prints: the tracks found, in the form of GET /tracks/{id}.
type TracksResponse struct {
	Results []*TrackJSON `json:"results"`
	// Missing lists the references of GET /tracks?ids=… that name no
	// catalogue track, as given; omitted when every one was found.
	Missing []string `json:"missing,omitempty"`
}

// SearchTracks answers GET /tracks?q=TEXT&k=K: the catalogue tracks whose
// name and artists hold the words of text (see soundalike.Engine.SearchTracks),
// best match first.
func SearchTracks(ctx context.Context, s Searcher, text string, k int) (*TracksResponse, error) {
	ts, err := s.SearchTracks(ctx, text, k)
	if err != nil {
		return nil, err
	}
	resp := &TracksResponse{Results: make([]*TrackJSON, len(ts))}
	for i := range ts {
		resp.Results[i] = NewTrackJSON(&ts[i])
	}
	return resp, nil
}

// LookupTracks answers GET /tracks?ids=… and GET /tracks?id=…: the
// tracks of refs in their order, and the refs that name no catalogue
// track in Missing, whatever their form. A ref that no stored id could be
// (a soundalike.TrackRefError: empty, too long, holding a NUL byte) is a
// 400 naming it ids[i].
func LookupTracks(ctx context.Context, s Searcher, refs []soundalike.TrackID) (*TracksResponse, error) {
	return lookupTracks(ctx, s, refs, "ids")
}

// lookupTracks is LookupTracks with the name of the parameter that gave
// refs, for the 400 of a ref that no stored id could be.
func lookupTracks(ctx context.Context, s Searcher, refs []soundalike.TrackID, param string) (*TracksResponse, error) {
	resp := &TracksResponse{Results: make([]*TrackJSON, 0, len(refs))}
	for i, ref := range refs {
		t, err := s.Track(ctx, ref)
		switch {
		case errors.Is(err, soundalike.ErrNotFound):
			resp.Missing = append(resp.Missing, string(ref))
		case err != nil:
			return nil, refError(err, fmt.Sprintf("%s[%d]", param, i), false)
		default:
			resp.Results = append(resp.Results, NewTrackJSON(t))
		}
	}
	return resp, nil
}

// AppendJSON appends r's JSON encoding to b, exactly as encoding/json
// would.
func (r *TracksResponse) AppendJSON(b []byte) []byte {
	b = append(b, `{"results":`...)
	if r.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, t := range r.Results {
			if i > 0 {
				b = append(b, ',')
			}
			b = t.AppendJSON(b)
		}
		b = append(b, ']')
	}
	if len(r.Missing) > 0 {
		b = append(b, `,"missing":`...)
		b = appendStrings(b, r.Missing)
	}
	return append(b, '}')
}

// tracksQuery is a parsed GET /tracks query: text and k, or ids (from
// the parameter idParam, ids or id).
type tracksQuery struct {
	text    string
	k       int
	ids     []soundalike.TrackID
	idParam string
}

// parseTracksQuery parses and checks GET /tracks's query string.
func parseTracksQuery(q url.Values) (tracksQuery, error) {
	p := tracksQuery{k: DefaultTracksK}
	for name, vs := range q {
		if !containsString(getTracksParams, name) {
			return p, badRequest("unknown query parameter %q: accepted are %s", name, strings.Join(getTracksParams, ", "))
		}
		if len(vs) > 1 && name != "ids" && name != "id" {
			return p, badRequest("query parameter %s is given %d times: give it once", name, len(vs))
		}
	}
	_, hasQ := q["q"]
	_, hasIDs := q["ids"]
	_, hasID := q["id"]
	switch {
	case hasQ && (hasIDs || hasID):
		return p, badRequest("give q (words of a track's name and artists) or ids (track ids), not both")
	case hasIDs && hasID:
		return p, badRequest("give ids (comma-separated track references) or id (one whole reference each, for ids holding a comma), not both")
	case hasIDs || hasID:
		if _, ok := q["k"]; ok {
			return p, badRequest("k: applies to q; ids answers every id given")
		}
		if hasID {
			return p, p.parseIDs("id", q["id"], false)
		}
		return p, p.parseIDs("ids", q["ids"], true)
	case !hasQ:
		return p, badRequest("missing query parameter q or ids: /tracks?q=blinding+lights+weeknd or /tracks?ids=ID,ID (%s)", soundalike.TrackRefForms)
	}
	p.text = q.Get("q")
	if strings.TrimSpace(p.text) == "" {
		return p, badRequest("q: empty: give words of a track's name and artists, e.g. q=blinding+lights+weeknd")
	}
	if s, ok := q["k"]; ok {
		k, err := strconv.Atoi(s[0])
		if err != nil {
			return p, badRequest("k: %q is not a whole number: k ranges over 1..%d", s[0], MaxTracksK)
		}
		if k < 1 || k > MaxTracksK {
			return p, badRequest("k: %d is outside the range 1..%d", k, MaxTracksK)
		}
		p.k = k
	}
	return p, nil
}

// parseIDs reads the track references of parameter name's values vs:
// comma-separated when split (ids), one whole reference each otherwise
// (id, which names ids holding a comma).
func (p *tracksQuery) parseIDs(name string, vs []string, split bool) error {
	p.ids, p.idParam = idParams(vs, split), name
	switch {
	case len(p.ids) == 0:
		return badRequest("ids: empty: give comma-separated track references (%s)", soundalike.TrackRefForms)
	case len(p.ids) > MaxTracksK:
		return badRequest("%s: %d tracks: at most %d in one request", name, len(p.ids), MaxTracksK)
	}
	return nil
}

// idParams reads the track references of a list parameter's values vs.
// When split (ids), each value is a comma-separated list whose items are
// trimmed of spaces and skipped when empty; otherwise (id) each value is
// one whole reference. A track id holding a comma can be named only
// unsplit: no escape of the comma is unambiguous for a catalogue whose
// ids may hold any character, the escape's too.
func idParams(vs []string, split bool) []soundalike.TrackID {
	var refs []soundalike.TrackID
	for _, v := range vs {
		if !split {
			refs = append(refs, soundalike.TrackID(v))
			continue
		}
		for x := range strings.SplitSeq(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				refs = append(refs, soundalike.TrackID(x))
			}
		}
	}
	return refs
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// GET /tracks?q=TEXT&k=10 | GET /tracks?ids=ID,ID | GET /tracks?id=ID&id=ID
func (srv *Server) getTracks(c echo.Context) error {
	r := c.Request()
	q, err := queryOf(r)
	if err != nil {
		return err
	}
	p, err := parseTracksQuery(q)
	if err != nil {
		return err
	}
	release, err := srv.admit(c, work{k: max(p.k, len(p.ids))})
	if err != nil {
		return err
	}
	defer release()
	var resp *TracksResponse
	if p.ids != nil {
		resp, err = lookupTracks(r.Context(), srv.s, p.ids, p.idParam)
	} else {
		resp, err = SearchTracks(r.Context(), srv.s, p.text, p.k)
	}
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, append(resp.AppendJSON(nil), '\n'))
}
