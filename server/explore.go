package server

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server/explorer"
	"github.com/labstack/echo/v4"
)

// The explorer (package explorer) is a page at / that calls this API from
// the browser. Its files are embedded in the binary and served with a
// Content-Security-Policy allowing only this origin's scripts, styles,
// images and requests: no inline script, no third party. It also requires
// Trusted Types and allows no policy, so the browser refuses any string
// written as HTML or script (innerHTML, insertAdjacentHTML, a script's
// text): the page writes catalogue data only as text.
const explorerCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// mapper is what GET /map needs besides a Searcher: *soundalike.Engine
// has it. A Searcher without it answers 501, so Searchers that predate
// the map keep working. A reference of q.IDs that no stored id could be
// is a *soundalike.TrackRefError naming MapQuery.IDs, which the server
// answers 400 naming it by the request's parameter (ids[2]), as GET
// /tracks does.
type mapper interface {
	Map(ctx context.Context, q soundalike.MapQuery) (soundalike.MapView, error)
}

// MapJSON is the body of GET /map.
type MapJSON struct {
	Total   int            `json:"total"` // points on the whole map
	Points  []MapPointJSON `json:"points"`
	Missing []string       `json:"missing,omitempty"`
}

// MapPointJSON is one track on the map, X and Y in [-1, 1].
type MapPointJSON struct {
	TrackID string  `json:"track_id"`
	X       float32 `json:"x"`
	Y       float32 `json:"y"`
	Genre   string  `json:"genre"`
}

// Map sample sizes: the default, and the most one request may ask for;
// and the most tracks one request may name besides.
const (
	DefaultMapSample = 25000
	MaxMapSample     = 200000
	MaxMapIDs        = 1000
)

// GET /map?sample=N&ids=ID,ID | GET /map?sample=N&id=ID&id=ID
func (srv *Server) getMap(c echo.Context) error {
	m, ok := srv.s.(mapper)
	if !ok {
		return statusError(http.StatusNotImplemented, "this server's engine draws no map")
	}
	params, err := queryOf(c.Request())
	if err != nil {
		return err
	}
	q, ids, err := parseMapQuery(params)
	if err != nil {
		return err
	}
	v, err := m.Map(c.Request().Context(), q)
	if re, ok := errors.AsType[*soundalike.TrackRefError](err); ok && re.Option == "MapQuery.IDs" {
		return ids.refError(err, re.Index)
	}
	if err != nil {
		return err
	}
	out := MapJSON{Total: v.Total, Points: make([]MapPointJSON, len(v.Points))}
	for i, p := range v.Points {
		out.Points[i] = MapPointJSON{TrackID: string(p.ID), X: round4(p.X), Y: round4(p.Y), Genre: p.Genre}
	}
	for _, id := range v.Missing {
		out.Missing = append(out.Missing, string(id))
	}
	return writeJSON(c, http.StatusOK, out)
}

// round4 rounds a map coordinate to 1e-4, a tenth of a pixel on a
// 2000-pixel map, which shortens the JSON by a third.
func round4(v float32) float32 { return float32(math.Round(float64(v)*1e4) / 1e4) }

var getMapParams = []string{"sample", "ids", "id"}

// parseMapQuery reads sample (0..MaxMapSample, default DefaultMapSample)
// and the tracks to add, named by ids or id as GET /tracks names them
// (parseIDList), at most MaxMapIDs; other parameters and sample given
// twice are refused.
func parseMapQuery(q url.Values) (soundalike.MapQuery, idList, error) {
	mq := soundalike.MapQuery{Sample: DefaultMapSample}
	if err := checkParams(q, getMapParams); err != nil {
		return mq, idList{}, err
	}
	if s, ok := given(q, "sample"); ok {
		n, err := parseWhole("sample", s, span{0, MaxMapSample})
		if err != nil {
			return mq, idList{}, err
		}
		mq.Sample = n
	}
	ids, err := parseIDList(q, MaxMapIDs)
	mq.IDs = ids.refs
	return mq, ids, err
}

// The page's URLs (its files, the API it calls, its own links) are all
// relative to the page, so that it works wherever the server is mounted:
// at / or under a prefix a reverse proxy strips (https://host/soundalike/
// served by this server's /). The page is at / and its files under
// /explorer/, so those URLs resolve right only when the browser's URL of
// the page ends in "/". A proxy that strips "/soundalike" from
// "/soundalike" passes on an empty path: the page answers it with a
// redirect to the same URL with the slash (see pageRedirect).

// rootPath makes a path that does not begin with "/" begin with one,
// before routing (Server.ServeHTTP). A proxy that strips a prefix with its
// trailing slash ("/soundalike/") passes on "" for the page and "similar"
// for /similar; routes are matched on rooted paths. It is not an echo
// Pre middleware, which would cost every request two allocations.
func rootPath(u *url.URL) {
	if strings.HasPrefix(u.Path, "/") || u.Path == "*" {
		return
	}
	u.Path = "/" + u.Path
	if u.RawPath != "" {
		u.RawPath = "/" + u.RawPath
	}
}

// pageRedirect returns where to send a request for the page whose own
// target (the request line's, which http.StripPrefix and rootPath leave
// alone) does not end in "/", or "" when it does. The target's last
// segment with a slash appended names the same prefix from the
// browser's URL: "/soundalike?track=a" goes to "./soundalike/?track=a".
func pageRedirect(r *http.Request) string {
	target, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	p := target.EscapedPath()
	if p == "" || strings.HasSuffix(p, "/") {
		return ""
	}
	loc := "./" + p[strings.LastIndexByte(p, '/')+1:] + "/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	return loc
}

// GET / and GET /explorer/{file}: the explorer's page and its files.
func (srv *Server) explorerFile(c echo.Context) error {
	name := "index.html"
	if c.Path() != "/" {
		name = path.Clean(c.Param("file"))
	} else if loc := pageRedirect(c.Request()); loc != "" {
		return c.Redirect(http.StatusMovedPermanently, loc)
	}
	b, err := fs.ReadFile(explorer.Files, name)
	if err != nil {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", explorerCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, contentType(name), b)
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}
