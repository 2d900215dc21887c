package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"
)

// The OpenAPI document (openapi.json, served at GET /openapi.json) is
// checked against the real server: each case sends a request to a server
// on a real engine, checks that the document accepts the request exactly
// when the case says it should, and validates the real response (status,
// headers, body) against the document. TestOpenAPIRoutes checks that the
// document and the server have the same routes.

// apiCase is one request and what the server answers.
type apiCase struct {
	name     string
	server   apiServer // which server answers
	method   string
	target   string
	body     string
	ctype    string // the body's Content-Type; "" means application/json
	want     int    // the status
	rejected bool   // the document refuses the request (as the server does)
}

type apiServer int

const (
	srvReady     apiServer = iota // a model, an index, user u1's history and u2's of unknown times
	srvNoModel                    // the catalogue only: 503s
	srvSmallBody                  // ready, with MaxBodyBytes 256
)

// vec is a JSON vector of the test model's dimension.
var vec = "[" + strings.TrimSuffix(strings.Repeat("0.25,", modelDim), ",") + "]"

// apiCases are today's endpoints: each must pass.
func apiCases() []apiCase {
	feats := fullFeatures()
	return []apiCase{
		{name: "GET similar", method: "GET", target: "/similar?track=a&k=5", want: 200},
		{name: "GET similar by URI", method: "GET", target: "/similar?track=spotify:track:" + spotifyOfT22 + "&k=3", want: 200},
		{name: "GET similar with options", method: "GET", target: "/similar?track=a&k=4&exclude=x1,x2&exclude=t00&exclude_artist=true&dedupe=false", want: 200},
		{name: "GET similar without track", method: "GET", target: "/similar?k=5", want: 400, rejected: true},
		{name: "GET similar k=0", method: "GET", target: "/similar?track=a&k=0", want: 400, rejected: true},
		{name: "GET similar k=1001", method: "GET", target: "/similar?track=a&k=1001", want: 400, rejected: true},
		{name: "GET similar k not a number", method: "GET", target: "/similar?track=a&k=ten", want: 400, rejected: true},
		{name: "GET similar bad boolean", method: "GET", target: "/similar?track=a&exclude_artist=maybe", want: 400, rejected: true},
		{name: "GET similar unknown parameter", method: "GET", target: "/similar?track=a&colour=red", want: 400},
		{name: "GET similar album URI", method: "GET", target: "/similar?track=spotify:album:4uLU6hMCjMI75M1A2tKUQC", want: 404},
		{name: "GET similar NUL reference", method: "GET", target: "/similar?track=a%00b", want: 400},
		{name: "GET similar unknown track", method: "GET", target: "/similar?track=nope", want: 404},
		{name: "GET similar without a model", server: srvNoModel, method: "GET", target: "/similar?track=a", want: 503},

		{name: "POST similar by tracks", method: "POST", target: "/similar", body: `{"tracks":["a","x1"],"k":3,"exclude":["t00"],"exclude_artist":true,"dedupe":false}`, want: 200},
		{name: "POST similar by features", method: "POST", target: "/similar", body: `{"features":` + feats[:len(feats)-1] + `,"name":"New","artists":["Me"],"release_year":2020,"popularity":40,"duration_ms":1000}}`, want: 200},
		{name: "POST similar by vector", method: "POST", target: "/similar", body: `{"vector":` + vec + `,"k":2}`, want: 200},
		{name: "POST similar nothing to search by", method: "POST", target: "/similar", body: `{"k":3}`, want: 400, rejected: true},
		{name: "POST similar two queries", method: "POST", target: "/similar", body: `{"tracks":["a"],"vector":` + vec + `}`, want: 400, rejected: true},
		{name: "POST similar unknown field", method: "POST", target: "/similar", body: `{"tracks":["a"],"colour":"red"}`, want: 400, rejected: true},
		{name: "POST similar missing feature", method: "POST", target: "/similar", body: `{"features":` + fullFeatures("tempo") + `}`, want: 400, rejected: true},
		{name: "POST similar key out of range", method: "POST", target: "/similar", body: `{"features":` + strings.Replace(feats, `"key":5`, `"key":12`, 1) + `}`, want: 400, rejected: true},
		{name: "POST similar empty tracks", method: "POST", target: "/similar", body: `{"tracks":[]}`, want: 400, rejected: true},
		{name: "POST similar tracks and an empty vector", method: "POST", target: "/similar", body: `{"tracks":["a"],"vector":[]}`, want: 400, rejected: true},
		{name: "POST similar duration_ms beyond a track's", method: "POST", target: "/similar", body: `{"features":` + feats[:len(feats)-1] + `,"duration_ms":3000000000}}`, want: 400, rejected: true},
		{name: "POST similar k=0", method: "POST", target: "/similar", body: `{"tracks":["a"],"k":0}`, want: 400, rejected: true},
		{name: "POST similar not JSON", method: "POST", target: "/similar", body: `{"tracks":`, want: 400, rejected: true},
		{name: "POST similar 101 seeds", method: "POST", target: "/similar", body: `{"tracks":[` + strings.TrimSuffix(strings.Repeat(`"a",`, server.MaxSeeds+1), ",") + `]}`, want: 400, rejected: true},
		{name: "POST similar 1001 exclusions", method: "POST", target: "/similar", body: `{"tracks":["a"],"exclude":[` + strings.TrimSuffix(strings.Repeat(`"t01",`, server.MaxExclude+1), ",") + `]}`, want: 400, rejected: true},
		{name: "GET similar a reference over 1024 bytes", method: "GET", target: "/similar?track=" + strings.Repeat("a", soundalike.MaxKeyLen+1), want: 400, rejected: true},
		{name: "POST similar wrong dimension", method: "POST", target: "/similar", body: `{"vector":[0.5,0.5]}`, want: 400},
		{name: "POST similar unknown track", method: "POST", target: "/similar", body: `{"tracks":["nope"]}`, want: 404},
		{name: "POST similar body over the limit", server: srvSmallBody, method: "POST", target: "/similar", body: `{"tracks":["a"],"exclude":[` + strings.Repeat(`"t01",`, 60) + `"t02"]}`, want: 413},
		{name: "POST similar without a model", server: srvNoModel, method: "POST", target: "/similar", body: `{"tracks":["a"]}`, want: 503},

		{name: "GET tracks by words", method: "GET", target: "/tracks?q=filler&k=3", want: 200},
		{name: "GET tracks by ids", method: "GET", target: "/tracks?ids=a,nope&ids=x1", want: 200},
		{name: "GET tracks without q or ids", method: "GET", target: "/tracks", want: 400},
		{name: "GET tracks k=101", method: "GET", target: "/tracks?q=filler&k=101", want: 400, rejected: true},
		{name: "GET tracks q and ids", method: "GET", target: "/tracks?q=filler&ids=a", want: 400},
		{name: "GET tracks by id", method: "GET", target: "/tracks?id=a&id=nope", want: 200},
		{name: "GET tracks ids and id", method: "GET", target: "/tracks?ids=a&id=x1", want: 400},
		{name: "GET track", method: "GET", target: "/tracks/a", want: 200},
		{name: "GET track by URI", method: "GET", target: "/tracks/spotify:track:" + spotifyOfT22, want: 200},
		{name: "GET track album URI", method: "GET", target: "/tracks/spotify:album:4uLU6hMCjMI75M1A2tKUQC", want: 404},
		{name: "GET track NUL reference", method: "GET", target: "/tracks/a%00b", want: 400},
		{name: "GET track unknown", method: "GET", target: "/tracks/nope", want: 404},
		{name: "GET track unknown parameter", method: "GET", target: "/tracks/a?bogus=1", want: 400},

		{name: "GET healthz", method: "GET", target: "/healthz", want: 200},
		{name: "HEAD healthz", method: "HEAD", target: "/healthz", want: 200},
		{name: "GET readyz", method: "GET", target: "/readyz", want: 200},
		{name: "GET readyz without a model", server: srvNoModel, method: "GET", target: "/readyz", want: 503},
		{name: "HEAD readyz", method: "HEAD", target: "/readyz", want: 200},
		{name: "HEAD readyz without a model", server: srvNoModel, method: "HEAD", target: "/readyz", want: 503},
		{name: "GET model", method: "GET", target: "/model", want: 200},
		{name: "GET model without a model", server: srvNoModel, method: "GET", target: "/model", want: 503},
		{name: "GET model unknown parameter", method: "GET", target: "/model?version=v1", want: 400},
		{name: "HEAD model unknown parameter", method: "HEAD", target: "/model?version=v1", want: 400},
		{name: "GET metrics", method: "GET", target: "/metrics", want: 200},
		{name: "GET openapi.json", method: "GET", target: "/openapi.json", want: 200},
		{name: "GET map", method: "GET", target: "/map?sample=5&ids=a", want: 200},
		{name: "GET map by id", method: "GET", target: "/map?sample=0&id=a&id=x1", want: 200},
		{name: "GET map ids and id", method: "GET", target: "/map?ids=a&id=x1", want: 400},
		{name: "GET map sample -1", method: "GET", target: "/map?sample=-1", want: 400, rejected: true},
		{name: "GET map NUL reference", method: "GET", target: "/map?sample=1&ids=a,%00", want: 400},
		{name: "GET map blank ids", method: "GET", target: "/map?sample=2&ids=", want: 200},
		{name: "GET explorer", method: "GET", target: "/", want: 200},
		{name: "HEAD explorer", method: "HEAD", target: "/", want: 200},
		{name: "GET explorer script", method: "GET", target: "/explorer/explorer.js", want: 200},
		{name: "GET explorer file missing", method: "GET", target: "/explorer/nope.js", want: 404},
	}
}

// apiSearchCases are the search parameters, batches, recommendations,
// users' views and the Content-Type check.
func apiSearchCases() []apiCase {
	return []apiCase{
		{name: "GET similar offset", method: "GET", target: "/similar?track=a&k=3&offset=2", want: 200},
		{name: "GET similar score_threshold", method: "GET", target: "/similar?track=a&score_threshold=-0.5", want: 200},
		{name: "GET similar filters", method: "GET", target: "/similar?track=a&genre=pop,POP&year_min=2015&year_max=2020&popularity_min=10&popularity_max=90", want: 200},
		{name: "GET similar diversity", method: "GET", target: "/similar?track=a&k=5&max_per_artist=1&diversity=0.3", want: 200},
		{name: "GET similar fields", method: "GET", target: "/similar?track=a&k=3&fields=metadata,features", want: 200},
		{name: "GET similar offset negative", method: "GET", target: "/similar?track=a&offset=-1", want: 400, rejected: true},
		{name: "GET similar diversity 2", method: "GET", target: "/similar?track=a&diversity=2", want: 400, rejected: true},
		{name: "GET similar popularity_min 101", method: "GET", target: "/similar?track=a&popularity_min=101", want: 400, rejected: true},
		{name: "GET similar max_per_artist negative", method: "GET", target: "/similar?track=a&max_per_artist=-1", want: 400, rejected: true},
		{name: "GET similar unknown field", method: "GET", target: "/similar?track=a&fields=lyrics", want: 400, rejected: true},
		{name: "GET similar year_min 1", method: "GET", target: "/similar?track=a&year_min=1&year_max=1", want: 200},
		{name: "GET similar year_min 0", method: "GET", target: "/similar?track=a&year_min=0", want: 400, rejected: true},
		{name: "GET similar year_max 0", method: "GET", target: "/similar?track=a&year_max=0", want: 400, rejected: true},
		{name: "GET similar offset 999", method: "GET", target: "/similar?track=a&k=1&offset=999", want: 200},
		{name: "GET similar offset 1000", method: "GET", target: "/similar?track=a&k=1&offset=1000", want: 400, rejected: true},
		{name: "GET similar nothing matches", method: "GET", target: "/similar?track=a&year_max=1900", want: 200},
		{name: "GET similar unknown genre", method: "GET", target: "/similar?track=a&genre=pop,nope", want: 400},

		{name: "POST similar filter", method: "POST", target: "/similar", body: `{"tracks":["a"],"k":3,"offset":1,"score_threshold":-1,"filter":{"genres":["pop"],"year_min":2015,"year_max":2020,"popularity_min":10,"popularity_max":100,"artists":["Artist 3","Artist 4"],"exclude_artists":["Artist X"],"ids":["t03","t04","t05"]},"max_per_artist":1,"diversity":0.3,"fields":["metadata","features"]}`, want: 200},
		{name: "POST similar filter year not a number", method: "POST", target: "/similar", body: `{"tracks":["a"],"filter":{"year_min":"2015"}}`, want: 400, rejected: true},
		{name: "POST similar filter unknown condition", method: "POST", target: "/similar", body: `{"tracks":["a"],"filter":{"mood":"happy"}}`, want: 400, rejected: true},
		{name: "POST similar diversity -0.1", method: "POST", target: "/similar", body: `{"tracks":["a"],"diversity":-0.1}`, want: 400, rejected: true},
		{name: "POST similar filter year_min 0", method: "POST", target: "/similar", body: `{"tracks":["a"],"filter":{"year_min":0}}`, want: 400, rejected: true},
		{name: "POST similar offset 1000", method: "POST", target: "/similar", body: `{"tracks":["a"],"k":1,"offset":1000}`, want: 400, rejected: true},
		{name: "POST similar nothing matches", method: "POST", target: "/similar", body: `{"tracks":["a"],"filter":{"year_max":1900}}`, want: 200},
		{name: "POST similar unknown genre", method: "POST", target: "/similar", body: `{"tracks":["a"],"filter":{"genres":["nope"]}}`, want: 400},
		{name: "POST batch nothing matches", method: "POST", target: "/similar/batch", body: `{"queries":[{"tracks":["a"],"filter":{"year_max":1900}}]}`, want: 200},
		{name: "POST batch unknown genre", method: "POST", target: "/similar/batch", body: `{"queries":[{"tracks":["a"]},{"tracks":["a"],"filter":{"genres":["nope"]}}]}`, want: 200},
		{name: "POST batch one seed not found", method: "POST", target: "/similar/batch", body: `{"queries":[{"tracks":["a"],"k":2},{"tracks":["nope"]},{"vector":` + vec + `,"k":1}]}`, want: 200},
		{name: "POST recommend nothing matches", method: "POST", target: "/recommend", body: `{"positive":["a"],"filter":{"year_max":1900}}`, want: 200},
		{name: "POST recommend unknown genre", method: "POST", target: "/recommend", body: `{"positive":["a"],"filter":{"genres":["nope"]}}`, want: 400},
		{name: "POST recommend offset 1000", method: "POST", target: "/recommend", body: `{"positive":["a"],"k":1,"offset":1000}`, want: 400, rejected: true},
		{name: "POST recommend filter year_max 0", method: "POST", target: "/recommend", body: `{"positive":["a"],"filter":{"year_max":0}}`, want: 400, rejected: true},
		{name: "GET user recommend nothing matches", method: "GET", target: "/users/u1/recommend?year_max=1900", want: 200},
		{name: "GET user recommend unknown genre", method: "GET", target: "/users/u1/recommend?genre=nope", want: 400},

		{name: "POST batch", method: "POST", target: "/similar/batch", body: `{"queries":[{"tracks":["a"],"k":2},{"vector":` + vec + `,"k":1},{"features":` + fullFeatures() + `}]}`, want: 200},
		{name: "POST batch empty", method: "POST", target: "/similar/batch", body: `{"queries":[]}`, want: 400, rejected: true},
		{name: "POST batch 101 queries", method: "POST", target: "/similar/batch", body: `{"queries":[` + strings.TrimSuffix(strings.Repeat(`{"tracks":["a"]},`, 101), ",") + `]}`, want: 400, rejected: true},
		{name: "POST batch a bad query", method: "POST", target: "/similar/batch", body: `{"queries":[{"tracks":["a"]},{"k":3}]}`, want: 400, rejected: true},
		{name: "POST batch without a model", server: srvNoModel, method: "POST", target: "/similar/batch", body: `{"queries":[{"tracks":["a"]}]}`, want: 503},

		{name: "POST recommend", method: "POST", target: "/recommend", body: `{"positive":["a",{"track":"x1","weight":2}],"negative":["t00"],"strategy":"best_score","k":5,"fields":["metadata"]}`, want: 200},
		{name: "POST recommend by vector and features", method: "POST", target: "/recommend", body: `{"positive":[{"vector":` + vec + `},{"features":` + fullFeatures() + `,"weight":0.5}],"k":3,"filter":{"popularity_min":0}}`, want: 200},
		{name: "POST recommend unknown strategy", method: "POST", target: "/recommend", body: `{"positive":["a"],"strategy":"max"}`, want: 400, rejected: true},
		{name: "POST recommend negative weight", method: "POST", target: "/recommend", body: `{"positive":["a"],"negative":[{"track":"x1","weight":-1}]}`, want: 400, rejected: true},
		{name: "POST recommend example with two things", method: "POST", target: "/recommend", body: `{"positive":[{"track":"a","vector":` + vec + `}]}`, want: 400, rejected: true},
		{name: "POST recommend 101 examples", method: "POST", target: "/recommend", body: `{"positive":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 60), ",") + `],"negative":[` + strings.TrimSuffix(strings.Repeat(`"x1",`, 41), ",") + `]}`, want: 400, rejected: false},
		{name: "POST recommend unknown track", method: "POST", target: "/recommend", body: `{"positive":["nope"]}`, want: 404},
		{name: "POST recommend without a model", server: srvNoModel, method: "POST", target: "/recommend", body: `{"positive":["a"]}`, want: 503},

		{name: "GET user recommend", method: "GET", target: "/users/u1/recommend?k=5", want: 200},
		{name: "GET user recommend filtered", method: "GET", target: "/users/u1/recommend?k=3&genre=pop&popularity_min=0&fields=metadata", want: 200},
		{name: "GET user recommend best_score", method: "GET", target: "/users/u1/recommend?k=5&strategy=best_score", want: 200},
		{name: "GET user recommend unknown strategy", method: "GET", target: "/users/u1/recommend?strategy=max", want: 400, rejected: true},
		{name: "GET user recommend k=0", method: "GET", target: "/users/u1/recommend?k=0", want: 400, rejected: true},
		{name: "GET user recommend no history", method: "GET", target: "/users/nobody/recommend", want: 404},
		{name: "GET user recommend without a model", server: srvNoModel, method: "GET", target: "/users/u1/recommend", want: 503},

		{name: "GET user history", method: "GET", target: "/users/u1/history", want: 200},
		{name: "GET user history limit", method: "GET", target: "/users/u1/history?limit=2", want: 200},
		{name: "GET user history of unknown times", method: "GET", target: "/users/u2/history", want: 200},
		{name: "GET user history limit=0", method: "GET", target: "/users/u1/history?limit=0", want: 400, rejected: true},
		{name: "GET user history page", method: "GET", target: "/users/u1/history?limit=2&offset=2", want: 200},
		{name: "GET user history offset past the end", method: "GET", target: "/users/u1/history?offset=5", want: 200},
		{name: "GET user history offset=-1", method: "GET", target: "/users/u1/history?offset=-1", want: 400, rejected: true},
		{name: "GET user history unknown user", method: "GET", target: "/users/nobody/history", want: 404},

		{name: "POST similar as text/plain", method: "POST", target: "/similar", body: `{"tracks":["a"]}`, ctype: "text/plain", want: 415, rejected: true},
		{name: "POST recommend as form", method: "POST", target: "/recommend", body: `{"positive":["a"]}`, ctype: "application/x-www-form-urlencoded", want: 415, rejected: true},
	}
}

// allAPICases are apiCases and apiSearchCases, each GET also sent as a
// HEAD: every GET operation answers HEAD, with the same status.
func allAPICases() []apiCase {
	cases := append(apiCases(), apiSearchCases()...)
	for _, tc := range cases {
		if tc.method == "GET" {
			tc.name, tc.method = "HEAD of "+tc.name, "HEAD"
			cases = append(cases, tc)
		}
	}
	return cases
}

// openAPIDoc loads and validates openapi.json.
func openAPIDoc(t *testing.T) *openapi3.T {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

// apiServers builds the servers the cases name.
func apiServers(t *testing.T) map[apiServer]*server.Server {
	eng := newEngine(t, ready)
	day := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for i, in := range []struct{ track, action string }{
			{"a", soundalike.ActionLike}, {"x1", soundalike.ActionPlay}, {"t03", soundalike.ActionAddToPlaylist},
			{"t07", soundalike.ActionSkip}, {"t10", soundalike.ActionPlay},
		} {
			it := &soundalike.Interaction{User: "u1", Track: soundalike.TrackID(in.track), Action: in.action, Time: day.Add(time.Duration(i) * time.Hour)}
			if _, err := tx.PutInteraction(it); err != nil {
				return err
			}
		}
		// u2's history mixes a time with interactions the data gives
		// none for.
		for _, it := range []soundalike.Interaction{
			{User: "u2", Track: "a", Action: soundalike.ActionPlay},
			{User: "u2", Track: "x1", Action: soundalike.ActionLike, Time: day},
			{User: "u2", Track: "t03", Action: soundalike.ActionPlay},
		} {
			if _, err := tx.PutInteraction(&it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return map[apiServer]*server.Server{
		srvReady:     server.New(eng, nil),
		srvNoModel:   server.New(newEngine(t, noModel), nil),
		srvSmallBody: server.New(eng, &server.Options{MaxBodyBytes: 256}),
	}
}

func newAPIRequest(ctx context.Context, tc apiCase) *http.Request {
	var req *http.Request
	if tc.body == "" {
		req = httptest.NewRequestWithContext(ctx, tc.method, tc.target, nil)
	} else {
		req = httptest.NewRequestWithContext(ctx, tc.method, tc.target, strings.NewReader(tc.body))
		ct := tc.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	return req
}

// checkAPICase sends tc to its server and checks the request and the
// response against the document.
func checkAPICase(t *testing.T, router routers.Router, srv *server.Server, tc apiCase) {
	t.Helper()
	ctx := t.Context()
	opts := &openapi3filter.Options{IncludeResponseStatus: true, SkipSettingDefaults: true, MultiError: true}

	w := httptest.NewRecorder()
	srv.ServeHTTP(w, newAPIRequest(ctx, tc))
	if w.Code != tc.want {
		t.Errorf("%s %s = %d %s, want %d", tc.method, tc.target, w.Code, w.Body, tc.want)
	}

	req := newAPIRequest(ctx, tc)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: the document has no such operation: %v", tc.method, tc.target, err)
	}
	if tc.want < 300 {
		// OpenAPI lets a request carry query parameters the document does
		// not list; a success must use only listed ones.
		for name := range req.URL.Query() {
			if route.Operation.Parameters.GetByInAndName(openapi3.ParameterInQuery, name) == nil {
				t.Errorf("query parameter %s is taken by the server, not listed by the document", name)
			}
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	err = openapi3filter.ValidateRequest(ctx, in)
	switch {
	case err != nil && !tc.rejected:
		t.Errorf("the document refuses a request the server takes: %v", err)
	case err == nil && tc.rejected:
		t.Errorf("the document accepts a request the server refuses (%d %s)", w.Code, strings.TrimSpace(w.Body.String()))
	}

	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: w.Code, Header: w.Header(), Body: io.NopCloser(bytes.NewReader(w.Body.Bytes())), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("the response does not fit the document: %v\nresponse: %d %s", err, w.Code, w.Body)
	}
}

func TestOpenAPI(t *testing.T) {
	doc := openAPIDoc(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	servers := apiServers(t)
	for _, tc := range allAPICases() {
		t.Run(tc.name, func(t *testing.T) {
			checkAPICase(t, router, servers[tc.server], tc)
		})
	}
}

// Track is defined as QueryTrack with its track_id required (allOf):
// given a catalogue track's JSON as the server writes it, expect both
// schemas to take it; without its track_id, QueryTrack only; with a
// property QueryTrack does not list, neither.
func TestOpenAPITrackIsQueryTrackWithItsID(t *testing.T) {
	schemas := openAPIDoc(t).Components.Schemas
	tr := track("a", "A Song", "An Artist", 0.5, 120)
	tr.Genres, tr.Subgenres = []string{"pop"}, []string{}
	whole := func() map[string]any {
		var v map[string]any
		if err := json.Unmarshal(server.NewTrackJSON(tr).AppendJSON(nil), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	noID, extra := whole(), whole()
	delete(noID, "track_id")
	extra["colour"] = "red"
	for _, c := range []struct {
		name           string
		v              map[string]any
		track, queryTr bool // whether each schema takes it
	}{
		{"a catalogue track", whole(), true, true},
		{"without track_id", noID, false, true},
		{"with a property not listed", extra, false, false},
	} {
		for _, s := range []struct {
			schema string
			want   bool
		}{{"Track", c.track}, {"QueryTrack", c.queryTr}} {
			err := schemas[s.schema].Value.VisitJSON(c.v)
			if (err == nil) != s.want {
				t.Errorf("%s against %s: error %v, want taken %v", c.name, s.schema, err, s.want)
			}
		}
	}
}

// operations lists the document's operations as "METHOD /path".
func operations(doc *openapi3.T) []string {
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// TestOpenAPIRoutes checks that the document lists every route the server
// serves and serves every operation it lists,
// and that the cases exercise every operation, with an error where the
// operation has one.
func TestOpenAPIRoutes(t *testing.T) {
	doc := openAPIDoc(t)
	ops := operations(doc)
	srv := server.New(newEngine(t, noModel), nil)
	served := srv.Routes()
	for _, r := range served {
		if !slices.Contains(ops, r) {
			t.Errorf("the server serves %s; openapi.json does not list it", r)
		}
	}
	for _, op := range ops {
		if !slices.Contains(served, op) {
			t.Errorf("openapi.json lists %s; the server does not serve it", op)
		}
	}

	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	type coverage struct{ ok, failed bool }
	covered := map[string]*coverage{}
	for _, tc := range allAPICases() {
		route, _, err := router.FindRoute(newAPIRequest(t.Context(), tc))
		if err != nil {
			t.Errorf("case %q: %s %s is no operation of the document: %v", tc.name, tc.method, tc.target, err)
			continue
		}
		op := tc.method + " " + route.Path
		if covered[op] == nil {
			covered[op] = &coverage{}
		}
		if tc.want < 300 {
			covered[op].ok = true
		} else {
			covered[op].failed = true
		}
	}
	for _, op := range ops {
		c := covered[op]
		method, path, _ := strings.Cut(op, " ")
		hasErrors := false
		for code := range doc.Paths.Value(path).GetOperation(method).Responses.Map() {
			hasErrors = hasErrors || code >= "400"
		}
		switch {
		case c == nil || !c.ok:
			t.Errorf("no case answers %s with success", op)
		case hasErrors && !c.failed:
			t.Errorf("no case answers %s with an error", op)
		}
	}
}

// Given a request to each operation of the document, expect the metrics
// and the access log to name its route as the document writes it
// (/tracks/{id}), whatever the answer: one spelling of a route in the
// document, the docs, the metrics and the logs.
func TestRouteLabelsAreTheDocumentsPaths(t *testing.T) {
	doc := openAPIDoc(t)
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	srv := server.New(newEngine(t, ready), &server.Options{Registerer: reg, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	for _, op := range operations(doc) {
		method, path, _ := strings.Cut(op, " ")
		target := regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(path, "a")
		body := ""
		if method == "POST" {
			body = "{}"
		}
		logs.Reset()
		do(t, srv, method, target, body)
		if got := counterValue(t, reg, "soundalike_http_requests_total", map[string]string{"route": path, "method": method}); got != 1 {
			t.Errorf("%s %s: soundalike_http_requests_total{route=%q,method=%q} = %v, want 1", method, target, path, method, got)
		}
		var rec map[string]any
		if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
			t.Fatalf("%s %s: access log %q: %v", method, target, logs.String(), err)
		}
		if rec["route"] != path {
			t.Errorf("%s %s: access log route = %v, want %s", method, target, rec["route"], path)
		}
	}
}

// TestOpenAPIServed checks that GET /openapi.json serves openapi.json.
func TestOpenAPIServed(t *testing.T) {
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, server.New(newEngine(t, noModel), nil), "GET", "/openapi.json", "")
	if w.Code != http.StatusOK || w.Body.String() != string(want) {
		t.Fatalf("GET /openapi.json = %d, %d bytes; want 200 and openapi.json's %d bytes", w.Code, w.Body.Len(), len(want))
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v["openapi"] == nil {
		t.Errorf("GET /openapi.json is no OpenAPI document: %v", err)
	}
}

// The explorer's page and files are text the validator reads as strings.
func init() {
	text := func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	}
	for _, ct := range []string{"text/html", "text/css", "text/javascript"} {
		openapi3filter.RegisterBodyDecoder(ct, text)
	}
}
