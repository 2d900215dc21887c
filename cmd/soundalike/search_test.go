package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
)

// `search --json` prints what GET /tracks?q= answers.
func TestSearchCommandMatchesAPI(t *testing.T) {
	db := testDB(t, 300)
	out, _, err := runCmd(t.Context(), "search", "--db", db, "song", "7", "-k", "10", "--json")
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	eng, err := soundalike.Open(db, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	server.New(eng, nil).ServeHTTP(w, httptest.NewRequest("GET", "/tracks?q=song+7&k=10", nil))
	eng.Close()
	if w.Code != 200 || strings.TrimSpace(out) != strings.TrimSpace(w.Body.String()) {
		t.Fatalf("search --json = %s\nGET /tracks?q=song+7&k=10 = %d %s\nwant the same", out, w.Code, w.Body)
	}
	var r server.TracksResponse
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// Song 7 and the songs of Artist 7 (the words whole), then Song 70..79.
	found := false
	for _, x := range r.Results {
		found = found || x.TrackID == "t0007"
		if !strings.HasPrefix(x.Name, "Song 7") && x.Artists[0] != "Artist 7" {
			t.Errorf("search song 7 returned %q by %v", x.Name, x.Artists)
		}
	}
	if len(r.Results) != 10 || !found {
		t.Fatalf("search song 7 = %s, want 10 with t0007", out)
	}

	out, _, err = runCmd(t.Context(), "search", "--db", db, "-k", "100", "song 7")
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	for _, want := range []string{"t0007", "Song 7", "Artist 7", "POPULARITY"} {
		if !strings.Contains(out, want) {
			t.Errorf("search table = %q, want it to contain %q", out, want)
		}
	}
	out, _, err = runCmd(t.Context(), "search", "--db", db, "nothing here")
	if err != nil || !strings.Contains(out, "No track") {
		t.Errorf("search nothing here = %q, %v; want no track", out, err)
	}

	// similar --track takes URIs and links too.
	for _, ref := range []string{"spotify:track:t0007", "https://open.spotify.com/intl-de/track/t0007?si=abc"} {
		out, _, err := runCmd(t.Context(), "similar", "--db", db, "--track", ref, "-k", "2", "--json")
		if err != nil || !strings.Contains(out, `"track_id":"t0007"`) {
			t.Errorf("similar --track %s = %.200s, %v; want t0007's answer", ref, out, err)
		}
	}
}

// TestSimilarStoredIDWithSpaces: similar --track finds a track whose
// stored id has spaces around it (the engine tries the stored id before
// reading a reference), and --exclude a track named as a URI.
func TestSimilarStoredIDWithSpaces(t *testing.T) {
	db := testDB(t, 50)
	eng, err := soundalike.Open(db, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	padded := synth.SmallTrack(rand.New(rand.NewPCG(3, 4)), 50)
	padded.ID = " padded "
	err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(padded)
		return err
	})
	if err == nil {
		_, err = eng.Reindex(t.Context(), nil)
	}
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t.Context(), "similar", "--db", db, "--track", " padded ", "-k", "3", "--exclude", "spotify:track:t0001", "--json")
	if err != nil || !strings.Contains(out, `"track_id":" padded "`) || strings.Contains(out, `"t0001"`) {
		t.Errorf("similar --track ' padded ' = %.300s, %v; want the answer for \" padded \" without t0001", out, err)
	}
}

func TestSearchCommandErrors(t *testing.T) {
	db := testDB(t, 20)
	cases := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"given no text, when search, expect a usage error", []string{"search", "--db", db}, true, "TEXT"},
		{"given -k 0, when search, expect the range", []string{"search", "--db", db, "song", "-k", "0"}, true, "1..100"},
		{"given -k 101, when search, expect the range", []string{"search", "--db", db, "-k", "101", "song"}, true, "1..100"},
		{"given only punctuation, when search, expect a usage error saying it holds no word", []string{"search", "--db", db, "--", "!!"}, true, "no word"},
		{"given only an emoji, when search, expect a usage error saying it holds no word", []string{"search", "--db", db, "🎵"}, true, "no word"},
		{"given an album URI, when similar, expect not found saying what a Spotify reference must be", []string{"similar", "--db", db, "--track", "spotify:album:abc"}, false, "not in the catalogue (never imported, or deleted since); a Spotify reference must be spotify:track:ID"},
		{"given an exclusion over 1024 bytes, when similar, expect a usage error naming --exclude", []string{"similar", "--db", db, "--track", "t0001", "--exclude", strings.Repeat("x", soundalike.MaxKeyLen+1)}, true, "--exclude"},
		{"given an empty exclusion, when similar, expect a usage error naming --exclude and the entry", []string{"similar", "--db", db, "--track", "t0001", "--exclude", "t0002,,t0003"}, true, "--exclude: entry 2 of 3 is empty"},
		{"given one exclusion over the API's limit, when similar, expect a usage error naming --exclude", []string{"similar", "--db", db, "--track", "t0001", "--exclude", refs(server.MaxExclude + 1)}, true, fmt.Sprintf("--exclude: %d tracks: at most %d in one query", server.MaxExclude+1, server.MaxExclude)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t.Context(), tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v = %v, want an error mentioning %q", tc.args, err, tc.want)
			}
			if got := exitCode(err, io.Discard) == 2; got != tc.usage {
				t.Errorf("%v: usage error = %v, want %v", tc.args, got, tc.usage)
			}
		})
	}
}

// Given a TEXT without a word and a database that does not exist, when
// search runs, expect the usage error about the TEXT, not about the
// database: the TEXT is checked before the database is opened.
func TestSearchChecksTextBeforeOpening(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, text := range []string{"!!", "🎵", "' . '", "\u0301"} {
		_, _, err := runCmd(t.Context(), "search", "--db", missing, "--", text)
		if err == nil || !strings.Contains(err.Error(), "holds no word") || exitCode(err, io.Discard) != 2 {
			t.Errorf("search %q on a missing database = %v; want a usage error saying the text holds no word", text, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("search without a word left %s: %v; want no database opened", missing, err)
	}
	// Texts with words, of any script, are searched.
	db := testDB(t, 20)
	for _, text := range []string{"zzz", "É", "٣", "don't"} {
		if _, _, err := runCmd(t.Context(), "search", "--db", db, "--", text); err != nil {
			t.Errorf("search %q = %v, want it searched", text, err)
		}
	}
}

// Given the flags that name tracks, when similar -h and recommend -h
// describe them, expect each to say it takes every form of a track
// reference, as it does (trackList, ParseTrackRef): --exclude said "track
// ids" while it took URIs and links too.
func TestTrackFlagsNameTheirForms(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"similar":   {"track", "exclude"},
		"recommend": {"positive", "negative", "exclude"},
	} {
		_, help, err := runCmd(t.Context(), cmd, "-h")
		if err != nil {
			t.Fatalf("%s -h = %v", cmd, err)
		}
		for _, f := range flags {
			u := flagUsage(help, f)
			if u == "" {
				t.Errorf("%s -h: no -%s in\n%s", cmd, f, help)
				continue
			}
			if !strings.Contains(u, "spotify:track:") || !strings.Contains(u, "open.spotify.com") {
				t.Errorf("%s -h: -%s says %q; want it to name spotify:track: URIs and open.spotify.com links", cmd, f, u)
			}
		}
	}
}

// flagUsage returns the lines flag.PrintDefaults wrote for -name in help,
// or "".
func flagUsage(help, name string) string {
	for _, block := range strings.Split(help, "\n  -")[1:] {
		if n, _, _ := strings.Cut(block, " "); n == name || strings.HasPrefix(block, name+"\n") {
			return block
		}
	}
	return ""
}

// Given a TEXT of 100 KB (a file pasted by mistake), when search prints
// that no track holds it, or fails (no word in it), expect the TEXT the
// command quotes cut to a readable line saying its length, not echoed
// whole.
func TestSearchCutsLongText(t *testing.T) {
	db := testDB(t, 20)
	text := strings.Repeat("zzz ", 25000)
	out, _, err := runCmd(t.Context(), "search", "--db", db, text)
	if err != nil || !strings.HasPrefix(out, `No track holds the words "zzz zzz`) || !strings.Contains(out, "…(100000 bytes)") || len(out) > 2*maxQuotedText {
		t.Errorf("search of 100 KB = %v, %d bytes: %.300q; want no track, the text cut to about %d bytes", err, len(out), out, maxQuotedText)
	}
	// The library's error quotes the text too, cut as well.
	text = strings.Repeat("!", 100000)
	_, _, err = runCmd(t.Context(), "search", "--db", db, "--", text)
	if want := `…(100000 bytes)" holds no word`; err == nil || !strings.Contains(err.Error(), want) || len(err.Error()) > 1024 {
		t.Errorf("search of 100 KB without a word = %.300q (%d bytes), want it to hold %q and be a line", fmt.Sprint(err), len(fmt.Sprint(err)), want)
	}
}
