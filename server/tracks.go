package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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
	return lookupTracks(ctx, s, idList{refs, "ids"})
}

// lookupTracks is LookupTracks of the references l holds, naming a ref
// that no stored id could be by l's parameter. A ctx done before a lookup
// ends them with its error (a request past its deadline).
func lookupTracks(ctx context.Context, s Searcher, l idList) (*TracksResponse, error) {
	resp := &TracksResponse{Results: make([]*TrackJSON, 0, len(l.refs))}
	for i, ref := range l.refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := s.Track(ctx, ref)
		switch {
		case errors.Is(err, soundalike.ErrNotFound):
			resp.Missing = append(resp.Missing, string(ref))
		case err != nil:
			return nil, l.refError(err, i)
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

// tracksQuery is a parsed GET /tracks query: text and k, or ids.
type tracksQuery struct {
	text string
	k    int
	ids  idList
}

// parseTracksQuery parses and checks GET /tracks's query string.
func parseTracksQuery(q url.Values) (tracksQuery, error) {
	p := tracksQuery{k: DefaultTracksK}
	if err := checkParams(q, getTracksParams); err != nil {
		return p, err
	}
	_, hasQ := given(q, "q") // blank, as a form sends it: not given
	hasIDs := listGiven(q, "ids")
	_, hasID := q["id"]
	switch {
	case hasQ && (hasIDs || hasID):
		return p, badRequest("give q (words of a track's name and artists) or ids (track ids), not both")
	case hasIDs || hasID:
		if _, ok := given(q, "k"); ok {
			return p, badRequest("k: applies to q; ids answers every id given")
		}
		var err error
		p.ids, err = parseIDList(q, MaxTracksK)
		return p, err
	case !hasQ:
		return p, badRequest("missing query parameter q or ids: /tracks?q=blinding+lights+weeknd or /tracks?ids=ID,ID (%s)", soundalike.TrackRefForms)
	}
	p.text = q.Get("q")
	if s, ok := given(q, "k"); ok {
		k, err := parseWhole("k", s, span{1, MaxTracksK})
		if err != nil {
			return p, err
		}
		p.k = k
	}
	return p, nil
}

// idList is the track references a GET query names (GET /tracks and GET
// /map read them alike, with parseIDList), and the parameter that named
// them: ids or id, which a refusal of the i-th names as ids[i] or id[i]
// (refError).
type idList struct {
	refs  []soundalike.TrackID
	param string // "" when the query names none
}

// parseIDList reads the track references of q's ids parameter
// (comma-separated, repeatable: listParam) or id parameter (one whole
// reference each, repeated), at most max of them. A track id holding a
// comma can be named only by id: no escape of the comma is unambiguous
// for a catalogue whose ids may hold any character, the escape's too.
// Neither given is an empty list, ids given only blank being none
// (listGiven); both, an empty entry of ids, or more than max references
// are a 400 naming the parameter. The references themselves are the
// engine's to judge: one that no stored id could be is a
// *soundalike.TrackRefError, which refError names by its place in the
// list.
func parseIDList(q url.Values, max int) (idList, error) {
	hasIDs := listGiven(q, "ids")
	_, hasID := q["id"]
	var (
		l    idList
		refs []string
	)
	switch {
	case hasIDs && hasID:
		return l, badRequest("give ids (comma-separated track references) or id (one whole reference each, for ids holding a comma), not both")
	case hasID:
		l.param, refs = "id", q["id"]
	case hasIDs:
		var err error
		if refs, err = listParam(q, "ids", trackRefs); err != nil {
			return l, err
		}
		l.param = "ids"
	}
	if len(refs) > max {
		return l, badRequest("%s: %d tracks: at most %d in one request", l.param, len(refs), max)
	}
	l.refs = trackIDs(refs)
	return l, nil
}

// listGiven reports whether the list parameter name is given: a value of
// it is not blank. A blank value gives no entry (listParam), so a list
// given only blank ("ids=", as an HTML form sends a text input left
// empty) is none given, as a blank optional parameter is (given).
func listGiven(q url.Values, name string) bool {
	for _, v := range q[name] {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// refError names the engine's refusal of the reference at index i of l
// (a soundalike.TrackRefError: Option names where the engine was given
// it, which is l's list) as l's parameter gave it: ids[2]. Other errors
// pass unchanged.
func (l idList) refError(err error, i int) error {
	re, ok := errors.AsType[*soundalike.TrackRefError](err)
	if !ok {
		return err
	}
	return badRequest("%s[%d]: %s", l.param, i, re.Reason)
}

// textError names the engine's refusal of GET /tracks's text by its
// parameter, as every refusal of a parameter begins: "q: "!!" holds no
// word to search for (letters or digits)". parseTracksQuery checked k
// within the engine's bounds (MaxTracksK is soundalike.MaxSearchK), so a
// soundalike.ErrInvalidQuery is the text's. Other errors pass unchanged.
func textError(err error) error {
	if !errors.Is(err, soundalike.ErrInvalidQuery) {
		return err
	}
	return badRequest("q: %s", strings.TrimPrefix(err.Error(), soundalike.ErrInvalidQuery.Error()+": "))
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
	release, err := srv.admit(c, work{k: max(p.k, len(p.ids.refs))})
	if err != nil {
		return err
	}
	defer release()
	var resp *TracksResponse
	if p.ids.param != "" {
		resp, err = lookupTracks(r.Context(), srv.s, p.ids)
	} else {
		resp, err = SearchTracks(r.Context(), srv.s, p.text, p.k)
		err = textError(err)
	}
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, append(resp.AppendJSON(nil), '\n'))
}
