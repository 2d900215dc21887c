package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// post sends body to POST /similar with the given Content-Type ("" for
// none).
func post(t *testing.T, h http.Handler, contentType string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), "POST", "/similar", body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestPostStrictJSON(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	cases := []struct {
		name, contentType, body string
		status                  int
		errs                    []string
		not                     []string // words the message must not hold
	}{
		{name: "given application/json, when POST, expect 200", contentType: "application/json", body: `{"tracks":["a"]}`, status: 200},
		{name: "given application/json; charset=utf-8, when POST, expect 200", contentType: "application/json; charset=utf-8", body: `{"tracks":["a"]}`, status: 200},
		{name: "given APPLICATION/JSON;charset=UTF-8, when POST, expect 200", contentType: "APPLICATION/JSON;charset=UTF-8", body: `{"tracks":["a"]}`, status: 200},
		{name: "given no Content-Type, when POST, expect 415", body: `{"tracks":["a"]}`, status: 415, errs: []string{"application/json"}},
		{name: "given text/plain, when POST, expect 415 naming it", contentType: "text/plain", body: `{"tracks":["a"]}`, status: 415, errs: []string{`"text/plain"`, "application/json"}},
		{name: "given a form, when POST, expect 415", contentType: "application/x-www-form-urlencoded", body: `tracks=a`, status: 415, errs: []string{"application/json"}},
		{name: "given charset latin1, when POST, expect 415", contentType: "application/json; charset=iso-8859-1", body: `{"tracks":["a"]}`, status: 415, errs: []string{"UTF-8"}},
		{name: "given a key twice, when POST, expect 400 naming it", contentType: "application/json", body: `{"tracks":["a"],"k":3,"k":4}`, status: 400, errs: []string{"duplicate key", `"k"`}},
		{name: "given a nested key twice, when POST, expect 400 naming its path", contentType: "application/json", body: `{"features":{"tempo":1,"tempo":2}}`, status: 400, errs: []string{"duplicate key", `"features.tempo"`}},
		{name: "given a key in the wrong case, when POST, expect 400 naming the right one", contentType: "application/json", body: `{"Tracks":["a"]}`, status: 400, errs: []string{`"Tracks"`, "case-sensitive", `"tracks"`}},
		{name: "given a nested key in the wrong case, when POST, expect 400", contentType: "application/json", body: `{"features":{"Tempo":120}}`, status: 400, errs: []string{"features.Tempo", "case-sensitive", "features.tempo"}},
		{name: "given an unknown key, when POST, expect 400 listing the accepted ones", contentType: "application/json", body: `{"tracks":["a"],"limit":5}`, status: 400, errs: []string{`"limit"`, "exclude_artist, features, fields, filter, k, max_per_artist"}},
		{name: "given a syntax error without NaN, when POST, expect no NaN hint", contentType: "application/json", body: `{"tracks":["a"]]`, status: 400, errs: []string{"bad JSON"}, not: []string{"NaN"}},
		{name: "given NaN, when POST, expect the NaN hint", contentType: "application/json", body: `{"vector":[NaN]}`, status: 400, errs: []string{"bad JSON", "NaN and Infinity"}},
		{name: "given -Infinity, when POST, expect the NaN hint", contentType: "application/json", body: `{"vector":[-Infinity]}`, status: 400, errs: []string{"NaN and Infinity"}},
		{name: "given features as a string, when POST, expect 400 without Go types", contentType: "application/json", body: `{"features":"x"}`, status: 400, errs: []string{"features", "an object"}, not: []string{"server.", "featuresRequest", "*"}},
		{name: "given tracks of numbers, when POST, expect 400 without Go types", contentType: "application/json", body: `{"tracks":[1]}`, status: 400, errs: []string{"tracks", "a string"}, not: []string{"[]string", "server."}},
		{name: "given features as an array, when POST, expect 400 with an article that fits", contentType: "application/json", body: `{"features":[1]}`, status: 400, errs: []string{"field features: an array is not an object"}},
		{name: "given an object for a body of one value, when POST, expect 400 with an article that fits", contentType: "application/json", body: `{"tracks":{}}`, status: 400, errs: []string{"an object is not an array"}},
		{name: "given k as a float, when POST, expect 400 saying a whole number", contentType: "application/json", body: `{"tracks":["a"],"k":2.5}`, status: 400, errs: []string{"k", "whole number"}, not: []string{"int"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, h, tc.contentType, strings.NewReader(tc.body))
			if w.Code != tc.status {
				t.Fatalf("POST %s with %q = %d %s, want %d", tc.body, tc.contentType, w.Code, w.Body, tc.status)
			}
			if tc.status == 200 {
				return
			}
			checkError(t, w, tc.errs...)
			for _, s := range tc.not {
				if strings.Contains(w.Body.String(), s) {
					t.Errorf("error = %s, want no %q in it", w.Body, s)
				}
			}
		})
	}
}

// Given a body sent with a Content-Encoding other than identity (gzip),
// when POST to any endpoint that reads one, expect 415 naming the encoding
// and saying bodies are read uncompressed, with Accept-Encoding: identity
// (RFC 7694), not "bad JSON" about its first compressed byte; identity
// is read as no encoding at all.
func TestPostContentEncoding(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	bodies := map[string]string{
		"/similar":       `{"tracks":["a"]}`,
		"/similar/batch": `{"queries":[{"tracks":["a"]}]}`,
		"/recommend":     `{"positive":["a"]}`,
	}
	send := func(target string, body []byte, encodings ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), "POST", target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for _, e := range encodings {
			req.Header.Add("Content-Encoding", e)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for target, body := range bodies {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(body))
		zw.Close()
		for _, enc := range [][]string{{"gzip"}, {"identity, br"}, {"identity", "deflate"}} {
			w := send(target, gz.Bytes(), enc...)
			if w.Code != http.StatusUnsupportedMediaType || w.Header().Get("Accept-Encoding") != "identity" {
				t.Errorf("POST %s with Content-Encoding %q = %d (Accept-Encoding %q) %s, want 415 with Accept-Encoding identity",
					target, enc, w.Code, w.Header().Get("Accept-Encoding"), w.Body)
				continue
			}
			checkError(t, w, "Content-Encoding", "identity (uncompressed) JSON")
			if strings.Contains(w.Body.String(), "bad JSON") {
				t.Errorf("POST %s with Content-Encoding %q = %s, want no bad JSON", target, enc, w.Body)
			}
		}
		checkError(t, send(target, gz.Bytes(), "gzip"), `Content-Encoding "gzip"`)
		if w := send(target, []byte(body), "identity"); w.Code != 200 {
			t.Errorf("POST %s with Content-Encoding identity = %d %s, want 200", target, w.Code, w.Body)
		}
	}
}

// failingReader returns part of a body, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestPostBodyReadErrors(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	cases := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"given a body that times out, when POST, expect 408, not bad JSON", os.ErrDeadlineExceeded, 408, "timed out"},
		{"given a body cut short, when POST, expect 400 saying so, not bad JSON", io.ErrUnexpectedEOF, 400, "Content-Length"},
		{"given a connection reset, when POST, expect 400 saying the body could not be read", errors.New("connection reset by peer"), 400, "reading the request body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, h, "application/json", &failingReader{data: []byte(`{"tracks":["a`), err: tc.err})
			if w.Code != tc.status {
				t.Fatalf("POST = %d %s, want %d", w.Code, w.Body, tc.status)
			}
			checkError(t, w, tc.want)
			if strings.Contains(w.Body.String(), "JSON") {
				t.Errorf("error = %s, want no mention of JSON: the body was never read whole", w.Body)
			}
		})
	}
}

func TestQueryEscapes(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	t.Run("given a bad escape in track, when GET /similar, expect 400 saying it is badly escaped", func(t *testing.T) {
		w := do(t, h, "GET", "/similar?track=100%pure", "")
		if w.Code != 400 {
			t.Fatalf("GET = %d %s, want 400", w.Code, w.Body)
		}
		checkError(t, w, "track", "badly escaped", "%25")
		if strings.Contains(w.Body.String(), "missing") {
			t.Errorf("error = %s, want no claim that track is missing", w.Body)
		}
	})
	t.Run("given a bad escape in q, when GET /tracks, expect 400 saying it is badly escaped", func(t *testing.T) {
		w := do(t, h, "GET", "/tracks?q=%zz", "")
		if w.Code != 400 {
			t.Fatalf("GET = %d %s, want 400", w.Code, w.Body)
		}
		checkError(t, w, "q", "badly escaped")
	})
}

func TestTrackIDDecodedOnce(t *testing.T) {
	eng := newEngine(t, noModel)
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(track("100%pure", "Pure", "P", 0.5, 100))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(eng, nil)
	w := do(t, h, "GET", "/tracks/100%25pure", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"track_id":"100%pure"`) {
		t.Fatalf("GET /tracks/100%%25pure = %d %s, want 200 for 100%%pure", w.Code, w.Body)
	}
	w = do(t, h, "GET", "/tracks/100%2525pure", "")
	if w.Code != 404 || !strings.Contains(w.Body.String(), `100%25pure`) {
		t.Fatalf("GET /tracks/100%%2525pure = %d %s, want 404 for the id 100%%25pure", w.Code, w.Body)
	}
}

func TestLongIDNeverEchoedWhole(t *testing.T) {
	var logs bytes.Buffer
	h := server.New(newEngine(t, ready), &server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	long := strings.Repeat("x", 1_000_000)
	for _, target := range []string{"/tracks/" + long, "/similar?track=" + long, "/similar?track=a&k=" + long, "/similar?" + long + "=1", "/tracks?ids=" + long} {
		logs.Reset()
		w := do(t, h, "GET", target, "")
		if w.Code != 400 && w.Code != 404 {
			t.Errorf("GET %.40s… = %d, want 400 or 404", target, w.Code)
		}
		if w.Body.Len() > 2000 {
			t.Errorf("GET %.40s… answered %d bytes, want the id cut short", target, w.Body.Len())
		}
		if logs.Len() > 2000 {
			t.Errorf("GET %.40s… logged %d bytes, want the path cut short", target, logs.Len())
		}
	}
}

// slowWriter is a ResponseWriter whose client stopped reading: writes
// time out as they do past http.Server's WriteTimeout.
type slowWriter struct {
	*httptest.ResponseRecorder
}

func (w slowWriter) Write([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

func TestSlowClientIsNotA200(t *testing.T) {
	var logs bytes.Buffer
	h := server.New(newEngine(t, ready), &server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	req := httptest.NewRequestWithContext(t.Context(), "GET", "/similar?track=a", nil)
	h.ServeHTTP(slowWriter{httptest.NewRecorder()}, req)

	var rec map[string]any
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: want one access record: %v", logs.String(), err)
	}
	if rec["level"] != "INFO" || rec["msg"] != "request" || rec["status"] != 499.0 || !strings.Contains(rec["client_error"].(string), "client timeout") {
		t.Errorf("log = %v, want one INFO request record, status 499, a client timeout", rec)
	}
	w := do(t, h, "GET", "/metrics", "")
	if !strings.Contains(w.Body.String(), `soundalike_http_requests_total{method="GET",route="/similar",status="499"} 1`) {
		t.Errorf("metrics lack the 499 of the slow client:\n%s", grepLines(w.Body.String(), "requests_total"))
	}
	if strings.Contains(w.Body.String(), `route="/similar",status="200"`) {
		t.Errorf("the slow client was counted as a 200")
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// nested returns a body that opens depth arrays under key, unclosed: the
// nesting is refused before the end of the body matters.
func nested(key string, depth int) string {
	return `{"` + key + `":` + strings.Repeat("[", depth-1)
}

// Given a body nesting deeper than MaxJSONDepth, expect a 400 naming the
// limit, found by the depth check as soon as the walk of the body reaches
// the level past it: however deep the body, its refusal costs what the
// refusal of a body one level too deep does, plus reading it.
func TestPostDeepNesting(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	limit := fmt.Sprint(server.MaxJSONDepth)
	for _, c := range []struct{ target, key string }{
		{"/similar", "tracks"}, {"/similar/batch", "queries"}, {"/recommend", "positive"},
	} {
		t.Run(c.target, func(t *testing.T) {
			for _, depth := range []int{server.MaxJSONDepth + 1, 5000} {
				w := do(t, h, "POST", c.target, nested(c.key, depth))
				if w.Code != 400 {
					t.Fatalf("POST %s nesting %d levels = %d %s, want 400", c.target, depth, w.Code, w.Body)
				}
				checkError(t, w, "nest deeper than "+limit+" levels")
			}
			w := do(t, h, "POST", c.target, nested(c.key, server.MaxJSONDepth)+strings.Repeat("]", server.MaxJSONDepth-1)+"}")
			if w.Code != 400 || strings.Contains(w.Body.String(), "nest") {
				t.Errorf("POST %s nesting %d levels = %d %s, want a 400 for the values, not the nesting", c.target, server.MaxJSONDepth, w.Code, w.Body)
			}
			allocs := func(depth int) float64 {
				body := nested(c.key, depth)
				return testing.AllocsPerRun(5, func() {
					req := httptest.NewRequestWithContext(t.Context(), "POST", c.target, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					h.ServeHTTP(httptest.NewRecorder(), req)
				})
			}
			// Reading 5000 bytes rather than 11 takes a few more buffers;
			// walking the levels took thousands of allocations.
			if shallow, deep := allocs(server.MaxJSONDepth+1), allocs(5000); deep > shallow+20 {
				t.Errorf("refusing %d levels took %.0f allocations, %d levels %.0f: want the walk to stop at the limit", 5000, deep, server.MaxJSONDepth+1, shallow)
			}
		})
	}
}

// The deepest bodies the API takes (a batch query's filter.genres, a
// recommendation example's features.artists) are within MaxJSONDepth.
func TestPostDeepestBodies(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	for _, c := range []struct{ target, body string }{
		{"/similar/batch", `{"queries":[{"tracks":["a"],"filter":{"genres":["pop"]}}]}`},
		{"/recommend", `{"positive":[{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"artists":["Me"]}}]}`},
	} {
		if w := do(t, h, "POST", c.target, c.body); w.Code != 200 {
			t.Errorf("POST %s %s = %d %s, want 200", c.target, c.body, w.Code, w.Body)
		}
	}
}

// Given a value of the wrong type, expect a 400 naming its key as the body
// spells it and what the key accepts, in the API's words, not Go's.
func TestPostTypeErrors(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	goWords := []string{"searchBody", "server.", "RawMessage", "int", "float64", "[]", "numberss"}
	for _, c := range []struct {
		name, target, body string
		want               []string
	}{
		{"given a string offset, when POST /similar, expect the key offset",
			"/similar", `{"tracks":["x"],"offset":"1"}`, []string{"field offset: a string is not a whole number"}},
		{"given a string offset, when POST /recommend, expect the key offset",
			"/recommend", `{"positive":["a"],"offset":"1"}`, []string{"field offset: a string is not a whole number"}},
		{"given a string year in the filter, when POST /recommend, expect its path",
			"/recommend", `{"positive":["a"],"filter":{"year_min":"1999"}}`, []string{"field filter.year_min: a string is not a whole number"}},
		{"given positive as a string, when POST /recommend, expect what positive accepts",
			"/recommend", `{"positive":"T"}`, []string{"field positive: a string is not an array of examples: track references or example objects"}},
		{"given negative as an object, when POST /recommend, expect what negative accepts",
			"/recommend", `{"positive":["a"],"negative":{}}`, []string{"field negative: an object is not an array of examples"}},
		{"given queries as an object, when POST /similar/batch, expect what queries accepts",
			"/similar/batch", `{"queries":{}}`, []string{"field queries: an object is not an array of query objects"}},
		{"given a string list of genres, when POST /similar, expect an array of strings",
			"/similar", `{"tracks":["a"],"filter":{"genres":"pop"}}`, []string{"field filter.genres: a string is not an array of strings"}},
		{"given diversity beyond float64, when POST /similar, expect out of range and the range",
			"/similar", `{"tracks":["a"],"diversity":1e400}`, []string{"field diversity", `"1e400" is out of range for diversity: want 0..1`}},
		{"given k beyond int64, when POST /similar, expect out of range and the range",
			"/similar", `{"tracks":["a"],"k":1e30}`, []string{"field k", `"1e30" is out of range for k: want 1..1000`}},
		{"given k beyond int64, when POST /similar/batch, expect the query and the range",
			"/similar/batch", `{"queries":[{"tracks":["a"],"k":1e20}]}`, []string{"queries[0]", `"1e20" is out of range for k: want 1..1000`}},
		{"given an offset beyond int64, when POST /recommend, expect out of range and the range",
			"/recommend", `{"positive":["a"],"offset":1e400}`, []string{"field offset", "out of range for offset: want 0..999"}},
		{"given a year beyond int64, when POST /similar, expect the filter's range",
			"/similar", `{"tracks":["a"],"filter":{"year_max":-1e19}}`, []string{"field filter.year_max", "out of range for filter.year_max: want 1..9999"}},
		{"given a feature beyond float64, when POST /recommend, expect the feature's range",
			"/recommend", `{"positive":[{"features":{"tempo":1e999}}]}`, []string{"positive[0]", "out of range for features.tempo: want 0..400"}},
		{"given duration_ms beyond int64, when POST /similar, expect the bound a track's duration has",
			"/similar", `{"features":{"duration_ms":1e19}}`, []string{"field features.duration_ms", `"1e19" is out of range for features.duration_ms: want 0..2147483647`}},
		{"given a fractional k, when POST /similar, expect not a whole number",
			"/similar", `{"tracks":["a"],"k":2.5}`, []string{"field k: a number 2.5 is not a whole number"}},
		{"given k a hair above a whole number, when POST /similar, expect not a whole number",
			"/similar", `{"tracks":["a"],"k":1.0000000000000001}`, []string{"field k: a number 1.0000000000000001 is not a whole number"}},
		{"given k as a whole number with an exponent, when POST /similar, expect how to write it",
			"/similar", `{"tracks":["a"],"k":1e2}`, []string{`field k: the number "1e2" is a whole number written with an exponent: write it as 100`}},
		{"given k as a whole number with a fraction, when POST /recommend, expect how to write it",
			"/recommend", `{"positive":["a"],"k":100.0}`, []string{`field k: the number "100.0" is a whole number written with a fraction: write it as 100`}},
		{"given a year with both, when POST /similar, expect how to write it",
			"/similar", `{"tracks":["a"],"filter":{"year_min":2.0100e3}}`, []string{`field filter.year_min: the number "2.0100e3" is a whole number written with a fraction and an exponent: write it as 2010 (filter.year_min takes 1..9999)`}},
		{"given k with an exponent beyond its range, when POST /similar, expect the range beside the digits",
			"/similar", `{"tracks":["a"],"k":1e4}`, []string{`write it as 10000 (k takes 1..1000)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := do(t, h, "POST", c.target, c.body)
			if w.Code != 400 {
				t.Fatalf("POST %s %s = %d %s, want 400", c.target, c.body, w.Code, w.Body)
			}
			checkError(t, w, c.want...)
			var e struct{ Error string }
			json.Unmarshal(w.Body.Bytes(), &e)
			for _, s := range goWords {
				if strings.Contains(e.Error, s) {
					t.Errorf("error = %q, want no %q in it", e.Error, s)
				}
			}
			if strings.Contains(e.Error, "is not a number") {
				t.Errorf("error = %q: a number is a number", e.Error)
			}
		})
	}
}

// Given an element of a list of the wrong kind (an object among track
// references, as POST /recommend's {"track": ID} form, a number among
// genres, null in a vector), expect a 400 naming the element by its index
// as the body spells it and saying what the list takes: encoding/json
// names only the list, and reads null as "" or 0.
func TestPostListElementTypes(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	nullAt1 := `[0.5,null` + strings.Repeat(",0.5", modelDim-2) + `]`
	for _, c := range []struct{ target, body, want string }{
		{"/similar", `{"tracks":[{"track":"a"}]}`, "bad JSON: field tracks[0]: an object is not a string: tracks takes an array of track references (strings)"},
		{"/similar", `{"tracks":["a","x1",["x2"]]}`, "bad JSON: field tracks[2]: an array is not a string: tracks takes"},
		{"/similar", `{"tracks":["a"],"exclude":["x1",5]}`, "bad JSON: field exclude[1]: a number is not a string: exclude takes an array of track references (strings)"},
		{"/similar", `{"tracks":["a"],"filter":{"ids":[true]}}`, "bad JSON: field filter.ids[0]: a bool is not a string: filter.ids takes an array of track references (strings)"},
		{"/similar", `{"tracks":["a"],"filter":{"genres":["pop",{}]}}`, "bad JSON: field filter.genres[1]: an object is not a string: filter.genres takes an array of strings"},
		{"/similar", `{"tracks":["a"],"fields":["metadata",null]}`, "bad JSON: field fields[1]: null is not a string: fields takes an array of strings"},
		{"/similar", `{"vector":` + nullAt1 + `}`, "bad JSON: field vector[1]: null is not a number: vector takes an array of numbers"},
		{"/similar", `{"features":{"artists":["Me",1]}}`, "bad JSON: field features.artists[1]: a number is not a string"},
		{"/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a",{"track":"x1"}]}]}`, "queries[1]: bad JSON: field tracks[1]: an object is not a string"},
		{"/recommend", `{"positive":[{"vector":["0.5"]}]}`, "positive[0]: bad JSON: field vector[0]: a string is not a number"},
	} {
		w := do(t, h, "POST", c.target, c.body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || !strings.HasPrefix(e.Error, c.want) {
			t.Errorf("POST %s %s = %d %s, want 400 beginning %q", c.target, c.body, w.Code, w.Body, c.want)
		}
	}
}

// Given a body that begins with a UTF-8 byte order mark (RFC 8259 lets a
// parser ignore it), when POST to any endpoint that reads one, expect the
// answer of the body without it; a body bad after it is refused at the
// byte the client sent, counted from 1 as every "bad JSON at byte" is,
// the mark's three bytes included.
func TestPostByteOrderMark(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	const bom = "\xef\xbb\xbf"
	for _, c := range []struct{ target, body string }{
		{"/similar", `{"tracks":["a"]}`},
		{"/similar/batch", `{"queries":[{"tracks":["a"]}]}`},
		{"/recommend", `{"positive":["a"]}`},
	} {
		if w := do(t, h, "POST", c.target, bom+c.body); w.Code != 200 {
			t.Errorf("POST %s with a byte order mark = %d %s, want 200", c.target, w.Code, w.Body)
		}
	}
	for _, c := range []struct{ body, want string }{
		{`x`, "bad JSON at byte 1: "},
		{bom + `x`, "bad JSON at byte 4: "},
		{`{"tracks":["a"]]`, "bad JSON at byte 16: "},
		{bom + `{"tracks":["a"]]`, "bad JSON at byte 19: "},
		{bom + nested("tracks", server.MaxJSONDepth+1), "bad JSON at byte 23: arrays and objects nest deeper"},
		{bom, "empty body"},
	} {
		w := do(t, h, "POST", "/similar", c.body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || !strings.HasPrefix(e.Error, c.want) {
			t.Errorf("POST /similar %q = %d %s, want 400 beginning %q", c.body, w.Code, w.Body, c.want)
		}
	}
}
