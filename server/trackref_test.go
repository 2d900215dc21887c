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
	// An album URI or link, or a link to another site, may be a stored
	// id: one that is none names no track, ignored where it excludes,
	// a 404 with a hint of the Spotify forms where it is the one track.
	album := "spotify:album:" + spotifyOfT22
	albumLink := "https://open.spotify.com/album/" + spotifyOfT22
	for _, tc := range []struct{ method, target, body string }{
		{"GET", "/similar?track=" + url.QueryEscape(album), ""},
		{"GET", "/tracks/" + url.PathEscape(albumLink), ""},
		{"GET", "/tracks/" + url.PathEscape(album), ""},
		{"POST", "/similar", `{"tracks":["a","` + album + `"]}`},
	} {
		t.Run("given an album reference, when "+tc.method+" "+tc.target+" "+tc.body+", expect 404 with the Spotify forms", func(t *testing.T) {
			w := do(t, h, tc.method, tc.target, tc.body)
			if w.Code != 404 {
				t.Fatalf("= %d %s, want 404", w.Code, w.Body)
			}
			checkError(t, w, "is not in the catalogue", "a Spotify reference must be spotify:track:ID or https://open.spotify.com/track/ID")
		})
	}
	all := ids(decodeSimilar(t, do(t, h, "GET", "/similar?k=40&track=a", "").Body.Bytes()))
	for _, tc := range []struct{ method, target, body string }{
		{"GET", "/similar?k=40&track=a&exclude=" + url.QueryEscape("https://example.com/track/x") + "," + url.QueryEscape(album), ""},
		{"POST", "/similar", `{"tracks":["a"],"k":40,"exclude":["` + album + `","` + albumLink + `"]}`},
	} {
		t.Run("given album references in exclude, when "+tc.method+" "+tc.target+" "+tc.body+", expect them ignored", func(t *testing.T) {
			w := do(t, h, tc.method, tc.target, tc.body)
			if w.Code != 200 || !slices.Equal(ids(decodeSimilar(t, w.Body.Bytes())), all) {
				t.Fatalf("= %d %s, want 200 with every track but a (%q)", w.Code, w.Body, all)
			}
		})
	}
	cases := []struct{ method, target, body, param string }{
		{"GET", "/similar?track=" + url.QueryEscape("a\x00b"), "", "track:"},
		{"GET", "/similar?track=a&exclude=" + url.QueryEscape("b\x00"), "", "exclude[0]:"},
		{"GET", "/tracks/" + url.PathEscape("a\x00b"), "", "the path's track:"},
		{"POST", "/similar", `{"tracks":["a",""]}`, "tracks[1]:"},
		{"POST", "/similar", `{"tracks":["a"],"exclude":["x1",""]}`, "exclude[1]:"},
	}
	for _, tc := range cases {
		t.Run("given a reference no id could be, when "+tc.method+" "+tc.target+" "+tc.body+", expect 400 naming "+tc.param, func(t *testing.T) {
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
// and the engine finds a stored id first. Once such a track is deleted,
// its id (one the API returned) names no track, as any deleted id: ignored
// in exclude and filter.ids, missing from GET /tracks?id=, a 404 where it
// is the one track asked for, with a hint of the Spotify forms, as
// "spotify:album:y" gets. Only a reference that no stored id could be
// (empty, holding a NUL byte) gets a 400 naming the parameter or field as
// the request gave it, from the engine's refusal.
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
	// The deleted track's id and an album URI stored nowhere name no
	// track: among the exclusions or the allowed ids, they change nothing.
	none := []string{gone, "spotify:album:y"}
	excluded := `"` + strings.Join(append(slices.Clone(odd), none...), `","`) + `"`
	answers := []struct{ method, target, body string }{
		{"GET", "/similar?k=100&track=a&exclude=" + both + "," + q(gone) + "," + q(none[1]), ""},
		{"POST", "/similar", `{"tracks":["a"],"k":100,"exclude":[` + excluded + `]}`},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"],"k":100,"exclude":[` + excluded + `]}]}`},
		{"POST", "/recommend", `{"positive":["a"],"k":100,"exclude":[` + excluded + `]}`},
		{"GET", "/users/u1/recommend?k=100&exclude=" + q(gone) + "," + both, ""},
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
		{"POST", "/similar", `{"tracks":["` + odd[0] + `"],"filter":{"ids":["` + gone + `","` + odd[1] + `","a","` + none[1] + `"]}}`},
		{"POST", "/recommend", `{"positive":[{"track":"` + odd[0] + `"}],"negative":["x1"],"filter":{"ids":["` + odd[1] + `","` + gone + `","a"]}}`},
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
	if w.Code != 200 || !strings.Contains(w.Body.String(), `{"track_id":"`+gone+`","action"`) {
		t.Errorf("GET /users/u1/history = %d %s, want the deleted %s by its id", w.Code, w.Body, gone)
	}
	// Named alone, they are tracks not found, with the Spotify forms.
	w = do(t, h, "GET", "/tracks?id=a&id="+q(gone)+"&id="+q(none[1]), "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"missing":["`+gone+`","`+none[1]+`"]`) {
		t.Errorf("GET /tracks?id=a&id=%s&id=%s = %d %s, want both missing", gone, none[1], w.Code, w.Body)
	}
	const hint = "a Spotify reference must be spotify:track:ID or https://open.spotify.com/track/ID"
	for _, tc := range []struct{ method, target, body string }{
		{"GET", "/tracks/" + url.PathEscape(gone), ""},
		{"GET", "/similar?track=" + q(gone), ""},
		{"GET", "/similar?track=" + q("spotify:album:y"), ""},
		{"GET", "/tracks/" + url.PathEscape("spotify:album:y"), ""},
		{"POST", "/similar", `{"tracks":["a","spotify:album:y"]}`},
		{"POST", "/recommend", `{"positive":["a"],"negative":[{"track":"` + gone + `"}]}`},
	} {
		w := do(t, h, tc.method, tc.target, tc.body)
		if w.Code != 404 {
			t.Errorf("%s %s %s = %d %s, want 404 saying what a Spotify reference must be", tc.method, tc.target, tc.body, w.Code, w.Body)
			continue
		}
		checkError(t, w, "is not in the catalogue", hint)
	}

	for _, tc := range []struct{ method, target, body, param string }{
		{"GET", "/similar?track=" + q("a\x00"), "", "track: "},
		{"GET", "/similar?track=a&exclude=" + q(odd[0]) + "," + q("b\x00"), "", "exclude[1]: "},
		{"GET", "/users/u1/recommend?exclude=" + q("b\x00"), "", "exclude[0]: "},
		{"GET", "/tracks/" + url.PathEscape(gone+"\x00"), "", "the path's track: "},
		{"GET", "/tracks?id=a&id=" + q("b\x00"), "", "id[1]: "},
		{"POST", "/similar", `{"tracks":["a",""]}`, "tracks[1]: "},
		{"POST", "/similar", `{"tracks":["a"],"exclude":["` + odd[0] + `",""]}`, "exclude[1]: "},
		{"POST", "/similar", `{"tracks":["a"],"exclude":["` + gone + `","b\u0000"]}`, "exclude[1]: "},
		{"POST", "/similar", `{"tracks":["a"],"filter":{"ids":["` + odd[1] + `","b\u0000"]}}`, "filter.ids[1]: "},
		{"POST", "/similar", `{"tracks":["a"],"filter":{"ids":[""]}}`, "filter.ids[0]: "},
		{"POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":["a"],"exclude":[""]}]}`, "queries[1].exclude[0]: "},
		{"POST", "/recommend", `{"positive":["a","b\u0000"]}`, "positive[1]: "},
		{"POST", "/recommend", `{"positive":["a"],"negative":[{"track":"b\u0000"}]}`, "negative[0]: "},
		{"POST", "/recommend", `{"positive":["a"],"negative":[{"track":""}]}`, "negative[0].track: "},
		{"POST", "/recommend", `{"positive":["a"],"filter":{"ids":[""]}}`, "filter.ids[0]: "},
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

// A track's Spotify id, stored beside the catalogue's own id, is in its
// API form: /tracks/{id}, and a result's metadata (fields=metadata); a
// track without one has no spotify_id.
func TestSpotifyIDShown(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	want := `"spotify_id":"` + spotifyOfT22 + `"`
	if w := do(t, h, "GET", "/tracks/t22", ""); w.Code != 200 || !strings.Contains(w.Body.String(), want) {
		t.Errorf("GET /tracks/t22 = %d %s, want 200 with %s", w.Code, w.Body, want)
	}
	if w := do(t, h, "GET", "/tracks/t21", ""); w.Code != 200 || strings.Contains(w.Body.String(), "spotify_id") {
		t.Errorf("GET /tracks/t21 = %d %s, want 200 without spotify_id", w.Code, w.Body)
	}
	w := do(t, h, "GET", "/similar?track=t21&k=50&fields=metadata", "")
	if w.Code != 200 || strings.Count(w.Body.String(), "spotify_id") != 1 || !strings.Contains(w.Body.String(), want) {
		t.Errorf("GET /similar?track=t21&k=50&fields=metadata = %d %s, want t22's %s and no other spotify_id", w.Code, w.Body, want)
	}
}
