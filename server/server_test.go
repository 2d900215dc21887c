package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// do sends one request through ServeHTTP.
func do(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(t.Context(), method, target, r)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// similarBody is SimilarResponse decoded strictly.
func decodeSimilar(t *testing.T, body []byte) server.SimilarResponse {
	t.Helper()
	var r server.SimilarResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return r
}

func ids(r server.SimilarResponse) []string {
	var s []string
	for _, x := range r.Results {
		s = append(s, x.TrackID)
	}
	return s
}

// checkError asserts the body is exactly {"error":"…"} and the message
// contains every want.
func checkError(t *testing.T, w *httptest.ResponseRecorder, want ...string) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e) != 1 || e["error"] == "" {
		t.Fatalf("error body = %s (%v), want {\"error\":\"…\"}", w.Body, err)
	}
	for _, s := range want {
		if !strings.Contains(e["error"], s) {
			t.Errorf("error = %q, want it to mention %q", e["error"], s)
		}
	}
}

// decodeBatch decodes w, a POST /similar/batch answer, strictly,
// failing t unless it is a 200 of n results, each an answer or a failed
// query's slot (Error and Status, nothing else).
func decodeBatch(t *testing.T, w *httptest.ResponseRecorder, n int) []server.BatchResult {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("POST /similar/batch = %d %s, want 200", w.Code, w.Body)
	}
	var got server.BatchResponse
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil || len(got.Results) != n {
		t.Fatalf("POST /similar/batch = %s (%v), want %d results", w.Body, err, n)
	}
	for i, r := range got.Results {
		answer := r.SimilarResponse != nil && r.Error == "" && r.Status == 0
		failed := r.SimilarResponse == nil && r.Error != "" && r.Status != 0
		if !answer && !failed {
			t.Fatalf("POST /similar/batch result %d = %+v in %s, want an answer or {\"error\", \"status\"}", i, r, w.Body)
		}
	}
	return got.Results
}

// failedSlot returns the status and error of the one query of w, a POST
// /similar/batch answer of n results, that failed in its slot, failing t
// unless w is a 200 with exactly one such slot.
func failedSlot(t *testing.T, w *httptest.ResponseRecorder, n int) (status int, msg string) {
	t.Helper()
	failed := 0
	for _, r := range decodeBatch(t, w, n) {
		if r.SimilarResponse == nil {
			failed++
			status, msg = r.Status, r.Error
		}
	}
	if failed != 1 {
		t.Fatalf("POST /similar/batch = %s: %d failed queries, want 1", w.Body, failed)
	}
	return status, msg
}

func fullFeatures(except ...string) string {
	vals := map[string]string{
		"acousticness": "0.1", "danceability": "0.7", "energy": "0.5", "instrumentalness": "0",
		"key": "5", "liveness": "0.1", "loudness": "-6", "mode": "1", "speechiness": "0.05",
		"tempo": "120", "valence": "0.5",
	}
	var parts []string
	for _, n := range soundalike.FeatureNames() {
		if !slices.Contains(except, n) {
			parts = append(parts, fmt.Sprintf("%q:%s", n, vals[n]))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// trackOf returns a catalogue track by id.
func trackOf(t *testing.T, id string) *soundalike.Track {
	t.Helper()
	for _, tr := range catalogue() {
		if string(tr.ID) == id {
			return tr
		}
	}
	t.Fatalf("no track %q in the test catalogue", id)
	return nil
}

// similarCase is one request of TestSimilar and what it must answer.
type similarCase struct {
	name   string
	stage  int                            // how far the engine is built (default ready)
	hook   func(q soundalike.Query) error // runs before each search
	method string
	target string
	body   string
	status int
	errs   []string                                                // for error statuses: words the message must hold
	check  func(t *testing.T, f *hooked, r server.SimilarResponse) // for 200
}

// vector16 is a query vector of the test model's dimension.
const vector16 = "[0.1,0.7,0.5,0,0.45,0.1,-0.1,1,0.05,0.6,0.5,0.2,0.3,-0.4,0.1,0.9]"

// tinyVector is a vector of the test model's dimension whose values are
// float32's smallest (1e-45 rounds to 2^-149): finite, but too short for
// the reciprocal of its length to be a float32.
var tinyVector = "[" + strings.TrimSuffix(strings.Repeat("1e-45,", modelDim), ",") + "]"

// similarGETCases are TestSimilar's GET /similar requests.
func similarGETCases() []similarCase {
	return []similarCase{
		{
			name:   "given a catalogue track, when GET /similar, expect 20 results without the query track or its duplicate",
			target: "/similar?track=a", status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if r.Track == nil || r.Track.TrackID != "a" || r.Track.Name != "Song A" {
					t.Errorf("track = %+v, want a / Song A", r.Track)
				}
				if len(r.Results) != server.DefaultK {
					t.Errorf("len(results) = %d, want %d", len(r.Results), server.DefaultK)
				}
				if got := ids(r); slices.Contains(got, "a") || slices.Contains(got, "a-dup") {
					t.Errorf("results = %v, want neither a nor its duplicate a-dup", got)
				}
				if r.Model != "v1" {
					t.Errorf("model = %q, want v1", r.Model)
				}
				if !slices.IsSortedFunc(r.Results, func(a, b server.Result) int { return -cmpF(a.Score, b.Score) }) {
					t.Errorf("scores not descending: %+v", r.Results)
				}
				x := r.Results[0]
				ft := trackOf(t, x.TrackID)
				if x.Name != ft.Name || !slices.Equal(x.Artists, ft.Artists) {
					t.Errorf("result %+v, want name %q artists %v", x, ft.Name, ft.Artists)
				}
				if k, _, _ := f.last(); k != 20 {
					t.Errorf("Searcher got k = %d, want the default 20", k)
				}
			},
		},
		{
			name:   "given k=3, when GET /similar, expect 3 results",
			target: "/similar?track=a&k=3", status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if len(r.Results) != 3 {
					t.Errorf("len(results) = %d, want 3", len(r.Results))
				}
			},
		},
		{
			name:   "given k=1000, when GET /similar, expect the whole catalogue minus the query's song",
			target: "/similar?track=a&k=1000", status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if len(r.Results) != len(catalogue())-2 {
					t.Errorf("len(results) = %d, want %d", len(r.Results), len(catalogue())-2)
				}
			},
		},
		{
			name:   "given exclude=x1,x2, when GET /similar, expect them dropped and passed on",
			target: "/similar?track=a&k=1000&exclude=x1,x2", status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if got := ids(r); slices.Contains(got, "x1") || slices.Contains(got, "x2") || !slices.Contains(got, "x3") {
					t.Errorf("results = %v, want x3 but not x1, x2", got)
				}
				_, o, _ := f.last()
				if diff := cmp.Diff([]soundalike.TrackID{"x1", "x2"}, o.Exclude); diff != "" {
					t.Errorf("Exclude (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:   "given exclude_artist=true, when GET /similar, expect no track by Artist X",
			target: "/similar?track=a&k=1000&exclude_artist=true", status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				for _, x := range r.Results {
					if slices.Contains(x.Artists, "Artist X") {
						t.Errorf("result %+v is by Artist X", x)
					}
				}
				if _, o, _ := f.last(); !o.ExcludeArtist || o.NoDedupe {
					t.Errorf("opts = %+v, want ExcludeArtist and dedupe on", o)
				}
			},
		},
		{
			name:   "given dedupe=false, when GET /similar, expect the duplicate back and NoDedupe passed",
			target: "/similar?track=a&k=1000&dedupe=false", status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if got := ids(r); !slices.Contains(got, "a-dup") || slices.Contains(got, "a") {
					t.Errorf("results = %v, want a-dup but never a itself", got)
				}
				if _, o, _ := f.last(); !o.NoDedupe {
					t.Errorf("opts = %+v, want NoDedupe", o)
				}
			},
		},
		{name: "given no track parameter, when GET /similar, expect 400", target: "/similar?k=3", status: 400, errs: []string{"track"}},
		{name: "given an empty track, when GET /similar, expect 400", target: "/similar?track=", status: 400, errs: []string{"track"}},
		{name: "given k=0, when GET /similar, expect 400 naming k and its range", target: "/similar?track=a&k=0", status: 400, errs: []string{"k", "1..1000"}},
		{name: "given k=1001, when GET /similar, expect 400 naming k and its range", target: "/similar?track=a&k=1001", status: 400, errs: []string{"k", "1..1000"}},
		{name: "given k=abc, when GET /similar, expect 400 naming k and its range", target: "/similar?track=a&k=abc", status: 400, errs: []string{"k", "1..1000"}},
		{name: "given k=-5, when GET /similar, expect 400", target: "/similar?track=a&k=-5", status: 400, errs: []string{"k"}},
		{name: "given k twice, when GET /similar, expect 400", target: "/similar?track=a&k=3&k=4", status: 400, errs: []string{"k"}},
		{name: "given exclude_artist=maybe, when GET /similar, expect 400", target: "/similar?track=a&exclude_artist=maybe", status: 400, errs: []string{"exclude_artist", "true or false"}},
		{name: "given dedupe=nah, when GET /similar, expect 400", target: "/similar?track=a&dedupe=nah", status: 400, errs: []string{"dedupe"}},
		{name: "given a misspelt parameter, when GET /similar, expect 400 naming it", target: "/similar?track=a&exclude_artists=true", status: 400, errs: []string{"exclude_artists", "exclude_artist"}},
		{name: "given an unknown track, when GET /similar, expect 404", target: "/similar?track=nope", status: 404, errs: []string{"nope", "is not in the catalogue"}},
		{
			name: "given no model, when GET /similar, expect 503 naming soundalike train", target: "/similar?track=a",
			stage:  noModel,
			status: 503, errs: []string{"soundalike train"},
		},
		{
			name: "given no index, when GET /similar, expect 503 naming soundalike reindex", target: "/similar?track=a",
			stage:  noIndex,
			status: 503, errs: []string{"soundalike reindex"},
		},
		{
			name: "given a failing engine, when GET /similar, expect 500 without internals", target: "/similar?track=a",
			hook:   func(soundalike.Query) error { return errors.New("disk on fire at /secret/path") },
			status: 500, errs: []string{"internal server error"},
		},
	}
}

// similarPOSTCases are TestSimilar's POST /similar requests.
func similarPOSTCases() []similarCase {
	return []similarCase{
		{
			name:   "given seed tracks, when POST /similar, expect results without the seeds",
			method: "POST", target: "/similar", body: `{"tracks":["a","t03"],"k":1000}`, status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if got := ids(r); slices.Contains(got, "a") || slices.Contains(got, "t03") || len(got) == 0 {
					t.Errorf("results = %v, want some, without the seeds a and t03", got)
				}
				if r.Track != nil {
					t.Errorf("track = %+v, want omitted for a query by tracks", r.Track)
				}
				if _, _, q := f.last(); !slices.Equal(q.Tracks, []soundalike.TrackID{"a", "t03"}) {
					t.Errorf("query = %+v, want Tracks [a t03]", q)
				}
			},
		},
		{
			name:   "given features of an unknown track, when POST /similar, expect it embedded and echoed",
			method: "POST", target: "/similar",
			body:   `{"features":{"acousticness":0.1,"danceability":0.7,"energy":0.5,"instrumentalness":0,"key":5,"liveness":0.1,"loudness":-6,"mode":1,"speechiness":0.05,"tempo":120,"valence":0.5,"duration_ms":180000,"release_year":2001,"popularity":40,"name":"New one","artists":["Nobody"]},"k":5,"exclude":["x1"],"exclude_artist":true,"dedupe":false}`,
			status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if len(r.Results) != 5 {
					t.Errorf("len(results) = %d, want 5", len(r.Results))
				}
				if r.Track == nil || r.Track.Name != "New one" || r.Track.Features.Tempo != 120 || r.Track.ReleaseDate != "2001" {
					t.Errorf("track = %+v, want the posted one", r.Track)
				}
				_, o, q := f.last()
				want := soundalike.Features{Acousticness: 0.1, Danceability: 0.7, Energy: 0.5, Key: 5, Liveness: 0.1, Loudness: -6, Mode: 1, Speechiness: 0.05, Tempo: 120, Valence: 0.5}
				if q.Track == nil || q.Track.Features != want || q.Track.DurationMS != 180000 || q.Track.Popularity != 40 {
					t.Errorf("query track = %+v, want features %+v, duration 180000, popularity 40", q.Track, want)
				}
				if !o.ExcludeArtist || !o.NoDedupe || !slices.Equal(o.Exclude, []soundalike.TrackID{"x1"}) {
					t.Errorf("opts = %+v, want Exclude [x1], ExcludeArtist, NoDedupe", o)
				}
			},
		},
		{
			name:   "given a vector of the model's dimension, when POST /similar, expect results",
			method: "POST", target: "/similar", body: `{"vector":` + vector16 + `,"k":4}`, status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if len(r.Results) != 4 {
					t.Errorf("len(results) = %d, want 4", len(r.Results))
				}
				if _, _, q := f.last(); len(q.Vector) != modelDim || q.Vector[6] != -0.1 {
					t.Errorf("query vector = %v, want the posted one", q.Vector)
				}
			},
		},
		{name: "given a vector of the wrong length, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"vector":[1,2,3]}`, status: 400, errs: []string{"dimension"}},
		{name: "given a vector value beyond float32, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"vector":[1e39,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`, status: 400, errs: []string{"vector[0]", "finite"}},
		{name: "given a number beyond float64, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"vector":[1e999]}`, status: 400, errs: []string{"vector"}},
		{name: "given a vector too short to normalise, when POST /similar, expect 400 naming vector", method: "POST", target: "/similar", body: `{"vector":` + tinyVector + `}`, status: 400, errs: []string{"vector", "too small to normalise"}},
		{name: "given a vector of zeros, when POST /similar, expect 400 naming vector", method: "POST", target: "/similar", body: `{"vector":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`, status: 400, errs: []string{"vector", "all zeros"}},
		{name: "given NaN, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"vector":[NaN,0,0,0,0,0,0,0,0,0,0]}`, status: 400, errs: []string{"bad JSON", "NaN"}},
		{name: "given Infinity in features, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"features":{"tempo":Infinity}}`, status: 400, errs: []string{"bad JSON"}},
		{name: "given bad JSON, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"tracks":["a"]`, status: 400, errs: []string{"bad JSON"}},
		{name: "given a JSON array, when POST /similar, expect 400", method: "POST", target: "/similar", body: `["a"]`, status: 400, errs: []string{"JSON object"}},
		{name: "given two JSON values, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"tracks":["a"]} {"tracks":["b"]}`, status: 400, errs: []string{"more than one"}},
		{name: "given an empty body, when POST /similar, expect 400", method: "POST", target: "/similar", body: ``, status: 400, errs: []string{"empty body"}},
		{name: "given a wrong type, when POST /similar, expect 400 naming the field", method: "POST", target: "/similar", body: `{"tracks":"a"}`, status: 400, errs: []string{"tracks"}},
		{name: "given k as a string, when POST /similar, expect 400 naming k", method: "POST", target: "/similar", body: `{"tracks":["a"],"k":"5"}`, status: 400, errs: []string{"k"}},
		{name: "given an unknown field, when POST /similar, expect 400 naming it", method: "POST", target: "/similar", body: `{"tracks":["a"],"limit":5}`, status: 400, errs: []string{`"limit"`, "exclude_artist"}},
		{name: "given an unknown feature, when POST /similar, expect 400 naming it", method: "POST", target: "/similar", body: `{"features":{"loudnes":-5}}`, status: 400, errs: []string{`"loudnes"`}},
		{name: "given missing features, when POST /similar, expect 400 naming the missing ones", method: "POST", target: "/similar", body: `{"features":` + fullFeatures("tempo", "valence") + `}`, status: 400, errs: []string{"missing tempo, valence"}},
		{name: "given a feature out of range, when POST /similar, expect 400 naming it", method: "POST", target: "/similar", body: `{"features":` + strings.Replace(fullFeatures(), `"energy":0.5`, `"energy":1.5`, 1) + `}`, status: 400, errs: []string{"energy", "1.5"}},
		{name: "given a fractional key, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"features":` + strings.Replace(fullFeatures(), `"key":5`, `"key":5.5`, 1) + `}`, status: 400, errs: []string{"key"}},
		{name: "given release_date and release_year, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"release_date":"2001","release_year":2001}}`, status: 400, errs: []string{"release_date or release_year"}},
		{name: "given a bad release_date, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"release_date":"last year"}}`, status: 400, errs: []string{"release_date"}},
		{name: "given a release_date with no month 99, when POST /similar, expect 400 naming the month", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"release_date":"9999-99-99"}}`, status: 400, errs: []string{"features.release_date", "has no month 99", "YYYY-MM-DD"}},
		{name: "given a release_date of 31 February, when POST /similar, expect 400 naming the day", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"release_date":"2019-02-31"}}`, status: 400, errs: []string{"has no day 31"}},
		{name: "given a leap day release_date, when POST /similar, expect 200", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"release_date":"2020-02-29"}}`, status: 200,
			check: func(t *testing.T, f *hooked, r server.SimilarResponse) {
				if _, _, q := f.last(); q.Track == nil || q.Track.ReleaseDate != "2020-02-29" {
					t.Errorf("query track = %+v, want release_date 2020-02-29", q.Track)
				}
			}},
		{name: "given duration_ms beyond the stored bound, when POST /similar, expect 400 naming features.duration_ms", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"duration_ms":3000000000}}`, status: 400, errs: []string{"features.duration_ms: 3000000000 is outside 0..2147483647"}},
		{name: "given a NUL byte in the name, when POST /similar, expect 400 naming features.name", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"name":"a\u0000b"}}`, status: 400, errs: []string{"features.name", "NUL byte"}},
		{name: "given an artist too long, when POST /similar, expect 400 naming the entry of features.artists", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"artists":["A","` + strings.Repeat("x", soundalike.MaxTextLen+1) + `"]}}`, status: 400, errs: []string{"features.artists[1] is 65537 bytes long"}},
		{name: "given popularity 101, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"popularity":101}}`, status: 400, errs: []string{"popularity"}},
		{name: "given nothing to search by, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"k":5}`, status: 400, errs: []string{"nothing to search by"}},
		{name: "given empty tracks and an empty vector, when POST /similar, expect 400 refusing the tracks first, as tracks and an empty vector refuse the vector", method: "POST", target: "/similar", body: `{"tracks":[],"vector":[]}`, status: 400, errs: []string{"tracks: empty: give 1..100 track references"}},
		{name: "given tracks and an empty vector, when POST /similar, expect 400 refusing the vector", method: "POST", target: "/similar", body: `{"tracks":["a"],"vector":[]}`, status: 400, errs: []string{"vector: empty", "the model's dimension"}},
		{name: "given empty tracks only, when POST /similar, expect 400 refusing the tracks, not nothing to search by", method: "POST", target: "/similar", body: `{"tracks":[]}`, status: 400, errs: []string{"tracks: empty: give 1..100 track references"}},
		{name: "given tracks null, when POST /similar, expect 400 nothing to search by (null is no tracks)", method: "POST", target: "/similar", body: `{"tracks":null}`, status: 400, errs: []string{"nothing to search by"}},
		{name: "given tracks and vector, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"tracks":["a"],"vector":` + vector16 + `}`, status: 400, errs: []string{"exactly one", "tracks and vector"}},
		{name: "given an empty seed id, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"tracks":["a",""]}`, status: 400, errs: []string{"tracks[1]"}},
		{name: "given k=0 in the body, when POST /similar, expect 400", method: "POST", target: "/similar", body: `{"tracks":["a"],"k":0}`, status: 400, errs: []string{"k", "1..1000"}},
		{name: "given an unknown seed, when POST /similar, expect 404", method: "POST", target: "/similar", body: `{"tracks":["a","nope"]}`, status: 404, errs: []string{"nope"}},
		{
			name: "given no index, when POST /similar, expect 503", method: "POST", target: "/similar", body: `{"tracks":["a"]}`,
			stage:  noIndex,
			status: 503, errs: []string{"soundalike reindex"},
		},
		{name: "given a body over 1 MiB, when POST /similar, expect 413", method: "POST", target: "/similar", body: `{"tracks":["` + strings.Repeat("a", 1<<20) + `"]}`, status: 413, errs: []string{"1048576"}},
	}
}

func TestSimilar(t *testing.T) {
	eng := newEngine(t, ready)
	cases := append(similarGETCases(), similarPOSTCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &hooked{Engine: eng, hook: tc.hook}
			if tc.stage != ready {
				f.Engine = newEngine(t, tc.stage)
			}
			h := server.New(f, nil)
			method := tc.method
			if method == "" {
				method = "GET"
			}
			w := do(t, h, method, tc.target, tc.body)
			if w.Code != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", method, tc.target, w.Code, w.Body, tc.status)
			}
			if tc.status >= 400 {
				checkError(t, w, tc.errs...)
				return
			}
			r := decodeSimilar(t, w.Body.Bytes())
			if r.TookUS < 0 {
				t.Errorf("took_us = %d, want >= 0", r.TookUS)
			}
			tc.check(t, f, r)
		})
	}
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// A query track never appears in its own results, whatever k and options.
func TestSimilarNeverReturnsTheQueryTrack(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	for _, tr := range catalogue() {
		id := tr.ID
		for _, q := range []string{"k=1000", "k=1000&dedupe=false", "k=1&dedupe=false", "k=1000&exclude_artist=true"} {
			w := do(t, h, "GET", "/similar?track="+url.QueryEscape(string(id))+"&"+q, "")
			if w.Code != 200 {
				t.Fatalf("GET /similar?track=%s&%s = %d %s, want 200", id, q, w.Code, w.Body)
			}
			if got := ids(decodeSimilar(t, w.Body.Bytes())); slices.Contains(got, string(id)) {
				t.Errorf("GET /similar?track=%s&%s = %v, want no %s", id, q, got, id)
			}
		}
	}
}

// A body over the limit without a Content-Length (chunked) is cut off at
// the limit and gets 413 too, and the limit is configurable.
func TestPostSimilarBodyLimit(t *testing.T) {
	cases := []struct {
		name  string
		limit int64
		size  int
		want  int
	}{
		{"given a chunked body over the default 1 MiB, when POST /similar, expect 413", 0, 1<<20 + 10, 413},
		{"given a body just under 1 MiB, when POST /similar, expect it parsed (400: the seed is longer than an id can be)", 0, 1<<20 - 100, 400},
		{"given MaxBodyBytes 100 and a 200-byte body, when POST /similar, expect 413", 100, 200, 413},
	}
	eng := newEngine(t, ready)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := server.New(eng, &server.Options{MaxBodyBytes: tc.limit})
			body := `{"tracks":["` + strings.Repeat("z", tc.size-len(`{"tracks":[""]}`)) + `"]}`
			req := httptest.NewRequestWithContext(t.Context(), "POST", "/similar", io.MultiReader(strings.NewReader(body)))
			req.ContentLength = -1 // unknown, as with chunked encoding
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Fatalf("POST /similar (%d bytes) = %d %.200s, want %d", len(body), w.Code, w.Body, tc.want)
			}
			if tc.want != 413 {
				checkError(t, w)
				return
			}
			limit := tc.limit
			if limit == 0 {
				limit = server.DefaultMaxBodyBytes
			}
			checkError(t, w, fmt.Sprintf("over the limit of %d bytes", limit), "serve --max-body", "Options.MaxBodyBytes")
		})
	}
}

func TestTrack(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	t.Run("given a catalogue track, when GET /tracks/{id}, expect its metadata and features", func(t *testing.T) {
		w := do(t, h, "GET", "/tracks/a", "")
		if w.Code != 200 {
			t.Fatalf("GET /tracks/a = %d %s, want 200", w.Code, w.Body)
		}
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"track_id": "a", "name": "Song A", "artists": []any{"Artist X"}, "album": "Album of Song A",
			"popularity": 50.0, "duration_ms": 200000.0, "release_date": "2019-01-02",
			"genres": []any{"pop"}, "subgenres": []any{"dance pop"},
			"features": map[string]any{
				"acousticness": 0.1, "danceability": 0.7, "energy": 0.5, "instrumentalness": 0.0, "key": 5.0,
				"liveness": 0.1, "loudness": -6.0, "mode": 1.0, "speechiness": 0.05, "tempo": 120.0, "valence": 0.5,
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET /tracks/a (-want +got):\n%s", diff)
		}
	})
	t.Run("given an escaped id, when GET /tracks/{id}, expect it unescaped", func(t *testing.T) {
		w := do(t, h, "GET", "/tracks/a%2Fb%20c", "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"track_id":"a/b c"`) {
			t.Fatalf("GET /tracks/a%%2Fb%%20c = %d %s, want 200 for a/b c", w.Code, w.Body)
		}
	})
	t.Run("given an unknown id, when GET /tracks/{id}, expect 404", func(t *testing.T) {
		w := do(t, h, "GET", "/tracks/nope", "")
		if w.Code != 404 {
			t.Fatalf("GET /tracks/nope = %d, want 404", w.Code)
		}
		checkError(t, w, "nope")
	})
}

// Given a query parameter on an endpoint that takes none, expect GET
// /tracks/{id} and GET /model to answer 400 naming it, as every endpoint
// with parameters answers an unknown one, and the probes, /metrics,
// /openapi.json and the explorer's files to ignore it: a load balancer or
// scraper may add parameters of its own, and the explorer's page reads its
// own query string.
func TestParametersOnEndpointsThatTakeNone(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	for _, c := range []struct {
		method, target string
		status         int
		want           []string
	}{
		{"GET", "/tracks/a?bogus=1", 400, []string{`unknown query parameter "bogus"`, "GET /tracks/{id} takes no query parameters"}},
		{"HEAD", "/tracks/a?bogus=1", 400, nil},
		{"GET", "/tracks/nope?k=1&b=2", 400, []string{`"b"`, "GET /tracks/{id}"}},
		{"GET", "/tracks/a?%ZZ=1", 400, []string{"badly escaped"}},
		{"GET", "/model?version=v1", 400, []string{`unknown query parameter "version"`, "GET /model takes no query parameters"}},
		{"GET", "/tracks/a?", 200, nil},
		{"GET", "/model?&", 200, nil},
		{"GET", "/healthz?probe=lb", 200, nil},
		{"HEAD", "/healthz?probe=lb", 200, nil},
		{"GET", "/readyz?probe=lb", 200, nil},
		{"GET", "/metrics?name[]=x", 200, nil},
		{"GET", "/openapi.json?v=2", 200, nil},
		{"GET", "/?track=a", 200, nil},
		{"GET", "/explorer/explorer.js?v=2", 200, nil},
	} {
		w := do(t, h, c.method, c.target, "")
		if w.Code != c.status {
			t.Errorf("%s %s = %d %.200s, want %d", c.method, c.target, w.Code, w.Body, c.status)
			continue
		}
		if c.want != nil {
			checkError(t, w, c.want...)
		}
	}
}

func TestHealthReadyModel(t *testing.T) {
	engines := map[int]*soundalike.Engine{ready: newEngine(t, ready), noIndex: newEngine(t, noIndex), noModel: newEngine(t, noModel)}
	m, err := engines[ready].Model(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	created := `"created":"` + m.Created.Format(time.RFC3339Nano) + `"`
	cases := []struct {
		name   string
		stage  int
		target string
		status int
		want   []string // substrings of the body
	}{
		{"given a running server, when GET /healthz, expect 200", ready, "/healthz", 200, []string{`"status":"ok"`}},
		{"given no model, when GET /healthz, expect 200 still", noModel, "/healthz", 200, []string{`"ok"`}},
		{"given a model and index, when GET /readyz, expect 200", ready, "/readyz", 200, []string{`"status":"ready"`, `"model":"v1"`, `"tracks":30`, `"indexed":30`}},
		{"given no model, when GET /readyz, expect 503 naming soundalike train", noModel, "/readyz", 503, []string{"soundalike train"}},
		{"given no index, when GET /readyz, expect 503 naming soundalike reindex", noIndex, "/readyz", 503, []string{"soundalike reindex"}},
		{"given a model, when GET /model, expect its version, config and figures", ready, "/model", 200, []string{`"version":"v1"`, `"config":{"epochs":3}`, `"metrics":{"precision_at_20":0.31}`, `"dim":16`, `"index_size":30`, created}},
		{"given no model, when GET /model, expect 503", noModel, "/model", 503, []string{"soundalike train"}},
		{"given an unknown path, when GET, expect 404 JSON naming it", ready, "/nope", 404, []string{`no such endpoint GET \"/nope\": the endpoints are GET /similar`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, server.New(engines[tc.stage], nil), "GET", tc.target, "")
			if w.Code != tc.status {
				t.Fatalf("GET %s = %d %s, want %d", tc.target, w.Code, w.Body, tc.status)
			}
			if tc.status >= 400 {
				checkError(t, w)
			}
			for _, s := range tc.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("GET %s = %s, want it to contain %s", tc.target, w.Body, s)
				}
			}
		})
	}
	t.Run("given HEAD /healthz and /readyz, when sent, expect 200 and 503 without a body", func(t *testing.T) {
		h := server.New(engines[noIndex], nil)
		if w := do(t, h, "HEAD", "/healthz", ""); w.Code != 200 {
			t.Errorf("HEAD /healthz = %d, want 200", w.Code)
		}
		if w := do(t, h, "HEAD", "/readyz", ""); w.Code != 503 {
			t.Errorf("HEAD /readyz with no index = %d, want 503", w.Code)
		}
	})
	t.Run("given DELETE /similar, when sent, expect 405 JSON", func(t *testing.T) {
		w := do(t, server.New(engines[ready], nil), "DELETE", "/similar", "")
		if w.Code != 405 {
			t.Fatalf("DELETE /similar = %d, want 405", w.Code)
		}
		checkError(t, w)
	})
}

// A panic in the Searcher is recovered, answered 500 JSON, logged,
// counted, and the server keeps answering.
func TestPanicRecovered(t *testing.T) {
	f := &hooked{Engine: newEngine(t, ready), hook: panicOn("x1")}
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	h := server.New(f, &server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registerer: reg})

	for i := range 2 {
		w := do(t, h, "GET", "/similar?track=x1", "")
		if w.Code != 500 {
			t.Fatalf("GET /similar?track=x1 #%d = %d %s, want 500", i, w.Code, w.Body)
		}
		checkError(t, w, "internal server error")
	}
	if w := do(t, h, "GET", "/similar?track=a", ""); w.Code != 200 {
		t.Fatalf("after panics, GET /similar?track=a = %d, want 200", w.Code)
	}
	if got := counterValue(t, reg, "soundalike_http_panics_total", nil); got != 2 {
		t.Errorf("soundalike_http_panics_total = %v, want 2", got)
	}
	if got := counterValue(t, reg, "soundalike_http_requests_total", map[string]string{"route": "/similar", "status": "500"}); got != 2 {
		t.Errorf(`soundalike_http_requests_total{route="/similar",status="500"} = %v, want 2`, got)
	}
	if !strings.Contains(logs.String(), `"msg":"panic recovered"`) || !strings.Contains(logs.String(), "test hook: boom") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("logs = %s, want the recovered panic with its value and stack", logs.String())
	}
}

// counterValue returns the value of the counter (or histogram count)
// name{labels}, or -1 when there is no such series.
func counterValue(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || lp.GetName() == k && lp.GetValue() == v
				}
				if !found {
					continue metric
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}

// Given a query by features, when POST /similar (alone or in a batch),
// expect the track built from them echoed without a track_id: it is no
// stored track. A catalogue track's is there (GET /similar).
func TestQueryTrackByFeaturesHasNoID(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	queryTrack := func(body []byte) map[string]json.RawMessage {
		t.Helper()
		var r struct {
			Track   map[string]json.RawMessage
			Results []struct{ Track map[string]json.RawMessage }
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if len(r.Results) > 0 && r.Results[0].Track != nil { // a batch
			return r.Results[0].Track
		}
		return r.Track
	}
	for _, c := range []struct{ method, target, body, wantID string }{
		{"POST", "/similar", `{"features":` + fullFeatures() + `,"k":2}`, ""},
		{"POST", "/similar", `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"name":"New","artists":["Me"]},"k":2}`, ""},
		{"POST", "/similar/batch", `{"queries":[{"features":` + fullFeatures() + `,"k":2}]}`, ""},
		{"GET", "/similar?track=a&k=2", "", `"a"`},
	} {
		w := do(t, h, c.method, c.target, c.body)
		if w.Code != 200 {
			t.Fatalf("%s %s %s = %d %s, want 200", c.method, c.target, c.body, w.Code, w.Body)
		}
		tr := queryTrack(w.Body.Bytes())
		if tr == nil {
			t.Fatalf("%s %s %s = %s, want the query track", c.method, c.target, c.body, w.Body)
		}
		if got := string(tr["track_id"]); got != c.wantID {
			t.Errorf("%s %s %s: track.track_id = %q, want %q (\"\": absent)", c.method, c.target, c.body, got, c.wantID)
		}
		if _, ok := tr["name"]; !ok {
			t.Errorf("%s %s %s: track has no name, want the field as every track has it", c.method, c.target, c.body)
		}
	}
}

func TestMetrics(t *testing.T) {
	eng := newEngine(t, ready)
	h := server.New(eng, nil)
	for _, target := range []string{"/similar?track=a", "/similar?track=a", "/similar?track=nope", "/tracks/a", "/tracks/x1", "/nope/deeper"} {
		do(t, h, "GET", target, "")
	}
	st := eng.Stats() // of the snapshot the queries loaded
	w := do(t, h, "GET", "/metrics", "")
	if w.Code != 200 {
		t.Fatalf("GET /metrics = %d, want 200", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`soundalike_http_requests_total{method="GET",route="/similar",status="200"} 2`,
		`soundalike_http_requests_total{method="GET",route="/similar",status="404"} 1`,
		`soundalike_http_requests_total{method="GET",route="/tracks/{id}",status="200"} 2`,
		`soundalike_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`soundalike_http_request_duration_seconds_bucket{method="GET",route="/similar",status="200",le="0.001"}`,
		`soundalike_http_request_duration_seconds_count{method="GET",route="/similar",status="200"} 2`,
		`soundalike_http_panics_total 0`,
		`soundalike_index_size 30`,
		`soundalike_index_hugetlb_bytes 0`,
		`soundalike_catalogue_tracks 30`,
		fmt.Sprintf("soundalike_generation %d\n", st.Generation),
		`soundalike_reload_failures_total 0`,
		fmt.Sprintf("soundalike_reload_last_success_timestamp_seconds %g\n", float64(st.Loaded.UnixNano())/1e9),
		`soundalike_model_info{version="v1"} 1`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %s", want)
		}
	}
	for _, raw := range []string{`route="/tracks/a"`, `/nope/deeper`, `track=`} {
		if strings.Contains(body, raw) {
			t.Errorf("GET /metrics has a raw URL label %s, want route patterns only", raw)
		}
	}
}

// Two servers on one registry share the metrics instead of panicking.
func TestMetricsSharedRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	eng := newEngine(t, ready)
	a := server.New(eng, &server.Options{Registerer: reg})
	b := server.New(eng, &server.Options{Registerer: reg})
	do(t, a, "GET", "/healthz", "")
	do(t, b, "GET", "/healthz", "")
	if got := counterValue(t, reg, "soundalike_http_requests_total", map[string]string{"route": "/healthz"}); got != 2 {
		t.Errorf("requests to /healthz = %v, want 2", got)
	}
}

// The access log names method, route, status, duration and a client IP
// that X-Forwarded-For cannot spoof unless the peer is a trusted proxy.
func TestAccessLogClientIP(t *testing.T) {
	eng := newEngine(t, ready)
	cases := []struct {
		name    string
		trusted []string
		remote  string
		xff     string
		want    string
	}{
		{"given no trusted proxies, when a client sends X-Forwarded-For, expect the peer address", nil, "203.0.113.5:4321", "1.2.3.4", "203.0.113.5"},
		{"given no trusted proxies, when a loopback peer sends X-Forwarded-For, expect the peer address", nil, "127.0.0.1:4321", "1.2.3.4", "127.0.0.1"},
		{"given no trusted proxies, when a private-network peer sends X-Forwarded-For, expect the peer address", nil, "10.1.2.3:4321", "1.2.3.4", "10.1.2.3"},
		{"given a trusted proxy, when it forwards a client, expect the client", []string{"10.0.0.0/8"}, "10.1.2.3:4321", "1.2.3.4", "1.2.3.4"},
		{"given a trusted proxy, when the client prepends a forged hop, expect the nearest untrusted hop", []string{"10.0.0.0/8"}, "10.1.2.3:4321", "6.6.6.6, 1.2.3.4", "1.2.3.4"},
		{"given a trusted proxy, when an untrusted peer sends X-Forwarded-For, expect the peer address", []string{"10.0.0.0/8"}, "203.0.113.5:4321", "1.2.3.4", "203.0.113.5"},
		{"given a trusted IPv6 proxy, when it forwards a client, expect the client", []string{"fd00::/8"}, "[fd00::1]:4321", "2001:db8::7", "2001:db8::7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			opts := &server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			for _, p := range tc.trusted {
				opts.TrustedProxies = append(opts.TrustedProxies, mustPrefix(t, p))
			}
			h := server.New(eng, opts)
			req := httptest.NewRequestWithContext(t.Context(), "GET", "/tracks/a", nil)
			req.RemoteAddr = tc.remote
			req.Header.Set("X-Forwarded-For", tc.xff)
			h.ServeHTTP(httptest.NewRecorder(), req)

			var rec map[string]any
			if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
				t.Fatalf("access log %q: %v", logs.String(), err)
			}
			if rec["client_ip"] != tc.want {
				t.Errorf("client_ip = %v, want %s", rec["client_ip"], tc.want)
			}
			for k, v := range map[string]any{"msg": "request", "method": "GET", "route": "/tracks/{id}", "path": "/tracks/a", "status": 200.0} {
				if rec[k] != v {
					t.Errorf("access log %s = %v, want %v", k, rec[k], v)
				}
			}
			if _, ok := rec["duration"].(float64); !ok {
				t.Errorf("access log duration = %v, want a number", rec["duration"])
			}
		})
	}
}

// Given a Logger at Info, when probes are answered 200 (/healthz, /readyz,
// /metrics), expect no access log record for them, and one for a probe
// that fails (/readyz without a model: 503) and for any other request; at
// Debug, a record for the probes too.
func TestAccessLogProbesAtDebug(t *testing.T) {
	engines := map[int]*soundalike.Engine{ready: newEngine(t, ready), noModel: newEngine(t, noModel)}
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		for _, tc := range []struct {
			stage  int
			target string
			logged bool // at Info
		}{
			{ready, "/healthz", false},
			{ready, "/readyz", false},
			{ready, "/metrics", false},
			{noModel, "/readyz", true},
			{ready, "/tracks/a", true},
		} {
			var logs bytes.Buffer
			h := server.New(engines[tc.stage], &server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level})), Registerer: prometheus.NewRegistry()})
			do(t, h, "GET", tc.target, "")
			want := tc.logged || level == slog.LevelDebug
			if got := strings.Contains(logs.String(), `"msg":"request"`); got != want {
				t.Errorf("at %v, GET %s (stage %d): access log %q, want a record: %v", level, tc.target, tc.stage, logs.String(), want)
			}
		}
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// registererOnly hides the Gatherer side of a registry.
type registererOnly struct{ prometheus.Registerer }

// Given a Registerer that is not a Gatherer and an explicit Gatherer, when
// GET /metrics, expect the Gatherer's metrics, including the server's.
func TestMetricsExplicitGatherer(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := server.New(newEngine(t, ready), &server.Options{Registerer: registererOnly{reg}, Gatherer: reg})
	do(t, h, "GET", "/healthz", "")
	w := do(t, h, "GET", "/metrics", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `soundalike_http_requests_total{method="GET",route="/healthz",status="200"} 1`) {
		t.Errorf("GET /metrics = %d, want the healthz request counted:\n%.2000s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "go_goroutines") {
		t.Error("GET /metrics has the runtime collectors, want only what the caller's registry holds")
	}
}

// TestResponseRendersTheResults: the response is a translation of the
// Searcher's Results and nothing else: the query track, each neighbour's
// name and artists from its own track, and the model that answered (here
// tracks the Searcher's Track method does not know, and a model that is
// not the one Stats reports).
func TestResponseRendersTheResults(t *testing.T) {
	q := track("q", "Query", "Q", 0.5, 100)
	c := &canned{
		res: soundalike.Results{Model: "v9", Query: q, Neighbors: []soundalike.Neighbor{
			{ID: "n1", Score: 0.9, Track: *track("n1", "First", "One", 0.4, 90)},
			{ID: "n2", Score: 0.5, Track: soundalike.Track{ID: "n2", Name: "No artists"}},
		}},
		stats: soundalike.Stats{ModelVersion: "v8"},
	}
	w := do(t, server.New(c, nil), "GET", "/similar?track=q&k=2", "")
	if w.Code != 200 {
		t.Fatalf("GET /similar = %d %s, want 200", w.Code, w.Body)
	}
	got := decodeSimilar(t, w.Body.Bytes())
	got.TookUS = 0
	want := server.SimilarResponse{
		Track: server.NewTrackJSON(q), Model: "v9",
		Results: []server.Result{
			{TrackID: "n1", Name: "First", Artists: []string{"One"}, Score: 0.9},
			{TrackID: "n2", Name: "No artists", Artists: []string{}, Score: 0.5},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /similar (-want +got):\n%s", diff)
	}
	c.res.Query = nil
	w = do(t, server.New(c, nil), "POST", "/similar", `{"tracks":["q"]}`)
	if got := decodeSimilar(t, w.Body.Bytes()); w.Code != 200 || got.Track != nil || len(got.Results) != 2 {
		t.Errorf("POST /similar = %d %s, want 200 without a query track", w.Code, w.Body)
	}
}

// TestResponseModelFollowsReindex: after a new model is indexed, answers
// name it, and their neighbours come from its index.
func TestResponseModelFollowsReindex(t *testing.T) {
	ctx := t.Context()
	eng := newEngine(t, ready)
	h := server.New(eng, nil)
	if r := decodeSimilar(t, do(t, h, "GET", "/similar?track=a", "").Body.Bytes()); r.Model != "v1" {
		t.Fatalf("model = %q, want v1", r.Model)
	}
	m, err := synth.Model(4, []int{8}, 8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveModel(ctx, m, soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	if r := decodeSimilar(t, do(t, h, "GET", "/similar?track=a", "").Body.Bytes()); r.Model != "v1" {
		t.Errorf("model after training v2 = %q, want v1 until a reindex", r.Model)
	}
	if _, err := eng.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	r := decodeSimilar(t, do(t, h, "GET", "/similar?track=a&k=5", "").Body.Bytes())
	want, err := eng.Similar(ctx, "a", 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "v2" || want.Model != "v2" || len(r.Results) != 5 || r.Results[0].TrackID != string(want.Neighbors[0].ID) {
		t.Errorf("after reindexing with v2: model %q, results %v; want v2 and %v", r.Model, ids(r), want.Neighbors)
	}
}

// Every answer, success or error, JSON or the explorer's page, tells the
// browser not to sniff it: the API's bodies quote catalogue text.
func TestAnswersAreNosniff(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	for _, r := range []struct{ method, target, body string }{
		{"GET", "/similar?track=a&k=3", ""},
		{"GET", "/similar", ""},
		{"GET", "/tracks/nosuch", ""},
		{"GET", "/nowhere", ""},
		{"POST", "/similar", "{"},
		{"GET", "/metrics", ""},
		{"GET", "/", ""},
		{"HEAD", "/healthz", ""},
	} {
		w := do(t, h, r.method, r.target, r.body)
		if got := w.Header().Values("X-Content-Type-Options"); len(got) != 1 || got[0] != "nosniff" {
			t.Errorf("%s %s = %d with X-Content-Type-Options %q, want one nosniff", r.method, r.target, w.Code, got)
		}
	}
}

// Given seeds of which one names no track, when POST /similar or a batch
// searches by them, expect a 404 naming the seed by its index, as POST
// /recommend names its examples (positive[1]): the first seed not found,
// wherever it is and however often it is given (a batch's query's 404 in
// its slot, at the query: queries[1].tracks[1]).
func TestSimilarSeedNotFoundNamesIt(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	for _, c := range []struct{ target, body, want string }{
		{"/similar", `{"tracks":["a","nope"]}`, `tracks[1]: track "nope" is not in the catalogue (never imported, or deleted since)`},
		{"/similar", `{"tracks":["nope","a","gone","nope"]}`, `tracks[0]: track "nope" is not in the catalogue (never imported, or deleted since)`},
		{"/similar", `{"tracks":["a","x1","gone","nope"]}`, `tracks[2]: track "gone" is not in the catalogue (never imported, or deleted since)`},
		{"/similar", `{"tracks":["a","spotify:album:y"]}`, `tracks[1]: track "spotify:album:y" is not in the catalogue (never imported, or deleted since); a Spotify reference must be`},
		{"/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a","nope"]}]}`, `queries[1].tracks[1]: track "nope" is not in the catalogue (never imported, or deleted since)`},
	} {
		w := do(t, h, "POST", c.target, c.body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		status := w.Code
		if c.target == "/similar/batch" { // the query's slot of a 200
			status, e.Error = failedSlot(t, w, 2)
		}
		if status != 404 || !strings.HasPrefix(e.Error, c.want) {
			t.Errorf("POST %s %s = %d %s, want 404 beginning %q", c.target, c.body, status, w.Body, c.want)
		}
	}
}

// Given a reference that names no track, when a request names it as its
// one track, expect a 404 that says so once, in the command line's words
// and with why it may not be there ("track "x" is not in the catalogue
// (never imported, or deleted since)"), not "track "x": track not found";
// one of a Spotify form but no track's is told what such a reference must
// be, after.
func TestNotFoundSaysItOnce(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	const (
		nope  = `{"error":"track \"nope\" is not in the catalogue (never imported, or deleted since)"}`
		album = `{"error":"track \"spotify:album:y\" is not in the catalogue (never imported, or deleted since); a Spotify reference must be spotify:track:ID or https://open.spotify.com/track/ID"}`
	)
	for _, c := range []struct{ target, want string }{
		{"/tracks/nope", nope},
		{"/similar?track=nope", nope},
		{"/tracks/spotify:album:y", album},
		{"/similar?track=spotify:album:y", album},
	} {
		w := do(t, h, "GET", c.target, "")
		if got := strings.TrimSpace(w.Body.String()); w.Code != 404 || got != c.want {
			t.Errorf("GET %s = %d %s, want 404 %s", c.target, w.Code, got, c.want)
		}
	}
}

// A vector with several values beyond float32 is a 400 that says how
// many and names the first three at their indexes, wherever the vector
// sits; one such value is named alone.
func TestVectorBadValues(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	bad := `[1e39,0,-2e39,0.5,3e39,0,4e39,0,1,0,0,0,0,0,0,0]`
	want := func(at string) string {
		return at + "vector: 4 of 16 values are not finite 32-bit floats (want each within ±3.4028235e+38); " +
			at + "vector[0]: 1e+39 is not a finite 32-bit float; " +
			at + "vector[2]: -2e+39 is not a finite 32-bit float; " +
			at + "vector[4]: 3e+39 is not a finite 32-bit float"
	}
	cases := []struct{ target, body, want string }{
		{"/similar", `{"vector":` + bad + `}`, want("")},
		{"/similar/batch", `{"queries":[{"tracks":["a"]},{"vector":` + bad + `}]}`, want("queries[1].")},
		{"/recommend", `{"positive":[{"vector":` + bad + `}]}`, want("positive[0].")},
		{"/similar", `{"vector":[1,0,-2e39,0,0,0,0,0,0,0,0,0,0,0,0,0]}`, "vector[2]: -2e+39 is not a finite 32-bit float (want each within ±3.4028235e+38)"},
	}
	for _, tc := range cases {
		w := do(t, h, "POST", tc.target, tc.body)
		var e struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != 400 || e.Error != tc.want {
			t.Errorf("POST %s %s = %d %s, want 400 %q", tc.target, tc.body, w.Code, w.Body, tc.want)
		}
	}
}
