package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// The search parameters reach the engine: given a GET or POST /similar
// with filters, paging and fields, when it is served, expect the results
// the engine's own search gives, rendered with the fields asked for.
func TestSimilarSearchParameters(t *testing.T) {
	eng := newEngine(t, ready)
	h := server.New(eng, nil)
	all := decodeSimilar(t, do(t, h, "GET", "/similar?track=a&k=20", "").Body.Bytes())
	if len(all.Results) < 12 {
		t.Fatalf("GET /similar?track=a&k=20: %d results", len(all.Results))
	}
	for _, tc := range []struct {
		name, method, target, body string
		want                       []string
	}{
		{"given offset, expect the later results", "GET", "/similar?track=a&k=5&offset=5", "", ids(all)[5:10]},
		{"given offset in a body, expect the same", "POST", "/similar", `{"tracks":["a"],"k":5,"offset":5}`, ids(all)[5:10]},
		{"given a threshold, expect the results above it", "GET", fmt.Sprintf("/similar?track=a&k=20&score_threshold=%v", all.Results[7].Score), "", ids(all)[:8]},
		{"given popularities above the catalogue's, expect none", "GET", "/similar?track=a&popularity_min=51", "", nil},
		{"given the catalogue's genre, expect all", "GET", "/similar?track=a&k=20&genre=POP&year_min=2019&year_max=2019&popularity_min=50&popularity_max=50", "", ids(all)},
		{"given years before the catalogue's, expect none", "GET", "/similar?track=a&year_max=2000", "", nil},
		{"given a filter body, expect its matches", "POST", "/similar", `{"tracks":["a"],"k":20,"filter":{"genres":["pop"],"ids":["t01","t02","x1"],"exclude_artists":["artist x"]}}`, nil},
		{"given max_per_artist 1, expect one track of Artist X", "GET", "/similar?track=t05&k=20&max_per_artist=1&dedupe=false", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, h, tc.method, tc.target, tc.body)
			if w.Code != 200 {
				t.Fatalf("%s %s %s = %d %s", tc.method, tc.target, tc.body, w.Code, w.Body)
			}
			got := decodeSimilar(t, w.Body.Bytes())
			switch {
			case strings.Contains(tc.body, "filter"):
				if g := ids(got); len(g) != 2 || !slices.Contains(g, "t01") || !slices.Contains(g, "t02") {
					t.Errorf("results %v, want t01 and t02", g)
				}
			case strings.Contains(tc.target, "max_per_artist"):
				n := 0
				for _, r := range got.Results {
					if slices.Contains(r.Artists, "Artist X") {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d results by Artist X in %v, want 1", n, ids(got))
				}
			default:
				if !slices.Equal(ids(got), tc.want) {
					t.Errorf("results %v, want %v", ids(got), tc.want)
				}
			}
		})
	}
}

// Given fields, expect the metadata and features beside each result;
// without, expect exactly the four fields of before.
func TestSimilarFields(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	for _, tc := range []struct {
		target string
		body   string
		want   []string
	}{
		{"/similar?track=a&k=3", "", []string{"artists", "name", "score", "track_id"}},
		{"/similar?track=a&k=3&fields=metadata", "", []string{"album", "artists", "genres", "name", "popularity", "release_date", "score", "track_id"}},
		{"/similar?track=a&k=3&fields=features", "", []string{"artists", "features", "name", "score", "track_id"}},
		{"/similar?track=a&k=3&fields=metadata,features", "", []string{"album", "artists", "features", "genres", "name", "popularity", "release_date", "score", "track_id"}},
		{"/similar", `{"tracks":["a"],"k":3,"fields":["features","metadata"]}`, []string{"album", "artists", "features", "genres", "name", "popularity", "release_date", "score", "track_id"}},
	} {
		method := "GET"
		if tc.body != "" {
			method = "POST"
		}
		w := do(t, h, method, tc.target, tc.body)
		if w.Code != 200 {
			t.Fatalf("%s %s = %d %s", method, tc.target, w.Code, w.Body)
		}
		var resp struct{ Results []map[string]json.RawMessage }
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || len(resp.Results) != 3 {
			t.Fatalf("%s %s: %s (%v)", method, tc.target, w.Body, err)
		}
		for _, r := range resp.Results {
			var keys []string
			for k := range r {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tc.want) {
				t.Errorf("%s %s %s: result fields %v, want %v", method, tc.target, tc.body, keys, tc.want)
			}
			if f, ok := r["features"]; ok && !strings.Contains(string(f), `"danceability":0.7`) {
				t.Errorf("features = %s, want the track's", f)
			}
			if g, ok := r["genres"]; ok && string(g) != `["pop"]` {
				t.Errorf("genres = %s, want [\"pop\"]", g)
			}
		}
	}
}

// Every bad value gets a 400 naming the parameter and the accepted range.
func TestSimilarSearchParametersRefused(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	for _, tc := range []struct {
		target, body string
		want         []string
	}{
		{"/similar?track=a&offset=-1", "", []string{"offset", "0..999"}},
		{"/similar?track=a&offset=x", "", []string{"offset", "not a whole number"}},
		{"/similar?track=a&k=10&offset=995", "", []string{"offset: 995 with k 10 asks for results 996 to 1005: want offset + k ≤ 1000"}},
		{"/similar?track=a&score_threshold=2", "", []string{"score_threshold", "-1..1"}},
		{"/similar?track=a&score_threshold=NaN", "", []string{"score_threshold", "not a number"}},
		{"/similar?track=a&diversity=1.01", "", []string{"diversity", "0..1"}},
		{"/similar?track=a&max_per_artist=-1", "", []string{"max_per_artist", "0..1000"}},
		{"/similar?track=a&year_min=0", "", []string{"year_min", "1..9999"}},
		{"/similar?track=a&year_min=2020&year_max=2010", "", []string{"year_min: 2020 is above year_max 2010: want year_min ≤ year_max"}},
		{"/similar?track=a&popularity_max=101", "", []string{"popularity_max", "0..100"}},
		{"/similar?track=a&popularity_min=60&popularity_max=50", "", []string{"popularity_min", "popularity_max"}},
		{"/similar?track=a&fields=lyrics", "", []string{"fields", `"lyrics"`, "metadata, features"}},
		{"/similar?track=a&offset=1&offset=2", "", []string{"offset is given 2 times"}},
		{"/similar", `{"tracks":["a"],"offset":-3}`, []string{"offset", "0..999"}},
		{"/similar", `{"tracks":["a"],"k":900,"offset":200}`, []string{"offset: 200 with k 900 asks for results 201 to 1100: want offset + k ≤ 1000"}},
		{"/similar", `{"tracks":["a"],"diversity":-1}`, []string{"diversity", "0..1"}},
		{"/similar", `{"tracks":["a"],"score_threshold":1.5}`, []string{"score_threshold", "-1..1"}},
		{"/similar", `{"tracks":["a"],"max_per_artist":-2}`, []string{"max_per_artist"}},
		{"/similar", `{"tracks":["a"],"fields":["all"]}`, []string{"fields", "metadata, features"}},
		{"/similar", `{"tracks":["a"],"filter":{"year_max":100000}}`, []string{"filter.year_max", "1..9999"}},
		{"/similar", `{"tracks":["a"],"filter":{"popularity_min":90,"popularity_max":10}}`, []string{"filter.popularity_min: 90 is above filter.popularity_max 10: want filter.popularity_min ≤ filter.popularity_max"}},
		{"/similar", `{"tracks":["a"],"filter":{"ids":["a\u0000b"]}}`, []string{"filter.ids[0]"}},
		{"/similar", `{"tracks":["a"],"filter":{"decade":1990}}`, []string{"unknown field", "decade"}},
		{"/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"]},{"tracks":["a"]},{"tracks":["a"],"k":0}]}`, []string{"queries[3].k", "1..1000"}},
		{"/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"],"filter":{"year_min":-5}}]}`, []string{"queries[1].filter.year_min"}},
		{"/similar/batch", `{"queries":[{"tracks":["a"],"offset":999}]}`, []string{"queries[0].offset: 999 with queries[0].k 20", "queries[0].offset + queries[0].k ≤ 1000"}},
		{"/similar/batch", `{"queries":[{"nope":1}]}`, []string{"queries[0]", "unknown field"}},
		{"/similar/batch", `{"queries":[]}`, []string{"queries", "1..100"}},
		{"/similar/batch", `{}`, []string{"queries", "missing"}},
		{"/similar/batch", `{"queries":[` + strings.Repeat(`{"tracks":["a"]},`, 100) + `{"tracks":["a"]}]}`, []string{"101 queries", "1..100"}},
	} {
		method := "GET"
		if tc.body != "" {
			method = "POST"
		}
		w := do(t, h, method, tc.target, tc.body)
		if w.Code != 400 {
			t.Errorf("%s %s %.80s = %d %s, want 400", method, tc.target, tc.body, w.Code, w.Body)
			continue
		}
		checkError(t, w, tc.want...)
	}
	// An unknown track in a batch is a 404 in its query's slot, naming
	// the query.
	w := do(t, h, "POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["nope"]}]}`)
	if status, msg := failedSlot(t, w, 2); status != 404 || !strings.HasPrefix(msg, "queries[1].tracks[0]: ") {
		t.Errorf("batch with an unknown track: slot %d %q, want 404 naming queries[1].tracks[0]", status, msg)
	}
}

// Given a whole-number parameter that is no number, or one of more digits
// than any int holds, expect every endpoint to answer in one form, naming
// the parameter and its range: "name: "x" is not a whole number: want
// lo..hi", "name: "999…" is outside lo..hi" (not "not a whole
// number", as overflowing digits are one).
func TestWholeNumberParameters(t *testing.T) {
	h := server.New(userEngine(t), nil)
	const huge = "99999999999999999999999"
	for _, c := range []struct{ target, want string }{
		{"/similar?track=a&k=" + huge, `k: "` + huge + `" is outside 1..1000`},
		{"/similar?track=a&k=-" + huge, `k: "-` + huge + `" is outside 1..1000`},
		{"/similar?track=a&k=ten", `k: "ten" is not a whole number: want 1..1000`},
		{"/similar?track=a&offset=" + huge, `offset: "` + huge + `" is outside 0..999`},
		{"/similar?track=a&year_min=" + huge, `year_min: "` + huge + `" is outside 1..9999`},
		{"/similar?track=a&score_threshold=1e400", `score_threshold: "1e400" is outside -1..1`},
		{"/tracks?q=a&k=" + huge, `k: "` + huge + `" is outside 1..100`},
		{"/tracks?q=a&k=ten", `k: "ten" is not a whole number: want 1..100`},
		{"/users/alice/recommend?k=" + huge, `k: "` + huge + `" is outside 1..1000`},
		{"/users/alice/recommend?k=x", `k: "x" is not a whole number: want 1..1000`},
		{"/users/alice/history?limit=" + huge, `limit: "` + huge + `" is outside 1..1000`},
		{"/map?sample=abc", `sample: "abc" is not a whole number: want 0..200000`},
		{"/map?sample=" + huge, `sample: "` + huge + `" is outside 0..200000`},
		{"/map?sample=200001", `sample: 200001 is outside 0..200000`},
	} {
		w := do(t, h, "GET", c.target, "")
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || e.Error != c.want {
			t.Errorf("GET %s = %d %s, want 400 %q", c.target, w.Code, w.Body, c.want)
		}
	}
}

// Given a value the engine's own checks would refuse as "invalid query:
// …" (bounds the wrong way round, offset + k past MaxK, an unknown
// strategy, a vector of zeros or too short to normalise), expect the 400
// to begin with the parameter or field as the request spelled it, as every
// other parameter's does, and to say nothing of "invalid query".
func TestErrorsNameTheParameter(t *testing.T) {
	h := server.New(userEngine(t), nil)
	zeros := "[" + strings.TrimSuffix(strings.Repeat("0,", modelDim), ",") + "]"
	for _, c := range []struct{ method, target, body, prefix string }{
		{"GET", "/similar?track=a&year_min=2020&year_max=2010", "", "year_min: 2020 is above year_max 2010"},
		{"GET", "/similar?track=a&popularity_min=60&popularity_max=50", "", "popularity_min: 60 is above popularity_max 50"},
		{"GET", "/users/alice/recommend?year_min=2020&year_max=2010", "", "year_min: "},
		{"POST", "/similar", `{"tracks":["a"],"filter":{"year_min":2020,"year_max":2010}}`, "filter.year_min: 2020 is above filter.year_max 2010"},
		{"POST", "/recommend", `{"positive":["a"],"filter":{"popularity_min":9,"popularity_max":1}}`, "filter.popularity_min: "},
		{"GET", "/similar?track=a&offset=999&k=10", "", "offset: 999 with k 10"},
		{"GET", "/users/alice/recommend?offset=990&k=20", "", "offset: 990 with k 20"},
		{"POST", "/similar", `{"tracks":["a"],"offset":999,"k":10}`, "offset: 999 with k 10"},
		{"POST", "/recommend", `{"positive":["a"],"offset":999}`, "offset: 999 with k 20"},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"],"offset":999}]}`, "queries[1].offset: 999 with queries[1].k 20"},
		{"GET", "/users/alice/recommend?strategy=foo", "", `strategy: "foo" is not a strategy: want "average" or "best_score"`},
		{"POST", "/recommend", `{"positive":["a"],"strategy":"foo"}`, `strategy: "foo" is not a strategy`},
		{"POST", "/similar", `{"vector":` + zeros + `}`, "vector: all zeros"},
		{"POST", "/similar", `{"vector":` + tinyVector + `}`, "vector: its length"},
		{"POST", "/similar/batch", `{"queries":[{"vector":` + zeros + `}]}`, "queries[0].vector: all zeros"},
		{"POST", "/recommend", `{"positive":["a",{"vector":` + zeros + `}]}`, "positive[1].vector: all zeros"},
		{"POST", "/recommend", `{"positive":["a"],"negative":[{"vector":` + tinyVector + `}]}`, "negative[0].vector: its length"},
		{"POST", "/recommend", `{"positive":[{"vector":[]}]}`, "positive[0].vector: empty"},
		{"POST", "/recommend", `{"positive":[{"track":"a","vector":[]}]}`, "positive[0].vector: empty"},
		{"POST", "/similar", `{"tracks":["a"],"vector":[]}`, "vector: empty"},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"],"vector":[]}]}`, "queries[0].vector: empty"},
		{"POST", "/similar", `{"tracks":[]}`, "tracks: empty: give 1..100 track references"},
		{"POST", "/similar", `{"tracks":[],"vector":[]}`, "tracks: empty: give 1..100 track references"},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":[]}]}`, "queries[1].tracks: empty: give 1..100"},
		{"POST", "/similar", `{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"duration_ms":3000000000}}`, "features.duration_ms: 3000000000 is outside"},
		{"POST", "/recommend", `{"positive":[{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"duration_ms":3000000000}}]}`, "positive[0].features.duration_ms: 3000000000 is outside"},
		{"POST", "/similar/batch", `{"queries":[{"features":` + strings.TrimSuffix(fullFeatures(), "}") + `,"name":"a\u0000b"}}]}`, "queries[0].features.name"},
		{"POST", "/similar", `{"tracks":["a"],"filter":{"genres":["pop",""]}}`, "filter.genres[1]: empty"},
		{"POST", "/recommend", `{"positive":["a"],"filter":{"artists":[""]}}`, "filter.artists[0]: empty"},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"],"filter":{"exclude_artists":["X",""]}}]}`, "queries[0].filter.exclude_artists[1]: empty"},
	} {
		w := do(t, h, c.method, c.target, c.body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || !strings.HasPrefix(e.Error, c.prefix) || strings.Contains(e.Error, "invalid query") {
			t.Errorf("%s %s %.60s = %d %s, want 400 beginning %q", c.method, c.target, c.body, w.Code, w.Body, c.prefix)
		}
	}
}

// Given several bad search values at once, expect one 400 naming every
// one as the request spells it (a GET's parameter, a POST body's field),
// each saying what is accepted, in the library's order: the server
// renames the library's check (soundalike.CheckSearch) and has none of
// its own.
func TestErrorsNameEveryBadOption(t *testing.T) {
	h := server.New(userEngine(t), nil)
	for _, c := range []struct{ method, target, body, want string }{
		{"GET", "/similar?track=a&k=0&diversity=2&offset=-1&max_per_artist=1001&score_threshold=-2&year_min=2020&year_max=2010&popularity_max=101", "",
			"k: 0 is outside 1..1000; diversity: 2 is outside 0..1; offset: -1 is outside 0..999; max_per_artist: 1001 is outside 0..1000 (0: no cap); " +
				"score_threshold: -2 is outside -1..1; year_min: 2020 is above year_max 2010: want year_min ≤ year_max; popularity_max: 101 is outside 0..100"},
		{"GET", "/users/alice/recommend?offset=995&k=10&popularity_min=-1", "",
			"offset: 995 with k 10 asks for results 996 to 1005: want offset + k ≤ 1000; popularity_min: -1 is outside 0..100"},
		{"POST", "/similar", `{"tracks":["a"],"k":10,"offset":995,"filter":{"year_min":0,"year_max":1,"genres":[""],"exclude_artists":["x",""]}}`,
			"offset: 995 with k 10 asks for results 996 to 1005: want offset + k ≤ 1000; filter.year_min: 0 is outside 1..9999; " +
				"filter.genres[0]: empty: name one, or leave it out; filter.exclude_artists[1]: empty: name one, or leave it out"},
		{"POST", "/recommend", `{"positive":["a"],"k":1001,"filter":{"popularity_min":9,"popularity_max":1}}`,
			"k: 1001 is outside 1..1000; filter.popularity_min: 9 is above filter.popularity_max 1: want filter.popularity_min ≤ filter.popularity_max"},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"],"diversity":-1,"filter":{"artists":[""]}}]}`,
			"queries[1].diversity: -1 is outside 0..1; queries[1].filter.artists[0]: empty: name one, or leave it out"},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"],"filter":{"year_min":2020,"year_max":2010}}]}`,
			"queries[0].filter.year_min: 2020 is above queries[0].filter.year_max 2010: want queries[0].filter.year_min ≤ queries[0].filter.year_max"},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"],"k":10,"offset":995}]}`,
			"queries[1].offset: 995 with queries[1].k 10 asks for results 996 to 1005: want queries[1].offset + queries[1].k ≤ 1000"},
	} {
		w := do(t, h, c.method, c.target, c.body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || e.Error != c.want {
			t.Errorf("%s %s %s = %d %s, want 400 %q", c.method, c.target, c.body, w.Code, w.Body, c.want)
		}
	}
}

// Given a filter genre no track of the catalogue has, which only the
// engine can judge once it has the catalogue, expect a 400 naming each
// such genre as the request gave it (a GET's genre[i], a body's
// filter.genres[i], at a batch's query, in its slot), as the refusals of
// the search's other values do, and listing the catalogue's genres; not
// "no results".
func TestUnknownGenreNamesTheParameter(t *testing.T) {
	h := server.New(userEngine(t), nil)
	const noNope = `no track has genre "nope": want one of "pop" (matched case-insensitively)`
	for _, c := range []struct{ method, target, body, want string }{
		{"GET", "/similar?track=a&genre=nope", "", "genre[0]: " + noNope},
		{"GET", "/similar?track=a&genre=pop&genre=nope", "", "genre[1]: " + noNope},
		{"GET", "/similar?track=a&genre=nope,POP,polka", "", `genre[0]: no track has genre "nope"` +
			`; genre[2]: no track has genre "polka": want one of "pop" (matched case-insensitively)`},
		{"GET", "/users/alice/recommend?genre=nope", "", "genre[0]: " + noNope},
		{"POST", "/similar", `{"tracks":["a"],"filter":{"genres":["pop","nope"]}}`, "filter.genres[1]: " + noNope},
		{"POST", "/similar", `{"vector":` + vector16 + `,"filter":{"genres":["nope"]}}`, "filter.genres[0]: " + noNope},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"],"filter":{"genres":["pop"]}},{"tracks":["a"],"filter":{"genres":["nope"]}}]}`,
			"queries[1].filter.genres[0]: " + noNope},
		{"POST", "/recommend", `{"positive":["a"],"filter":{"genres":["nope"]}}`, "filter.genres[0]: " + noNope},
	} {
		w := do(t, h, c.method, c.target, c.body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		status := w.Code
		if c.target == "/similar/batch" { // the query's slot of a 200
			status, e.Error = failedSlot(t, w, 2)
		}
		if status != 400 || e.Error != c.want {
			t.Errorf("%s %s %s = %d %s, want 400 %q", c.method, c.target, c.body, status, w.Body, c.want)
		}
	}
}

// wrapping passes every search on to a real engine and hands back the
// engine's error as wrap makes it, as a Searcher that shards or retries
// might.
type wrapping struct {
	*soundalike.Engine
	wrap func(error) error
}

var _ server.Searcher = wrapping{}

func (w wrapping) Similar(ctx context.Context, id soundalike.TrackID, k int, opts *soundalike.SearchOptions) (soundalike.Results, error) {
	res, err := w.Engine.Similar(ctx, id, k, opts)
	if err != nil {
		err = w.wrap(err)
	}
	return res, err
}

func (w wrapping) SimilarTo(ctx context.Context, q soundalike.Query, k int, opts *soundalike.SearchOptions) (soundalike.Results, error) {
	res, err := w.Engine.SimilarTo(ctx, q, k, opts)
	if err != nil {
		err = w.wrap(err)
	}
	return res, err
}

func (w wrapping) Recommend(ctx context.Context, q soundalike.RecommendQuery) (soundalike.Results, error) {
	res, err := w.Engine.Recommend(ctx, q)
	if err != nil {
		err = w.wrap(err)
	}
	return res, err
}

// Given a Searcher that wraps the engine's refusal of a filter genre no
// track has, or joins it with an error of its own, expect the genre still
// named as the request gave it (genre[0], filter.genres[0], at a batch's
// query, in its slot), not by the engine's Go name, with the Searcher's
// own words kept and the status the whole error has.
func TestWrappedOptionErrorNamesTheParameter(t *testing.T) {
	eng := userEngine(t)
	const noNope = `no track has genre "nope": want one of "pop" (matched case-insensitively)`
	wrapped := wrapping{eng, func(err error) error { return fmt.Errorf("shard 2: %w", err) }}
	nested := wrapping{eng, func(err error) error {
		return fmt.Errorf("shard 2: %w", errors.Join(err, errors.New("shard 3: no answer")))
	}}
	joinedWith := func(other error) wrapping {
		return wrapping{eng, func(err error) error { return errors.Join(err, other) }}
	}
	missing := fmt.Errorf("replica b: track zz: %w", soundalike.ErrNotFound)
	for _, c := range []struct {
		s                    server.Searcher
		method, target, body string
		status               int
		want                 string
	}{
		{wrapped, "GET", "/similar?track=a&genre=nope", "", 400, "shard 2: genre[0]: " + noNope},
		{nested, "GET", "/similar?track=a&genre=nope", "", 400, "shard 2: genre[0]: " + noNope + "; shard 3: no answer"},
		{wrapped, "GET", "/users/alice/recommend?genre=nope", "", 400, "shard 2: genre[0]: " + noNope},
		{wrapped, "POST", "/similar", `{"tracks":["a"],"filter":{"genres":["nope"]}}`, 400, "shard 2: filter.genres[0]: " + noNope},
		{wrapped, "POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"],"filter":{"genres":["nope"]}}]}`, 400,
			"shard 2: queries[1].filter.genres[0]: " + noNope},
		{wrapped, "POST", "/recommend", `{"positive":["a"],"filter":{"genres":["nope"]}}`, 400, "shard 2: filter.genres[0]: " + noNope},
		{joinedWith(errors.New("replica b: no answer")), "GET", "/similar?track=a&genre=nope", "", 400,
			"genre[0]: " + noNope + "; replica b: no answer"},
		{joinedWith(errors.New("replica b: no answer")), "POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"],"filter":{"genres":["nope"]}}]}`, 400,
			"queries[1].filter.genres[0]: " + noNope + "; queries[1]: replica b: no answer"},
		{joinedWith(missing), "POST", "/similar", `{"tracks":["a"],"filter":{"genres":["nope"]}}`, 404,
			"filter.genres[0]: " + noNope + "; " + missing.Error()},
	} {
		w := do(t, server.New(c.s, nil), c.method, c.target, c.body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		status := w.Code
		if c.target == "/similar/batch" { // the query's slot of a 200
			status, e.Error = failedSlot(t, w, 2)
		}
		if status != c.status || e.Error != c.want {
			t.Errorf("%s %s %s = %d %s, want %d %q", c.method, c.target, c.body, status, w.Body, c.status, c.want)
		}
	}
}

// Given an empty vector ("vector": []) in POST /similar, a batch's query
// or a /recommend example, expect a 400 naming the field and saying what
// would be accepted: a vector of the served model's dimension, as a
// number; without a model to tell it, where GET /model gives it.
func TestEmptyVectorStatesTheDimension(t *testing.T) {
	want := fmt.Sprintf("vector: empty: give a vector of %d numbers (the model's dimension)", modelDim)
	for _, c := range []struct {
		stage              int
		target, body, want string
	}{
		{ready, "/similar", `{"vector":[]}`, want},
		{ready, "/similar", `{"tracks":["a"],"vector":[]}`, want},
		{ready, "/similar/batch", `{"queries":[{"tracks":["a"]},{"vector":[]}]}`, "queries[1]." + want},
		{ready, "/recommend", `{"positive":["a",{"vector":[]}]}`, "positive[1]." + want},
		{noModel, "/similar", `{"vector":[]}`, "vector: empty: give a vector of the model's dimension (GET /model's dim)"},
	} {
		h := server.New(newEngine(t, c.stage), nil)
		w := do(t, h, "POST", c.target, c.body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || e.Error != c.want {
			t.Errorf("POST %s %s = %d %s, want 400 %q", c.target, c.body, w.Code, w.Body, c.want)
		}
	}
}

// Given a POST /similar whose seed reference no stored id could be,
// expect the 400 naming it (tracks[1]) before the engine runs the query,
// as a batch's query gets it and as exclude's references get theirs.
func TestSimilarChecksSeedsFirst(t *testing.T) {
	var ran atomic.Int64
	h := server.New(&hooked{Engine: newEngine(t, ready), hook: func(soundalike.Query) error { ran.Add(1); return nil }}, nil)
	for _, body := range []string{`{"tracks":["a",""]}`, `{"tracks":["a","t05\u0000"]}`} {
		ran.Store(0)
		w := do(t, h, "POST", "/similar", body)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || !strings.HasPrefix(e.Error, "tracks[1]: ") {
			t.Errorf("POST /similar %s = %d %s, want 400 beginning %q", body, w.Code, w.Body, "tracks[1]: ")
		}
		if n := ran.Load(); n != 0 {
			t.Errorf("POST /similar %s: the engine ran %d queries, want none", body, n)
		}
	}
}

// Given a batch, expect each query's answer, in order, as its own POST
// /similar would give.
func TestSimilarBatch(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	queries := []string{
		`{"tracks":["a"],"k":3}`,
		`{"tracks":["t05"],"k":4,"offset":2,"fields":["metadata"]}`,
		`{"features":` + fullFeatures() + `,"k":2}`,
		`{"tracks":["x1"],"k":5,"filter":{"genres":["pop"]},"diversity":0.5}`,
	}
	w := do(t, h, "POST", "/similar/batch", `{"queries":[`+strings.Join(queries, ",")+`]}`)
	if w.Code != 200 {
		t.Fatalf("POST /similar/batch = %d %s", w.Code, w.Body)
	}
	got := decodeBatch(t, w, len(queries))
	for i, q := range queries {
		one := do(t, h, "POST", "/similar", q)
		if one.Code != 200 {
			t.Fatalf("POST /similar %s = %d %s", q, one.Code, one.Body)
		}
		if got[i].SimilarResponse == nil {
			t.Fatalf("batch result %d = %+v, want the answer POST /similar gives", i, got[i])
		}
		a, b := *got[i].SimilarResponse, decodeSimilar(t, one.Body.Bytes())
		a.TookUS, b.TookUS = 0, 0
		if !slices.Equal(ids(a), ids(b)) || (a.Track == nil) != (b.Track == nil) || len(a.Results) == 0 {
			t.Errorf("batch result %d = %v, want %v as POST /similar gives", i, ids(a), ids(b))
		}
		for j := range a.Results {
			if (a.Results[j].ResultMetadata == nil) != (i != 1) {
				t.Errorf("batch result %d: metadata %v, want it only where fields asks", i, a.Results[j].ResultMetadata)
			}
		}
	}
}

// Given a batch of three whose second query's seed track was deleted
// since the client took its id, when POST /similar/batch, expect a 200
// whose answers 1 and 3 are the ones POST /similar gives them, and whose
// slot 2 holds the 404 POST /similar gives query 2 alone, its field named
// at the query ({"error":"queries[1].tracks[0]: …","status":404}); and
// the access log's failed_queries saying one query failed.
func TestSimilarBatchAnswersAFailedQueryInItsSlot(t *testing.T) {
	eng := newEngine(t, ready)
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		_, err := tx.DeleteTrack("t05")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := server.New(eng, &server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	queries := []string{`{"tracks":["a"],"k":3}`, `{"tracks":["t05"],"k":3}`, `{"tracks":["x1"],"k":4,"fields":["metadata"]}`}
	w := do(t, h, "POST", "/similar/batch", `{"queries":[`+strings.Join(queries, ",")+`]}`)
	got := decodeBatch(t, w, len(queries))
	for i, q := range queries {
		one := do(t, h, "POST", "/similar", q)
		if i == 1 {
			var e struct{ Error string }
			json.Unmarshal(one.Body.Bytes(), &e)
			if one.Code != 404 || e.Error == "" {
				t.Fatalf("POST /similar %s = %d %s, want 404 (its seed was deleted)", q, one.Code, one.Body)
			}
			want := server.BatchResult{Error: "queries[1]." + e.Error, Status: 404}
			if diff := cmp.Diff(want, got[i]); diff != "" {
				t.Errorf("batch result %d differs from POST /similar's 404 at queries[1] (-want +got):\n%s", i, diff)
			}
			continue
		}
		if one.Code != 200 || got[i].SimilarResponse == nil {
			t.Fatalf("POST /similar %s = %d %s, batch result %d = %+v: want both answered", q, one.Code, one.Body, i, got[i])
		}
		a, b := *got[i].SimilarResponse, decodeSimilar(t, one.Body.Bytes())
		a.TookUS, b.TookUS = 0, 0
		if diff := cmp.Diff(b, a); diff != "" || len(a.Results) == 0 {
			t.Errorf("batch result %d differs from POST /similar's answer (-want +got):\n%s", i, diff)
		}
	}
	var rec map[string]any
	for line := range strings.Lines(logs.String()) {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == "request" && r["route"] == "/similar/batch" {
			rec = r
		}
	}
	if rec["status"] != 200.0 || rec["failed_queries"] != 1.0 {
		t.Errorf("access log of the batch = %v, want status 200 and failed_queries 1", rec)
	}
	logs.Reset()
	do(t, h, "POST", "/similar/batch", `{"queries":[`+queries[0]+`]}`)
	if strings.Contains(logs.String(), "failed_queries") {
		t.Errorf("access log of a batch with no failed query = %s, want no failed_queries", logs.String())
	}
}

// Given a batch with one query that fails as it runs for a reason of its
// own, expect that query's slot to hold the error and status POST
// /similar gives it alone, at the query's place, and the other queries
// answered: a filter genre no track has and a vector not of the model's
// dimension are 400s only the catalogue and the model can tell.
func TestSimilarBatchFailedQueryStatus(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	for _, c := range []struct{ name, bad string }{
		{"unknown seed", `{"tracks":["a","nope"]}`},
		{"unknown genre", `{"tracks":["a"],"filter":{"genres":["pop","nope"]}}`},
		{"vector of another dimension", `{"vector":[0.5,0.5]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			one := do(t, h, "POST", "/similar", c.bad)
			var e struct{ Error string }
			if json.Unmarshal(one.Body.Bytes(), &e) != nil || one.Code < 400 || one.Code > 499 {
				t.Fatalf("POST /similar %s = %d %s, want a 4xx error", c.bad, one.Code, one.Body)
			}
			w := do(t, h, "POST", "/similar/batch", `{"queries":[{"tracks":["a"]},`+c.bad+`,{"tracks":["x1"]}]}`)
			got := decodeBatch(t, w, 3)
			want := server.BatchResult{Error: "queries[1]." + e.Error, Status: one.Code}
			if diff := cmp.Diff(want, got[1]); diff != "" {
				t.Errorf("batch slot 1 differs from POST /similar's %d at queries[1] (-want +got):\n%s", one.Code, diff)
			}
			if got[0].SimilarResponse == nil || got[2].SimilarResponse == nil {
				t.Errorf("batch results 0 and 2 = %+v, %+v: want both answered", got[0], got[2])
			}
		})
	}
}

// Given a batch with a query that fails for a reason not its own, or a
// malformed one, expect the whole batch to fail, as it did before any
// query's failure was answered in its slot: a malformed query (beside a
// seed not found) is a 400 naming it before any runs; a search that
// finds no index is the 503 of the server's state; a query's own error
// that comes with the request's deadline is the request's end.
func TestSimilarBatchFailsWhole(t *testing.T) {
	var ran atomic.Int64
	var fail func(q soundalike.Query) error
	h := server.New(&hooked{Engine: newEngine(t, ready), hook: func(q soundalike.Query) error {
		ran.Add(1)
		if fail != nil {
			return fail(q)
		}
		return nil
	}}, nil)
	on := func(id soundalike.TrackID, err error) func(soundalike.Query) error {
		return func(q soundalike.Query) error {
			if slices.Contains(q.Tracks, id) {
				return err
			}
			return nil
		}
	}
	for _, c := range []struct {
		name, body string
		fail       func(soundalike.Query) error
		status     int
		want       string // the error's beginning
		runs       int64  // queries run before the batch failed
	}{
		{"malformed", `{"queries":[{"tracks":["a"]},{"tracks":["nope"]},{"tracks":["a"],"k":0}]}`, nil, 400, "queries[2].k: ", 0},
		{"no index", `{"queries":[{"tracks":["a"]},{"tracks":["x1"]},{"tracks":["a"]}]}`,
			on("x1", fmt.Errorf("search: %w", soundalike.ErrNoIndex)), 503, "no index", 2},
		{"deadline with a track not found", `{"queries":[{"tracks":["a"]},{"tracks":["x1"]},{"tracks":["a"]}]}`,
			on("x1", errors.Join(fmt.Errorf("shard 1: track %q: %w", "x1", soundalike.ErrNotFound), fmt.Errorf("shard 2: %w", context.DeadlineExceeded))),
			503, "request timed out", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			ran.Store(0)
			fail = c.fail
			w := do(t, h, "POST", "/similar/batch", c.body)
			var e map[string]any
			json.Unmarshal(w.Body.Bytes(), &e)
			msg, _ := e["error"].(string)
			if w.Code != c.status || len(e) != 1 || !strings.HasPrefix(msg, c.want) {
				t.Errorf("POST /similar/batch %s = %d %s, want %d {\"error\": %q…}", c.body, w.Code, w.Body, c.status, c.want)
			}
			if n := ran.Load(); n != c.runs {
				t.Errorf("POST /similar/batch %s: the engine ran %d queries, want %d", c.body, n, c.runs)
			}
		})
	}
}

// Given a batch whose query 2 is malformed in a way only the engine's
// check sees (a track reference no stored id could be), or that depends on
// two fields (offset + k), when
// POST /similar/batch, expect the 400 that the query gets from POST
// /similar, naming queries[2], before the engine ran any query of the
// batch.
func TestSimilarBatchChecksEveryQueryFirst(t *testing.T) {
	var ran atomic.Int64
	h := server.New(&hooked{Engine: newEngine(t, ready), hook: func(soundalike.Query) error { ran.Add(1); return nil }}, nil)
	good := []string{`{"tracks":["a"]}`, `{"tracks":["t05"],"k":3}`, `{"vector":` + vector16 + `}`}
	batch := func(bad string) string {
		return `{"queries":[` + good[0] + `,` + good[1] + `,` + bad + `,` + good[2] + `]}`
	}
	if w := do(t, h, "POST", "/similar/batch", batch(good[0])); w.Code != 200 || ran.Load() != 4 {
		t.Fatalf("POST /similar/batch of 4 good queries = %d %s, the engine ran %d; want 200 and 4", w.Code, w.Body, ran.Load())
	}
	// want is the batch's error where it names more than the field at
	// its head: each name at queries[2], not only the first.
	for _, tc := range []struct{ bad, prefix, want string }{
		{`{"tracks":["a",""]}`, "queries[2].", ""},
		{`{"tracks":["a","t05\u0000"]}`, "queries[2].", ""},
		{`{"tracks":["a"],"exclude":["t05","b\u0000"]}`, "queries[2].", ""},
		{`{"tracks":["a"],"filter":{"ids":[""]}}`, "queries[2].", ""},
		{`{"tracks":["a"],"k":900,"offset":200}`, "", "queries[2].offset: 200 with queries[2].k 900 asks for results 201 to 1100: want queries[2].offset + queries[2].k ≤ 1000"},
	} {
		one := do(t, h, "POST", "/similar", tc.bad)
		if one.Code != 400 {
			t.Fatalf("POST /similar %s = %d %s, want 400", tc.bad, one.Code, one.Body)
		}
		ran.Store(0)
		w := do(t, h, "POST", "/similar/batch", batch(tc.bad))
		if w.Code != 400 {
			t.Errorf("POST /similar/batch with query 2 %s = %d %s, want 400", tc.bad, w.Code, w.Body)
			continue
		}
		var got, want struct{ Error string }
		if json.Unmarshal(w.Body.Bytes(), &got) != nil || json.Unmarshal(one.Body.Bytes(), &want) != nil {
			t.Fatalf("POST /similar/batch with query 2 %s = %s, POST /similar = %s: want JSON errors", tc.bad, w.Body, one.Body)
		}
		if tc.want != "" {
			if got.Error != tc.want {
				t.Errorf("POST /similar/batch with query 2 %s = %q, want %q", tc.bad, got.Error, tc.want)
			}
		} else if got.Error != tc.prefix+want.Error {
			t.Errorf("POST /similar/batch with query 2 %s = %s, want the error of POST /similar (%s) after %q", tc.bad, w.Body, one.Body, tc.prefix)
		}
		if n := ran.Load(); n != 0 {
			t.Errorf("POST /similar/batch with query 2 %s: the engine ran %d queries before the batch was refused, want none", tc.bad, n)
		}
	}
}

// Bad input never gets a 500: whatever the body, POST /similar/batch
// answers 200, 400, 404 or 413, always as JSON.
func FuzzPostSimilarBatch(f *testing.F) {
	for _, s := range []string{
		`{"queries":[{"tracks":["a"]}]}`,
		`{"queries":[{"tracks":["a"],"filter":{"genres":["pop"],"year_min":2015,"year_max":2020,"popularity_min":50,"popularity_max":100,"artists":["Artist X"],"exclude_artists":["S"],"ids":["a","t01"]},"offset":3,"score_threshold":0.5,"max_per_artist":2,"diversity":0.3,"fields":["metadata","features"]}]}`,
		`{"queries":[{"vector":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"k":1000,"offset":0}]}`,
		`{"queries":[null]}`, `{"queries":[[]]}`, `{"queries":null}`, `{"queries":[{"tracks":["a"],"filter":null}]}`,
		`{"queries":[{"tracks":["a"],"filter":{"year_min":9999,"year_max":1}}]}`,
	} {
		f.Add(s)
	}
	h := server.New(newEngine(f, ready), nil)
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []string{"/similar/batch", "/similar"} {
			if target == "/similar" {
				// The batch's first query, as a POST /similar body.
				var b struct{ Queries []json.RawMessage }
				if json.Unmarshal([]byte(body), &b) != nil || len(b.Queries) == 0 {
					continue
				}
				body = string(b.Queries[0])
			}
			req := httptest.NewRequestWithContext(t.Context(), "POST", target, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			switch w.Code {
			case 200, 400, 404, 413:
				if !json.Valid(w.Body.Bytes()) {
					t.Fatalf("POST %s %q = %d with invalid JSON %s", target, body, w.Code, w.Body)
				}
			default:
				t.Fatalf("POST %s %q = %d %s, want 200, 400, 404 or 413", target, body, w.Code, w.Body)
			}
		}
	})
}

// Given an empty entry in a comma-separated list parameter (a doubled,
// leading or trailing comma, an entry of spaces), on any endpoint that
// takes one, expect a 400 naming the parameter and the entry's index over
// all the parameter's values, as an empty item of a JSON list is named;
// given a parameter whose whole value is blank (a form's empty input),
// expect it to name nothing, as if it were not given.
func TestListParamsRefuseEmptyEntries(t *testing.T) {
	h := server.New(userEngine(t), nil)
	for _, c := range []struct{ target, want string }{
		{"/similar?track=a&exclude=x1,,x2", "exclude[1]: empty entry: exclude takes comma-separated track references (a track id, "},
		{"/similar?track=a&exclude=x1,", "exclude[1]: empty entry"},
		{"/similar?track=a&exclude=,x1", "exclude[0]: empty entry"},
		{"/similar?track=a&exclude=x1,%20,x2", "exclude[1]: empty entry"},
		{"/similar?track=a&exclude=x1&exclude=x2,,x3", "exclude[2]: empty entry"},
		{"/similar?track=a&exclude=&exclude=x1,", "exclude[1]: empty entry"},
		{"/similar?track=a&genre=pop,,rock", "genre[1]: empty entry: genre takes comma-separated genres, none empty"},
		{"/similar?track=a&fields=metadata,", "fields[1]: empty entry: fields takes comma-separated fields (metadata, features), none empty"},
		{"/users/alice/recommend?exclude=x1,,x2", "exclude[1]: empty entry"},
		{"/users/alice/recommend?genre=,pop", "genre[0]: empty entry"},
		{"/users/alice/recommend?fields=features,,metadata", "fields[1]: empty entry"},
		{"/tracks?ids=a,,x1", "ids[1]: empty entry: ids takes comma-separated track references"},
		{"/tracks?ids=a&ids=,", "ids[1]: empty entry"},
		{"/map?sample=1&ids=a,", "ids[1]: empty entry"},
		// A bad entry of fields is named by its index too, in a body as
		// in the query string.
		{"/similar?track=a&fields=metadata,lyrics", `fields[1]: "lyrics" is not a field: accepted are metadata, features`},
		{"/similar?track=a&fields=features&fields=lyrics", `fields[1]: "lyrics" is not a field`},
	} {
		w := do(t, h, "GET", c.target, "")
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || !strings.HasPrefix(e.Error, c.want) {
			t.Errorf("GET %s = %d %s, want 400 beginning %q", c.target, w.Code, w.Body, c.want)
		}
	}
	w := do(t, h, "POST", "/similar", `{"tracks":["a"],"fields":["metadata","lyrics"]}`)
	checkError(t, w, `fields[1]: "lyrics" is not a field`)

	all := do(t, h, "GET", "/similar?track=a&k=20", "").Body.String()
	for _, target := range []string{
		"/similar?track=a&k=20&genre=", "/similar?track=a&k=20&genre=%20",
		"/similar?track=a&k=20&exclude=&fields=", "/similar?track=a&k=20&exclude=&exclude=%20",
	} {
		w := do(t, h, "GET", target, "")
		if w.Code != 200 || ids(decodeSimilar(t, w.Body.Bytes())) == nil ||
			!slices.Equal(ids(decodeSimilar(t, w.Body.Bytes())), ids(decodeSimilar(t, []byte(all)))) {
			t.Errorf("GET %s = %d %.200s, want the answer of GET /similar?track=a&k=20", target, w.Code, w.Body)
		}
	}
	if w := do(t, h, "GET", "/users/alice/recommend?genre=&exclude=&fields=", ""); w.Code != 200 {
		t.Errorf("GET /users/alice/recommend?genre=&exclude=&fields= = %d %s, want 200", w.Code, w.Body)
	}
}

// Given an optional query parameter whose value is blank (empty or
// spaces, as an HTML form sends an input left empty), whatever it takes (a
// number, a boolean, a strategy, a list), expect the answer of the same
// request without it: a blank value is none, for every parameter alike.
func TestBlankParametersAreNotGiven(t *testing.T) {
	h := server.New(userEngine(t), nil)
	blanks := func(names ...string) string {
		var b strings.Builder
		for i, n := range names {
			if i%2 == 0 {
				b.WriteString("&" + n + "=")
			} else {
				b.WriteString("&" + n + "=%20")
			}
		}
		return b.String()
	}
	search := []string{"exclude", "exclude_artist", "dedupe", "offset", "score_threshold", "genre",
		"year_min", "year_max", "popularity_min", "popularity_max", "max_per_artist", "diversity", "fields"}
	for _, c := range []struct{ without, with string }{
		{"/similar?track=a", "/similar?track=a" + blanks(append([]string{"k"}, search...)...)},
		{"/users/alice/recommend?", "/users/alice/recommend?" + blanks(append([]string{"k", "strategy"}, search...)...)},
		{"/users/alice/history", "/users/alice/history?limit="},
		{"/tracks?q=a", "/tracks?q=a&k="},
		{"/tracks?ids=a", "/tracks?ids=a&k="},
		{"/map", "/map?sample="},
	} {
		want := do(t, h, "GET", c.without, "")
		got := do(t, h, "GET", c.with, "")
		if got.Code != want.Code || untimed(got.Body.String()) != untimed(want.Body.String()) {
			t.Errorf("GET %s = %d %.300s, want the answer of GET %s: %d %.300s", c.with, got.Code, got.Body, c.without, want.Code, want.Body)
		}
	}
}

// untimed is body without its took_us, which differs between two runs of
// the same search.
func untimed(body string) string {
	return regexp.MustCompile(`"took_us":[0-9]+`).ReplaceAllString(body, `"took_us":0`)
}

// Given a boolean parameter that is none of the words strconv.ParseBool
// takes, expect a 400 naming them all, 1 and 0 too, which clients may
// rely on and the server keeps taking.
func TestBooleanParameters(t *testing.T) {
	h := server.New(userEngine(t), nil)
	for _, target := range []string{"/similar?track=a&exclude_artist=yes", "/users/alice/recommend?dedupe=no"} {
		w := do(t, h, "GET", target, "")
		name := "exclude_artist"
		if strings.Contains(target, "dedupe") {
			name = "dedupe"
		}
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if want := name + `: "` + target[strings.LastIndex(target, "=")+1:] + `" is not a boolean: want true or false (also 1, 0, t, f)`; w.Code != 400 || e.Error != want {
			t.Errorf("GET %s = %d %s, want 400 %q", target, w.Code, w.Body, want)
		}
	}
	for _, v := range []string{"1", "0", "t", "F", "TRUE", "False"} {
		if w := do(t, h, "GET", "/similar?track=a&exclude_artist="+v+"&dedupe="+v, ""); w.Code != 200 {
			t.Errorf("GET /similar?track=a&exclude_artist=%s&dedupe=%s = %d %s, want 200", v, v, w.Code, w.Body)
		}
	}
}
