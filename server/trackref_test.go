package server_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// Track references: ids, spotify:track: URIs and open.spotify.com links are
// accepted wherever a track is named, and resolve through Track.SpotifyID.
func TestTrackRefs(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	link := "https://open.spotify.com/intl-de/track/" + spotifyOfT22 + "?si=0a1b2c"
	t.Run("given a URI or a link, when GET /similar, expect the track's answer", func(t *testing.T) {
		for ref, want := range map[string]string{
			"a": "a", "spotify:track:a": "a", "https://open.spotify.com/track/a?si=x": "a",
			"t22": "t22", spotifyOfT22: "t22", "spotify:track:" + spotifyOfT22: "t22", link: "t22",
		} {
			w := do(t, h, "GET", "/similar?k=3&track="+url.QueryEscape(ref), "")
			if w.Code != 200 {
				t.Fatalf("GET /similar?track=%s = %d %s", ref, w.Code, w.Body)
			}
			if r := decodeSimilar(t, w.Body.Bytes()); r.Track.TrackID != want {
				t.Errorf("GET /similar?track=%s answered for %s, want %s", ref, r.Track.TrackID, want)
			}
		}
	})
	t.Run("given a link, when GET /tracks/{id}, expect the track", func(t *testing.T) {
		for _, ref := range []string{"spotify:track:" + spotifyOfT22, url.PathEscape(link), spotifyOfT22} {
			w := do(t, h, "GET", "/tracks/"+ref, "")
			if w.Code != 200 {
				t.Fatalf("GET /tracks/%s = %d %s, want 200", ref, w.Code, w.Body)
			}
			if tr := trackOfBody(t, w.Body.Bytes()); tr.TrackID != "t22" {
				t.Errorf("GET /tracks/%s = %s, want t22", ref, tr.TrackID)
			}
		}
	})
	t.Run("given seeds and exclusions as links, when POST /similar, expect them resolved", func(t *testing.T) {
		body := `{"tracks":["spotify:track:a"],"exclude":["` + link + `"],"k":40}`
		w := do(t, h, "POST", "/similar", body)
		if w.Code != 200 {
			t.Fatalf("POST /similar %s = %d %s", body, w.Code, w.Body)
		}
		for _, id := range ids(decodeSimilar(t, w.Body.Bytes())) {
			if id == "a" || id == "t22" {
				t.Errorf("POST /similar %s returned %s, a seed or an exclusion", body, id)
			}
		}
	})
	bad := "spotify:album:" + spotifyOfT22
	cases := []struct{ method, target, body, param string }{
		{"GET", "/similar?track=" + url.QueryEscape(bad), "", "track:"},
		{"GET", "/similar?track=a&exclude=" + url.QueryEscape("https://example.com/track/x"), "", "exclude:"},
		{"GET", "/tracks/" + url.PathEscape("https://open.spotify.com/album/"+spotifyOfT22), "", "track"},
		{"POST", "/similar", `{"tracks":["a","` + bad + `"]}`, "tracks[1]:"},
		{"POST", "/similar", `{"tracks":["a",""]}`, "tracks[1]:"},
		{"POST", "/similar", `{"tracks":["a"],"exclude":["` + bad + `"]}`, "exclude[0]:"},
	}
	for _, tc := range cases {
		t.Run("given a bad reference, when "+tc.method+" "+tc.target+" "+tc.body+", expect 400 naming "+tc.param, func(t *testing.T) {
			w := do(t, h, tc.method, tc.target, tc.body)
			if w.Code != 400 {
				t.Fatalf("= %d %s, want 400", w.Code, w.Body)
			}
			checkError(t, w, tc.param, "spotify:track:ID")
		})
	}
}

// Given tracks whose stored ids have spaces around them or the form of a
// Spotify URI, when a request names them as stored, expect those tracks:
// the engine finds a stored id before it reads a reference as a URI, and
// the server passes references on as given.
func TestStoredIDsThatLookLikeReferences(t *testing.T) {
	weird := []string{" padded ", "spotify:track:" + spotifyOfT22}
	tracks := catalogue()
	for i, id := range weird {
		tr := track(id, "weird "+id, "", 0.1*float64(i+1), 100)
		tracks = append(tracks, tr)
	}
	h := server.New(engineOf(t, tracks, soundalike.ModelRun{}, ready), nil)
	for _, id := range weird {
		w := do(t, h, "GET", "/tracks/"+url.PathEscape(id), "")
		if w.Code != 200 || trackOfBody(t, w.Body.Bytes()).TrackID != id {
			t.Errorf("GET /tracks/%s = %d %s, want track %q", url.PathEscape(id), w.Code, w.Body, id)
		}
		w = do(t, h, "GET", "/similar?k=3&track="+url.QueryEscape(id), "")
		if w.Code != 200 {
			t.Fatalf("GET /similar?track=%s = %d %s", url.QueryEscape(id), w.Code, w.Body)
		}
		if r := decodeSimilar(t, w.Body.Bytes()); r.Track.TrackID != id {
			t.Errorf("GET /similar?track=%s answered for %q, want %q", url.QueryEscape(id), r.Track.TrackID, id)
		}
	}
	// The same spellings still name the catalogue's t22 where no stored
	// id is spelt so.
	w := do(t, h, "GET", "/tracks/"+url.PathEscape("spotify:track:"+spotifyOfT22+" "), "")
	if w.Code != 200 || trackOfBody(t, w.Body.Bytes()).TrackID != "t22" {
		t.Errorf("GET /tracks/spotify:track:%s%%20 = %d %s, want t22", spotifyOfT22, w.Code, w.Body)
	}
}

// Given tracks whose stored ids are references ParseTrackRef refuses (a
// link to another site, an album URI), when a request names them wherever
// it takes a track, expect those tracks: the server passes references on
// and the engine finds a stored id first. A reference that is neither a
// stored id nor an accepted form still gets a 400 naming the parameter or
// field as the request gave it, now from the engine's refusal.
func TestStoredIDsParseTrackRefRefuses(t *testing.T) {
	odd := []string{"https://example.com/t/1", "spotify:album:x"}
	const gone = "https://example.com/t/gone"
	tracks := catalogue()
	for i, id := range append(slices.Clone(odd), gone) {
		tracks = append(tracks, track(id, "odd "+id, "", 0.2*float64(i+1), 90))
	}
	eng := engineOf(t, tracks, soundalike.ModelRun{}, ready)
	// u1 liked a, then the gone track, since deleted.
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for _, id := range []soundalike.TrackID{"a", gone} {
			if _, err := tx.PutInteraction(&soundalike.Interaction{User: "u1", Track: id, Action: soundalike.ActionLike}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error { _, err := tx.DeleteTrack(gone); return err })
	}
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(eng, nil)
	q := url.QueryEscape
	both := q(odd[0]) + "," + q(odd[1])
	for _, id := range odd {
		w := do(t, h, "GET", "/similar?k=3&track="+q(id), "")
		if w.Code != 200 || decodeSimilar(t, w.Body.Bytes()).Track.TrackID != id {
			t.Errorf("GET /similar?track=%s = %d %s, want the answer for %q", q(id), w.Code, w.Body, id)
		}
		w = do(t, h, "GET", "/tracks/"+url.PathEscape(id), "")
		if w.Code != 200 || trackOfBody(t, w.Body.Bytes()).TrackID != id {
			t.Errorf("GET /tracks/%s = %d %s, want track %q", url.PathEscape(id), w.Code, w.Body, id)
		}
	}
	answers := []struct{ method, target, body string }{
		{"GET", "/similar?k=100&track=a&exclude=" + both, ""},
		{"POST", "/similar", `{"tracks":["a"],"k":100,"exclude":["` + odd[0] + `","` + odd[1] + `"]}`},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"],"k":100,"exclude":["` + odd[0] + `","` + odd[1] + `"]}]}`},
		{"POST", "/recommend", `{"positive":["a"],"k":100,"exclude":["` + odd[0] + `","` + odd[1] + `"]}`},
		{"GET", "/users/u1/recommend?k=100&exclude=" + both, ""},
	}
	for _, a := range answers {
		w := do(t, h, a.method, a.target, a.body)
		if w.Code != 200 {
			t.Errorf("%s %s %s = %d %s, want 200", a.method, a.target, a.body, w.Code, w.Body)
			continue
		}
		body := w.Body.String()
		if strings.Contains(body, `"track_id":"`+odd[0]) || strings.Contains(body, `"track_id":"`+odd[1]) || !strings.Contains(body, `"track_id":"x1"`) {
			t.Errorf("%s %s %s = %.300s…, want every track but a and the excluded %q", a.method, a.target, a.body, body, odd)
		}
	}
	for _, a := range []struct{ method, target, body string }{
		{"POST", "/similar", `{"tracks":["` + odd[0] + `"],"filter":{"ids":["` + odd[1] + `","a"]}}`},
		{"POST", "/recommend", `{"positive":[{"track":"` + odd[0] + `"}],"negative":["x1"],"filter":{"ids":["` + odd[1] + `","a"]}}`},
	} {
		w := do(t, h, a.method, a.target, a.body)
		if w.Code != 200 {
			t.Errorf("%s %s %s = %d %s, want 200", a.method, a.target, a.body, w.Code, w.Body)
			continue
		}
		if got := ids(decodeSimilarBody(t, w)); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"a", odd[1]}) {
			t.Errorf("%s %s %s = %q, want a and %s", a.method, a.target, a.body, got, odd[1])
		}
	}
	w := do(t, h, "GET", "/tracks?ids="+both+",nothere", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"track_id":"`+odd[1]) || !strings.Contains(w.Body.String(), `"missing":["nothere"]`) {
		t.Errorf("GET /tracks?ids=%s,nothere = %d %s, want both tracks and nothere missing", both, w.Code, w.Body)
	}
	// The history's own ids are the database's: the deleted track is
	// shown by its id alone, as any deleted track is.
	w = do(t, h, "GET", "/users/u1/history", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `{"track":{"track_id":"`+gone+`"`) {
		t.Errorf("GET /users/u1/history = %d %s, want the deleted %s by its id", w.Code, w.Body, gone)
	}

	bad := "spotify:album:y"
	for _, tc := range []struct{ method, target, body, param string }{
		{"GET", "/similar?track=" + q(bad), "", "track: "},
		{"GET", "/similar?track=a&exclude=" + q(odd[0]) + "," + q(bad), "", "exclude: "},
		{"GET", "/users/u1/recommend?exclude=" + q(bad), "", "exclude: "},
		{"GET", "/tracks/" + url.PathEscape(gone), "", "the path's track: "},
		{"GET", "/tracks?id=a&id=" + q(bad), "", "id[1]: "},
		{"POST", "/similar", `{"tracks":["a","` + bad + `"]}`, "tracks[1]: "},
		{"POST", "/similar", `{"tracks":["a"],"exclude":["` + odd[0] + `","` + gone + `"]}`, "exclude[1]: "},
		{"POST", "/similar", `{"tracks":["a"],"filter":{"ids":["` + odd[1] + `","` + bad + `"]}}`, "filter.ids[1]: "},
		{"POST", "/similar", `{"tracks":["a"],"filter":{"ids":[""]}}`, "filter.ids[0]: "},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"],"exclude":["` + bad + `"]}]}`, "queries[1].exclude[0]: "},
		{"POST", "/recommend", `{"positive":["a","` + bad + `"]}`, "positive[1]: "},
		{"POST", "/recommend", `{"positive":["a"],"negative":[{"track":"` + bad + `"}]}`, "negative[0]: "},
		{"POST", "/recommend", `{"positive":["a"],"negative":[{"track":""}]}`, "negative[0].track: "},
		{"POST", "/recommend", `{"positive":["a"],"filter":{"ids":["` + bad + `"]}}`, "filter.ids[0]: "},
	} {
		w := do(t, h, tc.method, tc.target, tc.body)
		if w.Code != 400 {
			t.Errorf("%s %s %s = %d %s, want 400 naming %s", tc.method, tc.target, tc.body, w.Code, w.Body, tc.param)
			continue
		}
		checkError(t, w, tc.param, "spotify:track:ID")
		if strings.Contains(w.Body.String(), "SearchOptions") || strings.Contains(w.Body.String(), "Query.") {
			t.Errorf("%s %s %s = %s, want the request's names, not the engine's", tc.method, tc.target, tc.body, w.Body)
		}
	}
}

// decodeSimilarBody decodes a /similar or /recommend answer, strictly but
// for /recommend's strategy.
func decodeSimilarBody(t *testing.T, w *httptest.ResponseRecorder) server.SimilarResponse {
	t.Helper()
	var r server.RecommendResponse
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return r.SimilarResponse
}

// trackOfBody decodes a track's JSON strictly.
func trackOfBody(t *testing.T, body []byte) server.TrackJSON {
	t.Helper()
	var tr server.TrackJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tr); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return tr
}
