package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// decodeTracks decodes a GET /tracks body strictly.
func decodeTracks(t *testing.T, body []byte) server.TracksResponse {
	t.Helper()
	var r server.TracksResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return r
}

func trackIDs(r server.TracksResponse) []string {
	var s []string
	for _, x := range r.Results {
		s = append(s, x.TrackID)
	}
	return s
}

func TestTracks(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	cases := []struct {
		name, target string
		want         []string
		missing      []string
	}{
		{"given words of names, when GET /tracks?q=, expect the tracks holding them", "/tracks?q=song", []string{"a", "a-dup", "x1", "x2", "x3"}, nil},
		{"given a name and an artist, expect only the tracks with both", "/tracks?q=" + url.QueryEscape("x song 2 artist"), []string{"x2"}, nil},
		{"given a prefix, expect tracks whose word starts with it", "/tracks?q=" + url.QueryEscape("song a") + "&k=2", []string{"a", "a-dup"}, nil},
		{"given an accent-free query, expect the accented artist", "/tracks?q=unicode", []string{"esc"}, nil},
		{"given k, expect at most k", "/tracks?q=fill&k=3", []string{"t00", "t01", "t02"}, nil},
		{"given no match, expect no results", "/tracks?q=zzz", []string{}, nil},
		{"given a blank ids beside q, expect q searched: a blank value names none", "/tracks?ids=&q=fill&k=1", []string{"t00"}, nil},
		{"given a blank q beside ids, expect the ids answered: a blank value names none", "/tracks?q=&ids=t00", []string{"t00"}, nil},
		{"given a blank ids beside id, expect id looked up", "/tracks?ids=%20&id=a", []string{"a"}, nil},
		{"given ids, URIs and links, expect the tracks in order and the unknown ones missing", "/tracks?ids=" + url.QueryEscape("a,spotify:track:"+spotifyOfT22+", nope ,https://open.spotify.com/track/t01?si=1") + "&ids=x2",
			[]string{"a", "t22", "t01", "x2"}, []string{"nope"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, h, "GET", tc.target, "")
			if w.Code != 200 {
				t.Fatalf("GET %s = %d %s, want 200", tc.target, w.Code, w.Body)
			}
			r := decodeTracks(t, w.Body.Bytes())
			if got := trackIDs(r); !slices.Equal(got, tc.want) || r.Results == nil {
				t.Errorf("GET %s = %v, want %v", tc.target, got, tc.want)
			}
			if !slices.Equal(r.Missing, tc.missing) {
				t.Errorf("GET %s: missing %v, want %v", tc.target, r.Missing, tc.missing)
			}
			if tc.missing == nil && strings.Contains(w.Body.String(), "missing") {
				t.Errorf("GET %s = %s: missing should be omitted", tc.target, w.Body)
			}
			// Each result is exactly what GET /tracks/{id} answers.
			for i, tr := range r.Results {
				one := do(t, h, "GET", "/tracks/"+url.PathEscape(tr.TrackID), "")
				b, _ := json.Marshal(r.Results[i])
				if strings.TrimSpace(one.Body.String()) != string(b) {
					t.Errorf("result %d = %s, GET /tracks/%s = %s", i, b, tr.TrackID, one.Body)
				}
			}
			var std map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &std); err != nil {
				t.Errorf("body %s is not JSON: %v", w.Body, err)
			}
		})
	}
	t.Run("given no model, when GET /tracks?q=, expect tracks all the same", func(t *testing.T) {
		h := server.New(newEngine(t, noModel), nil)
		w := do(t, h, "GET", "/tracks?q=slashed", "")
		if w.Code != 200 || !slices.Equal(trackIDs(decodeTracks(t, w.Body.Bytes())), []string{"a/b c"}) {
			t.Errorf("GET /tracks?q=slashed = %d %s, want a/b c", w.Code, w.Body)
		}
	})
	many := strings.TrimSuffix(strings.Repeat("a,", 101), ",")
	bad := []struct{ target, want string }{
		{"/tracks", "q or ids"},
		{"/tracks?q=", "missing query parameter q or ids"}, // a blank value names none
		{"/tracks?q=%20", "missing query parameter q or ids"},
		{"/tracks?q=" + url.QueryEscape("!! --"), `q: "!! --" holds no word to search for`},
		{"/tracks?q=a&k=0", "k: 0 is outside 1..100"},
		{"/tracks?q=a&k=101", "k: 101 is outside 1..100"},
		{"/tracks?q=a&k=ten", "k: \"ten\" is not a whole number"},
		{"/tracks?q=a&k=1&k=2", "k is given 2 times"},
		{"/tracks?q=a&ids=b", "not both"},
		{"/tracks?ids=a&k=3", "k: applies to q"},
		{"/tracks?ids=", "q or ids"}, // a blank ids names none
		{"/tracks?ids=a," + url.QueryEscape("b\x00"), "ids[1]: "},
		{"/tracks?ids=" + many, "ids: 101 tracks: at most 100"},
		{"/tracks?query=a", `unknown query parameter "query"`},
		{"/tracks?" + strings.Repeat("z", 1000) + "=a", `"… (1000 bytes): accepted are q, k, ids, id`},
	}
	for _, tc := range bad {
		t.Run(fmt.Sprintf("given %s, expect 400 naming %q", tc.target, tc.want), func(t *testing.T) {
			w := do(t, h, "GET", tc.target, "")
			if w.Code != 400 {
				t.Fatalf("GET %s = %d %s, want 400", tc.target, w.Code, w.Body)
			}
			checkError(t, w, tc.want)
		})
	}
}

// Given a track id holding a comma, when GET /tracks names it with ids
// (split at commas) and with id (each value whole), expect ids to look
// for its halves and id to find it; ids and id together are refused.
func TestTracksCommaID(t *testing.T) {
	h := server.New(engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready), nil)
	comma := url.QueryEscape("x,y")
	for _, c := range []struct {
		target        string
		want, missing []string
	}{
		{"/tracks?ids=" + comma, nil, []string{"x", "y"}},
		{"/tracks?id=" + comma, []string{"x,y"}, nil},
		{"/tracks?id=f1&id=" + comma + "&id=nope&id=" + url.QueryEscape(".."), []string{"f1", "x,y", ".."}, []string{"nope"}},
	} {
		w := do(t, h, "GET", c.target, "")
		if w.Code != 200 {
			t.Fatalf("GET %s = %d %s, want 200", c.target, w.Code, w.Body)
		}
		r := decodeTracks(t, w.Body.Bytes())
		if got := trackIDs(r); !slices.Equal(got, c.want) || !slices.Equal(r.Missing, c.missing) {
			t.Errorf("GET %s = %v, missing %v; want %v, missing %v", c.target, got, r.Missing, c.want, c.missing)
		}
	}
	for _, c := range []struct{ target, want string }{
		{"/tracks?ids=f1&id=f2", "not both"},
		{"/tracks?id=f1&q=filler", "not both"},
		{"/tracks?id=f1&k=2", "k: applies to q"},
		{"/tracks?id=f1&id=", "id[1]: empty track reference"},
		{"/tracks?id=" + strings.Repeat("a&id=", 100) + "a", "id: 101 tracks: at most 100"},
	} {
		w := do(t, h, "GET", c.target, "")
		if w.Code != 400 {
			t.Fatalf("GET %s = %d %s, want 400", c.target, w.Code, w.Body)
		}
		checkError(t, w, c.want)
	}
}
