package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/storage"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// userEngine is the test engine with the history of user "alice" (newest
// first: a skip of t05, a like of x1, a play of a; and a play of t07 of
// unknown time) and of "bob".
func userEngine(t testing.TB) *soundalike.Engine {
	t.Helper()
	eng := newEngine(t, ready)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ins := []soundalike.Interaction{
		{User: "alice", Track: "a", Action: soundalike.ActionPlay, Time: t0},
		{User: "alice", Track: "x1", Action: soundalike.ActionLike, Time: t0.Add(time.Hour)},
		{User: "alice", Track: "t05", Action: soundalike.ActionSkip, Time: t0.Add(2 * time.Hour)},
		{User: "alice", Track: "t07", Action: soundalike.ActionPlay},
		{User: "bob", Track: "t10", Action: soundalike.ActionPlay, Time: t0},
	}
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for i := range ins {
			if _, err := tx.PutInteraction(&ins[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// decodeRecommend is RecommendResponse decoded strictly; it also checks
// the hand-rolled encoding is encoding/json's.
func decodeRecommend(t *testing.T, body []byte) server.RecommendResponse {
	t.Helper()
	var r server.RecommendResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	std, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.AppendJSON(nil); !bytes.Equal(got, std) {
		t.Errorf("AppendJSON = %s\nencoding/json = %s", got, std)
	}
	return r
}

func recIDs(r server.RecommendResponse) []string { return ids(r.SimilarResponse) }

func TestPostRecommend(t *testing.T) {
	eng := newEngine(t, ready)
	h := server.New(eng, nil)
	sim := decodeSimilar(t, do(t, h, "GET", "/similar?track=a&k=5", "").Body.Bytes())
	simT22 := decodeSimilar(t, do(t, h, "GET", "/similar?track=t22&k=3", "").Body.Bytes())
	vec, err := eng.Embed(trackOf(t, "t03"))
	if err != nil {
		t.Fatal(err)
	}
	vecJSON, _ := json.Marshal(vec)

	for _, c := range []struct {
		name, body, strategy string
		want                 []string // nil: only checked to answer
	}{
		{"one id is /similar", `{"positive":["a"],"k":5}`, "average", ids(sim)},
		{"best_score, one id", `{"positive":["a"],"k":5,"strategy":"best_score"}`, "best_score", ids(sim)},
		{"an object with a weight", `{"positive":[{"track":"a","weight":3}],"k":5,"strategy":"average"}`, "average", ids(sim)},
		// A Spotify link or URI is an example of the track it names.
		{"a link", `{"positive":["https://open.spotify.com/track/` + spotifyOfT22 + `"],"k":3}`, "average", ids(simT22)},
		{"a URI", `{"positive":["spotify:track:` + spotifyOfT22 + `"],"k":3}`, "average", ids(simT22)},
		{"a URI as a negative", `{"positive":["a"],"negative":["spotify:track:` + spotifyOfT22 + `"],"k":3}`, "average", nil},
		{"all kinds", `{"positive":["a",{"vector":` + string(vecJSON) + `},{"features":` + fullFeatures() + `,"weight":0.5}],"negative":["t10"],"k":7,"strategy":"best_score","exclude":["t11"],"exclude_artist":true,"dedupe":false}`, "best_score", nil},
	} {
		w := do(t, h, "POST", "/recommend", c.body)
		if w.Code != 200 {
			t.Errorf("%s: %d %s", c.name, w.Code, w.Body)
			continue
		}
		r := decodeRecommend(t, w.Body.Bytes())
		if st := c.strategy; st != "" && r.Strategy != st || r.Model != "v1" {
			t.Errorf("%s: strategy %q model %q, want %q and v1", c.name, r.Strategy, r.Model, c.strategy)
		}
		if c.want != nil && !slices.Equal(recIDs(r), c.want) {
			t.Errorf("%s: %v, want %v", c.name, recIDs(r), c.want)
		}
		if c.name == "all kinds" {
			for _, id := range recIDs(r) {
				if slices.Contains([]string{"a", "t10", "t11", "x1", "x2", "x3", "a-dup"}, id) {
					t.Errorf("all kinds: %s is an example, excluded or by an example's artist", id)
				}
			}
		}
	}
}

func TestPostRecommendRefuses(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	many := strings.Repeat(`"a",`, 1000) + `"a"`
	for _, c := range []struct {
		body string
		code int
		says []string
	}{
		{``, 400, []string{"empty body", "JSON object"}},
		{`[]`, 400, []string{"JSON object"}},
		{`{}`, 400, []string{"positive", "at least one"}},
		{`{"negative":["a"]}`, 400, []string{"positive"}},
		{`{"positive":["a"],"strategy":"best"}`, 400, []string{"strategy", `"best"`, `"average"`, `"best_score"`}},
		{`{"positive":["a"],"k":0}`, 400, []string{"k", "1..1000"}},
		{`{"positive":["a"],"k":"5"}`, 400, []string{"k"}},
		{`{"positive":["a"],"tracks":["a"]}`, 400, []string{`unknown field "tracks"`, "negative, offset, positive"}},
		{`{"positive":[5]}`, 400, []string{"positive[0]", "not an example"}},
		{`{"positive":["a",null]}`, 400, []string{"positive[1]", "not an example"}},
		{`{"positive":["a"],"negative":[""]}`, 400, []string{"negative[0]"}},
		{`{"positive":[{"track":"a","vector":[1]}]}`, 400, []string{"positive[0]: give exactly one of track, vector or features, not track and vector"}},
		{`{"positive":["a"],"negative":[{"track":"b","vector":[1],"features":` + fullFeatures() + `}]}`, 400, []string{"negative[0]: give exactly one of track, vector or features, not track and vector and features"}},
		{`{"positive":[{}]}`, 400, []string{"positive[0]: the example gives none of track, vector or features: give exactly one"}},
		{`{"positive":[{"weight":2}]}`, 400, []string{"positive[0]: the example gives none of track, vector or features"}},
		{`{"positive":[{"track":"a","weight":-1}]}`, 400, []string{"positive[0].weight", "-1", "≥ 0"}},
		{`{"positive":[{"track":"a","id":"b"}]}`, 400, []string{"positive[0]", `unknown field "id"`}},
		{`{"positive":[{"vector":"x"}]}`, 400, []string{"positive[0]", "vector"}},
		{`{"positive":[{"vector":[1,2]}]}`, 400, []string{"positive[0]", "dimension"}},
		{`{"positive":[{"vector":[1e39]}]}`, 400, []string{"positive[0].vector[0]", "finite"}},
		{`{"positive":[{"vector":` + tinyVector + `}]}`, 400, []string{"positive[0]", "vector", "too small to normalise"}},
		{`{"positive":[{"features":{"energy":0.5}}]}`, 400, []string{"positive[0].features", "missing"}},
		{`{"positive":["a"],"exclude":[""]}`, 400, []string{"exclude[0]"}},
		{`{"positive":["nope"]}`, 404, []string{`"nope"`}},
		{`{"positive":["a"]} {}`, 400, []string{"more than one JSON value"}},
		// An example on both sides asks for nothing: a 400 naming both.
		{`{"positive":["t10","a"],"negative":["a"]}`, 400, []string{`negative[0]: `, `track "a" is also positive[1]`, "one side only"}},
		{`{"positive":["https://open.spotify.com/track/` + spotifyOfT22 + `"],"negative":["t10","spotify:track:` + spotifyOfT22 + `"]}`, 400,
			[]string{"negative[1]: ", "positive[0]", "one side only"}},
		{`{"positive":["a",{"vector":` + vector16 + `}],"negative":[{"vector":` + vector16 + `}]}`, 400, []string{"negative[0]: ", "positive[1]", "one side only"}},
		{`{"positive":[` + many + `]}`, 400, []string{"1001 examples", "at most 100 "}},
	} {
		w := do(t, h, "POST", "/recommend", c.body)
		if w.Code != c.code {
			t.Errorf("POST /recommend %.60s = %d %s, want %d", c.body, w.Code, w.Body, c.code)
			continue
		}
		checkError(t, w, c.says...)
	}
}

func TestUserRecommend(t *testing.T) {
	eng := userEngine(t)
	h := server.New(eng, nil)
	w := do(t, h, "GET", "/users/alice/recommend?k=6", "")
	if w.Code != 200 {
		t.Fatalf("GET /users/alice/recommend = %d %s", w.Code, w.Body)
	}
	r := decodeRecommend(t, w.Body.Bytes())
	want, err := eng.RecommendUser(t.Context(), "alice", 6, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wantIDs []string
	for _, n := range want.Neighbors {
		wantIDs = append(wantIDs, string(n.ID))
	}
	if !slices.Equal(recIDs(r), wantIDs) || r.Strategy != "average" || len(wantIDs) != 6 {
		t.Errorf("alice: %v (%s), want the engine's %v (average)", recIDs(r), r.Strategy, wantIDs)
	}
	for _, id := range recIDs(r) {
		if slices.Contains([]string{"a", "x1", "t05", "t07", "a-dup"}, id) {
			t.Errorf("alice is recommended %s, from her history", id)
		}
	}
	w = do(t, h, "GET", "/users/alice/recommend?k=6&exclude="+wantIDs[0]+"&dedupe=true", "")
	if r := decodeRecommend(t, w.Body.Bytes()); slices.Contains(recIDs(r), wantIDs[0]) {
		t.Errorf("exclude=%s: still recommended: %v", wantIDs[0], recIDs(r))
	}

	// strategy=best_score: the engine's best_score answer for her history.
	w = do(t, h, "GET", "/users/alice/recommend?k=6&strategy=best_score", "")
	if w.Code != 200 {
		t.Fatalf("GET /users/alice/recommend?strategy=best_score = %d %s", w.Code, w.Body)
	}
	best, err := eng.Recommend(t.Context(), soundalike.RecommendQuery{User: "alice", Strategy: soundalike.StrategyBestScore, K: 6})
	if err != nil {
		t.Fatal(err)
	}
	var bestIDs []string
	for _, n := range best.Neighbors {
		bestIDs = append(bestIDs, string(n.ID))
	}
	if r := decodeRecommend(t, w.Body.Bytes()); !slices.Equal(recIDs(r), bestIDs) || r.Strategy != "best_score" {
		t.Errorf("alice, best_score: %v (%s), want the engine's %v (best_score)", recIDs(r), r.Strategy, bestIDs)
	}

	for _, c := range []struct {
		target string
		code   int
		says   []string
	}{
		{"/users/nobody/recommend", 404, []string{`"nobody"`, "no interactions"}},
		{"/users/alice/recommend?k=0", 400, []string{"k", "1..1000"}},
		{"/users/alice/recommend?k=x", 400, []string{"k", `"x"`}},
		{"/users/alice/recommend?k=1&k=2", 400, []string{"k", "once"}},
		{"/users/alice/recommend?limit=3", 400, []string{`"limit"`}},
		{"/users/alice/recommend?dedupe=maybe", 400, []string{"dedupe"}},
		{"/users/alice/recommend?strategy=max", 400, []string{"strategy", `"max"`, "best_score"}},
		{"/users/" + strings.Repeat("u", soundalike.MaxKeyLen+1) + "/recommend", 400, []string{"user id", "at most"}},
		{"/users/alice/history?limit=0", 400, []string{"limit", "1..1000"}},
		{"/users/alice/history?k=3", 400, []string{`"k"`, "limit", "offset"}},
		{"/users/alice/history?offset=-1", 400, []string{"offset", "-1", "0..2147483647"}},
		{"/users/alice/history?offset=x", 400, []string{"offset", `"x"`, "0..2147483647"}},
		{"/users/alice/history?offset=99999999999999999999", 400, []string{"offset", "0..2147483647"}},
		{"/users/alice/history?offset=1&offset=2", 400, []string{"offset", "once"}},
		{"/users/nobody/history", 404, []string{`"nobody"`}},
	} {
		w := do(t, h, "GET", c.target, "")
		if w.Code != c.code {
			t.Errorf("GET %s = %d %s, want %d", c.target, w.Code, w.Body, c.code)
			continue
		}
		checkError(t, w, c.says...)
	}
}

func TestUserHistoryEndpoint(t *testing.T) {
	eng := userEngine(t)
	h := server.New(eng, nil)
	w := do(t, h, "GET", "/users/alice/history", "")
	if w.Code != 200 {
		t.Fatalf("GET /users/alice/history = %d %s", w.Code, w.Body)
	}
	var r struct {
		User         string `json:"user"`
		Total        int    `json:"total"`
		Interactions []struct {
			TrackID string          `json:"track_id"`
			Track   json.RawMessage `json:"track"`
			Action  string          `json:"action"`
			Time    *string         `json:"time"`
		} `json:"interactions"`
	}
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	var got []string
	for _, in := range r.Interactions {
		var tr struct {
			TrackID string `json:"track_id"`
		}
		json.Unmarshal(in.Track, &tr)
		if tr.TrackID != in.TrackID {
			t.Errorf("interaction of track_id %s holds track %s", in.TrackID, tr.TrackID)
		}
		// A time is RFC 3339, and absent (not "") when unknown.
		when := "(no time)"
		if in.Time != nil {
			when = *in.Time
		}
		got = append(got, fmt.Sprintf("%s %s %s", tr.TrackID, in.Action, when))
		// The track is what GET /tracks/{id} answers.
		if want := do(t, h, "GET", "/tracks/"+tr.TrackID, "").Body.Bytes(); !bytes.Equal(append(in.Track, '\n'), want) {
			t.Errorf("track %s = %s, want GET /tracks/%s's %s", tr.TrackID, in.Track, tr.TrackID, want)
		}
	}
	want := []string{
		"t05 skip 2026-05-01T14:00:00Z",
		"x1 like 2026-05-01T13:00:00Z",
		"a play 2026-05-01T12:00:00Z",
		"t07 play (no time)",
	}
	if r.User != "alice" || r.Total != 4 || !slices.Equal(got, want) {
		t.Errorf("history = %s, total %d, %v; want alice, total 4, %v", r.User, r.Total, got, want)
	}
	// Pages: limit interactions after the offset newest, each with the
	// user's total; an offset at or past it gives none.
	for _, c := range []struct {
		query string
		want  []string // track ids
	}{
		{"limit=2", []string{"t05", "x1"}},
		{"limit=2&offset=2", []string{"a", "t07"}},
		{"offset=1&limit=2", []string{"x1", "a"}},
		{"offset=3", []string{"t07"}},
		{"offset=", []string{"t05", "x1", "a", "t07"}}, // blank: the default, 0
		{"offset=4", nil},
		{"offset=1000&limit=1000", nil},
	} {
		w = do(t, h, "GET", "/users/alice/history?"+c.query, "")
		var page server.HistoryResponse
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != 200 {
			t.Errorf("%s: %d %s (%v)", c.query, w.Code, w.Body, err)
			continue
		}
		var ids []string
		for _, in := range page.Interactions {
			ids = append(ids, in.TrackID)
		}
		if page.Total != 4 || !slices.Equal(ids, c.want) || page.Interactions == nil {
			t.Errorf("%s: total %d, %v (%s); want total 4, %v", c.query, page.Total, ids, w.Body, c.want)
		}
	}

	// A track deleted since is named by its id, with no made-up track
	// (zero features would read as a real track in C minor).
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error { _, err := tx.DeleteTrack("t07"); return err })
	if err != nil {
		t.Fatal(err)
	}
	w = do(t, h, "GET", "/users/alice/history", "")
	if want := `{"track_id":"t07","action":"play"}`; w.Code != 200 || !strings.Contains(w.Body.String(), want) {
		t.Errorf("history after t07's deletion = %d %s, want %s among the interactions", w.Code, w.Body, want)
	}
}

// Bad input never gets a 500: whatever the body, POST /recommend answers
// 200, 400, 404 or 413, always as JSON.
func FuzzPostRecommend(f *testing.F) {
	for _, s := range []string{
		`{"positive":["a"]}`, `{"positive":["a"],"negative":["t01",{"track":"t02","weight":2}],"strategy":"best_score","k":1000}`,
		`{"positive":[{"vector":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}`,
		`{"positive":[{"vector":[1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38]}],"negative":[{"vector":[-1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38]}]}`,
		`{"positive":[{"features":` + fullFeatures() + `,"weight":1e308}],"exclude":["a"],"exclude_artist":true,"dedupe":false}`,
		`{"positive":[{"track":"a","weight":0}],"negative":[{"track":"a","weight":1e-300}]}`,
		`{"positive":["a","a","a"],"negative":["a"]}`, `null`, `{}`, `[]`, `"x"`, `{"positive":null}`, `{"positive":[[]]}`,
		`{"positive":[{"features":{"key":-1}}]}`, `{"positive":["spotify:track:` + spotifyOfT22 + `"],"strategy":""}`,
	} {
		f.Add(s)
	}
	h := server.New(userEngine(f), nil)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzPost(t, h, "/recommend", body, new(server.RecommendResponse))
	})
}

// Given an empty user id, when GET /users//history or /users//recommend,
// expect a 400 saying the id is empty, not that it is badly escaped.
func TestEmptyUserID(t *testing.T) {
	h := server.New(userEngine(t), nil)
	for _, target := range []string{"/users//history", "/users//recommend?k=3"} {
		w := do(t, h, "GET", target, "")
		if w.Code != 400 {
			t.Fatalf("GET %s = %d %s, want 400", target, w.Code, w.Body)
		}
		checkError(t, w, "user id in the path is empty")
		if strings.Contains(w.Body.String(), "escape") {
			t.Errorf("GET %s = %s: an empty id is no bad escape", target, w.Body)
		}
	}
}

// Given user ids holding "%" and "/", when their path segments are
// escaped once, expect each id unescaped exactly once, as a track's is.
func TestUserIDDecodedOnce(t *testing.T) {
	eng := newEngine(t, ready)
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for _, user := range []string{"a%41", "aA", "50%off", "a/b"} {
			if _, err := tx.PutInteraction(&soundalike.Interaction{User: user, Track: "a", Action: soundalike.ActionLike}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(eng, nil)
	for _, c := range []struct{ target, user string }{
		{"/users/a%2541/history", "a%41"},
		{"/users/50%25off/history", "50%off"},
		{"/users/a%2Fb/history", "a/b"},
		{"/users/aA/history", "aA"},
	} {
		w := do(t, h, "GET", c.target, "")
		var r struct{ User string }
		if err := json.Unmarshal(w.Body.Bytes(), &r); w.Code != 200 || err != nil || r.User != c.user {
			t.Errorf("GET %s = %d %s, want 200 for user %q", c.target, w.Code, w.Body, c.user)
		}
	}
	for _, target := range []string{"/users/50%25off/recommend", "/users/a%2541/recommend", "/users/a%2Fb/recommend"} {
		if w := do(t, h, "GET", target, ""); w.Code != 200 {
			t.Errorf("GET %s = %d %s, want 200", target, w.Code, w.Body)
		}
	}
}

// Given a badly escaped query parameter, when GET /users/…, expect a 400
// naming it, as GET /similar answers, not the parameter ignored.
func TestUserQueryEscapes(t *testing.T) {
	h := server.New(userEngine(t), nil)
	for _, c := range []struct{ target, param string }{
		{"/users/alice/recommend?k=%ZZ", `"k"`},
		{"/users/alice/recommend?exclude=%ZZ", `"exclude"`},
		{"/users/alice/recommend?%ZZ=1", `"%ZZ"`},
		{"/users/alice/history?limit=%ZZ", `"limit"`},
	} {
		w := do(t, h, "GET", c.target, "")
		if w.Code != 400 {
			t.Errorf("GET %s = %d %s, want 400", c.target, w.Code, w.Body)
			continue
		}
		checkError(t, w, c.param, "badly escaped", "%25")
	}
}

// Given a server that has loaded its snapshot, when another process
// writes the database (an import, train or reindex holds its lock), expect
// GET /users/… to answer 200 with the same bodies as before: histories
// are served from memory, like every query. Given a server that has not
// loaded yet, expect 503 with Retry-After, as the OpenAPI document says,
// without the file's path or the holder's pid; and answers once the lock
// is released.
func TestUserEndpointsWhileTheDatabaseIsWritten(t *testing.T) {
	path := userEngine(t).Path()
	// A Detached engine loads at Open; a default one at its first query.
	open := func(detached bool) *server.Server {
		served, err := soundalike.Open(path, &soundalike.Options{Detached: detached, LockTimeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { served.Close() })
		return server.New(served, nil)
	}
	targets := []string{"/users/alice/history", "/users/alice/recommend"}
	// The bodies compared, without the time each took.
	body := func(w *httptest.ResponseRecorder) string {
		return regexp.MustCompile(`"took_us":[0-9]+`).ReplaceAllString(w.Body.String(), "")
	}
	loaded := open(true)
	before := map[string]string{}
	for _, target := range targets {
		w := do(t, loaded, "GET", target, "")
		if w.Code != 200 {
			t.Fatalf("GET %s = %d %s, want 200", target, w.Code, w.Body)
		}
		before[target] = body(w)
	}
	notLoaded := open(false)
	router, err := legacy.NewRouter(openAPIDoc(t))
	if err != nil {
		t.Fatal(err)
	}

	holder, err := storage.Open(path, &storage.Options{Command: "soundalike reindex"})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range targets {
		if w := do(t, loaded, "GET", target, ""); w.Code != 200 || body(w) != before[target] {
			t.Errorf("GET %s while the database is written = %d %s, want 200 %s", target, w.Code, w.Body, before[target])
		}
		w := do(t, notLoaded, "GET", target, "")
		if w.Code != 503 {
			t.Errorf("GET %s of a server that has not loaded, while the database is written = %d %s, want 503", target, w.Code, w.Body)
			continue
		}
		if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("GET %s: Retry-After %q, want whole seconds", target, w.Header().Get("Retry-After"))
		}
		checkError(t, w, "the database is being rewritten by another process", "retry")
		checkAPICase(t, router, notLoaded, apiCase{method: "GET", target: target, want: 503})
		for _, secret := range []string{filepath.Base(path), "pid", strconv.Itoa(os.Getpid())} {
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("GET %s = %s, want no %q in it", target, w.Body, secret)
			}
		}
	}
	holder.Close()
	for _, target := range targets {
		if w := do(t, notLoaded, "GET", target, ""); w.Code != 200 || body(w) != before[target] {
			t.Errorf("GET %s once the lock is released = %d %s, want 200 %s", target, w.Code, w.Body, before[target])
		}
	}
}

// Given a query nothing matches, when any endpoint answering results
// searches, expect "results": [], as the OpenAPI document types it, never
// null.
func TestEmptyResultsAreArrays(t *testing.T) {
	h := server.New(userEngine(t), nil)
	for _, c := range []struct{ method, target, body string }{
		{"GET", "/similar?track=a&year_max=1900", ""},
		{"POST", "/similar", `{"tracks":["a"],"filter":{"year_max":1900}}`},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"],"filter":{"year_max":1900}},{"vector":` + vector16 + `,"filter":{"year_max":1900}}]}`},
		{"POST", "/recommend", `{"positive":["a"],"filter":{"year_max":1900}}`},
		{"GET", "/users/alice/recommend?year_max=1900", ""},
		{"GET", "/tracks?q=nothing+like+this", ""},
	} {
		w := do(t, h, c.method, c.target, c.body)
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(body, `"results":[]`) || strings.Contains(body, "null") {
			t.Errorf("%s %s %s = %d %s, want 200 with \"results\":[]", c.method, c.target, c.body, w.Code, body)
		}
	}
}
