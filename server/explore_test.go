package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// The explorer's files are served with their types and a CSP that allows
// no inline script; unknown files are 404.
func TestExplorerFiles(t *testing.T) {
	srv := server.New(newEngine(t, ready), nil)
	for _, c := range []struct{ path, ctype, holds string }{
		{"/", "text/html", `<script src="explorer/explorer.js"`},
		{"/explorer/explorer.js", "text/javascript", "soundalikeExplorer"},
		{"/explorer/explorer.css", "text/css", "#map"},
	} {
		w := do(t, srv, "GET", c.path, "")
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), c.ctype) || !strings.Contains(w.Body.String(), c.holds) {
			t.Errorf("GET %s = %d %q, want 200 %s holding %q", c.path, w.Code, w.Header().Get("Content-Type"), c.ctype, c.holds)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
	}
	if w := do(t, srv, "GET", "/", ""); strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), " style=") {
		t.Error("the page has inline script or style, which its CSP blocks")
	}
	for _, p := range []string{"/explorer/nothing.js", "/explorer/..%2Fexplorer.go", "/explorer/explorer.go"} {
		if w := do(t, srv, "GET", p, ""); w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, w.Code)
		}
	}
}

// Given the server under a prefix a proxy strips, with or without the
// prefix's trailing slash, when the page and the API are asked for,
// expect the page at the prefix with a slash (a request without it
// redirected there, relative to itself) and the API's answers.
func TestExplorerMounted(t *testing.T) {
	srv := server.New(newEngine(t, ready), nil)
	for _, c := range []struct {
		strip, target string
		code          int
		location      string
	}{
		{"/soundalike", "/soundalike", http.StatusMovedPermanently, "./soundalike/"},
		{"/soundalike", "/soundalike?track=a&k=3", http.StatusMovedPermanently, "./soundalike/?track=a&k=3"},
		{"/a/b", "/a/b", http.StatusMovedPermanently, "./b/"},
		{"/soundalike", "/soundalike/?track=a", http.StatusOK, ""},
		{"/soundalike", "/soundalike/similar?track=a&k=3", http.StatusOK, ""},
		{"/soundalike/", "/soundalike/", http.StatusOK, ""},
		{"/soundalike/", "/soundalike/similar?track=a&k=3", http.StatusOK, ""},
		{"/soundalike/", "/soundalike/explorer/explorer.js", http.StatusOK, ""},
		{"", "/?track=a", http.StatusOK, ""},
	} {
		w := do(t, http.StripPrefix(c.strip, srv), "GET", c.target, "")
		if w.Code != c.code || w.Header().Get("Location") != c.location {
			t.Errorf("under %q, GET %s = %d, Location %q; want %d, Location %q", c.strip, c.target, w.Code, w.Header().Get("Location"), c.code, c.location)
		}
	}
}

func TestMap(t *testing.T) {
	eng := newEngine(t, ready)
	srv := server.New(eng, nil)
	get := func(target string) (server.MapJSON, int, string) {
		w := do(t, srv, "GET", target, "")
		var m server.MapJSON
		json.Unmarshal(w.Body.Bytes(), &m)
		return m, w.Code, w.Body.String()
	}
	all, code, body := get("/map")
	if code != http.StatusOK || all.Total != len(catalogue()) || len(all.Points) != all.Total {
		t.Fatalf("GET /map = %d %s; want all %d tracks", code, body, len(catalogue()))
	}
	seen := map[string]bool{}
	for _, p := range all.Points {
		if seen[p.TrackID] || p.X < -1 || p.X > 1 || p.Y < -1 || p.Y > 1 || p.Genre != "pop" {
			t.Errorf("point %+v: a repeat, off the map or not the track's genre", p)
		}
		seen[p.TrackID] = true
	}
	// A sample is a prefix of the whole map; ids add what it lacks.
	some, code, body := get("/map?sample=5&ids=" + all.Points[9].TrackID + "," + all.Points[2].TrackID + ",nope")
	if code != http.StatusOK || len(some.Points) != 6 || some.Total != all.Total {
		t.Fatalf("GET /map?sample=5&ids=… = %d %s", code, body)
	}
	for i := range 5 {
		if some.Points[i] != all.Points[i] {
			t.Errorf("sample point %d is %+v, the whole map's is %+v", i, some.Points[i], all.Points[i])
		}
	}
	if some.Points[5] != all.Points[9] || len(some.Missing) != 1 || some.Missing[0] != "nope" {
		t.Errorf("ids: points %+v, missing %v; want %s, missing [nope]", some.Points[5:], some.Missing, all.Points[9].TrackID)
	}
	if m, code, body := get("/map?sample=0&ids=spotify:track:" + spotifyOfT22); code != http.StatusOK || len(m.Points) != 1 || m.Points[0].TrackID != "t22" {
		t.Errorf("the point of t22's Spotify URI: %d %s", code, body)
	}
	for _, q := range []string{"sample=-1", "sample=x", "sample=200001"} {
		if _, code, body := get("/map?" + q); code != http.StatusBadRequest || !strings.Contains(body, "sample") || !strings.Contains(body, "200000") {
			t.Errorf("GET /map?%s = %d %s, want 400 naming sample and its range", q, code, body)
		}
	}
	if _, code, body := get("/map?sample=1&ids=" + strings.Repeat("a,", 1000) + "a"); code != http.StatusBadRequest || !strings.Contains(body, "at most 1000") {
		t.Errorf("1001 ids: %d %s", code, body)
	}
	noIndex := server.New(newEngine(t, noIndex), nil)
	if w := do(t, noIndex, "GET", "/map", ""); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "reindex") {
		t.Errorf("GET /map without an index = %d %s", w.Code, w.Body.String())
	}
}

// Given a badly escaped, unknown or repeated parameter, when GET /map,
// expect a 400 naming it, as GET /similar answers, not the parameter
// ignored; ids may repeat, their values adding up.
func TestMapQueryStrict(t *testing.T) {
	srv := server.New(newEngine(t, ready), nil)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"sample=%ZZ", []string{`"sample"`, "badly escaped"}},
		{"foo=1", []string{`"foo"`, "sample, ids"}},
		{"sample=1&sample=abc", []string{"sample", "2 times"}},
	} {
		w := do(t, srv, "GET", "/map?"+c.query, "")
		if w.Code != http.StatusBadRequest {
			t.Errorf("GET /map?%s = %d %s, want 400", c.query, w.Code, w.Body)
			continue
		}
		checkError(t, w, c.want...)
	}
	w := do(t, srv, "GET", "/map?sample=0&ids=a&ids=x1", "")
	var m server.MapJSON
	if err := json.Unmarshal(w.Body.Bytes(), &m); w.Code != http.StatusOK || err != nil || len(m.Points) != 2 {
		t.Errorf("GET /map?sample=0&ids=a&ids=x1 = %d %s, want the points of a and x1", w.Code, w.Body)
	}
}

// Given a track id holding a comma, when GET /map names it with ids
// (split at commas) and with id (each value whole), expect ids to look
// for its halves and id to add its point; ids and id together are
// refused.
func TestMapCommaID(t *testing.T) {
	srv := server.New(engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready), nil)
	get := func(target string) (server.MapJSON, int, string) {
		w := do(t, srv, "GET", target, "")
		var m server.MapJSON
		json.Unmarshal(w.Body.Bytes(), &m)
		return m, w.Code, w.Body.String()
	}
	comma := url.QueryEscape("x,y")
	if m, code, body := get("/map?sample=0&ids=" + comma); code != http.StatusOK || len(m.Points) != 0 || !slices.Equal(m.Missing, []string{"x", "y"}) {
		t.Errorf("GET /map?sample=0&ids=x%%2Cy = %d %s, want x and y missing", code, body)
	}
	m, code, body := get("/map?sample=0&id=" + comma + "&id=f1&id=nope")
	var got []string
	for _, p := range m.Points {
		got = append(got, p.TrackID)
	}
	if code != http.StatusOK || !slices.Equal(got, []string{"x,y", "f1"}) || !slices.Equal(m.Missing, []string{"nope"}) {
		t.Errorf("GET /map?sample=0&id=x%%2Cy&id=f1&id=nope = %d %s, want x,y and f1, nope missing", code, body)
	}
	if _, code, body := get("/map?ids=f1&id=f2"); code != http.StatusBadRequest || !strings.Contains(body, "not both") {
		t.Errorf("GET /map?ids=f1&id=f2 = %d %s, want 400 not both", code, body)
	}
}

// Given track references that no stored id could be (a NUL byte, over
// 1024 bytes, empty), or an ids of empty entries, when GET /map names them,
// expect the 400 that GET /tracks answers to the same ids or id, naming
// the reference by its place (ids[1], id[0]), and never the reference
// echoed whole; not a 200 listing it as missing.
func TestMapChecksIDsAsTracksDoes(t *testing.T) {
	srv := server.New(newEngine(t, ready), nil)
	long := strings.Repeat("a", soundalike.MaxKeyLen+76)
	for _, c := range []struct{ ids, want string }{
		{"ids=a,%00", "ids[1]: "},
		{"ids=" + long, "ids[0]: track reference of 1100 bytes"},
		{"ids=,%20,", "ids[0]: empty entry"},
		{"id=", "id[0]: empty track reference"},
		{"id=a&id=b%00", "id[1]: "},
		{"ids=" + strings.Repeat("a,", server.MaxMapIDs) + "a", "ids: 1001 tracks: at most 1000"},
	} {
		m := do(t, srv, "GET", "/map?sample=1&"+c.ids, "")
		if m.Code != http.StatusBadRequest {
			t.Errorf("GET /map?sample=1&%.60s = %d %.200s, want 400", c.ids, m.Code, m.Body)
			continue
		}
		checkError(t, m, c.want)
		if strings.Contains(m.Body.String(), long) {
			t.Errorf("GET /map?ids=<%d bytes> echoes the reference whole: %.100s…", len(long), m.Body)
		}
		if strings.Count(c.ids, "a,") > server.MaxTracksK {
			continue // more than GET /tracks takes
		}
		if tr := do(t, srv, "GET", "/tracks?"+c.ids, ""); tr.Body.String() != m.Body.String() {
			t.Errorf("GET /map?sample=1&%.60s = %s, GET /tracks?%.60s = %s: want one answer", c.ids, m.Body, c.ids, tr.Body)
		}
	}
}

// Given a blank ids (as an HTML form sends a text input left empty), when
// GET /map, expect the map of no ids given: a blank value names none, as
// openapi.json says and as every optional parameter reads it.
func TestMapBlankIDsNamesNone(t *testing.T) {
	srv := server.New(newEngine(t, ready), nil)
	want := do(t, srv, "GET", "/map?sample=2", "")
	for _, ids := range []string{"ids=", "ids=%20", "ids=&ids=%20"} {
		w := do(t, srv, "GET", "/map?sample=2&"+ids, "")
		if w.Code != http.StatusOK || w.Body.String() != want.Body.String() {
			t.Errorf("GET /map?sample=2&%s = %d %s, want %d %s", ids, w.Code, w.Body, want.Code, want.Body)
		}
	}
}

// Given an index with a map and two of its tracks deleted since (no
// reindex: the map still holds their nodes), when GET /map, expect total
// to count the tracks left on the map, as many as its points and as
// /readyz's tracks, not the nodes laid out.
func TestMapTotalLeavesDeletedTracksOut(t *testing.T) {
	eng := newEngine(t, ready)
	gone := []soundalike.TrackID{"a", "t22"}
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for _, id := range gone {
			if _, err := tx.DeleteTrack(id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, server.New(eng, nil), "GET", "/map", "")
	var m server.MapJSON
	json.Unmarshal(w.Body.Bytes(), &m)
	want := len(catalogue()) - len(gone)
	if w.Code != http.StatusOK || len(m.Points) != want || m.Total != want {
		t.Errorf("GET /map after deleting %v = %d, total %d, %d points; want total and points %d", gone, w.Code, m.Total, len(m.Points), want)
	}
}
