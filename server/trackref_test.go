package server_test

import (
	"bytes"
	"encoding/json"
	"net/url"
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
