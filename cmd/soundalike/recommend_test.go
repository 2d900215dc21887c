package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/eval"
	"github.com/audotics/soundalike/server"
)

// userDB is testDB(300) with the history of user u1.
func userDB(t *testing.T) string {
	t.Helper()
	db := testDB(t, 300)
	eng, err := soundalike.Open(db, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for i, in := range []soundalike.Interaction{
			{User: "u1", Track: "t0007", Action: soundalike.ActionLike, Time: t0},
			{User: "u1", Track: "t0010", Action: soundalike.ActionPlay, Time: t0.Add(time.Hour)},
			{User: "u1", Track: "t0020", Action: soundalike.ActionSkip, Time: t0.Add(2 * time.Hour)},
		} {
			if _, err := tx.PutInteraction(&in); err != nil {
				t.Fatalf("interaction %d: %v", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// `recommend --json` prints what the HTTP endpoints answer, took_us aside.
func TestRecommendCommandMatchesAPI(t *testing.T) {
	db := userDB(t)
	eng, err := soundalike.Open(db, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(eng, nil)
	norm := func(s string) []byte {
		var r server.RecommendResponse
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if len(r.Results) != 5 {
			t.Errorf("%s: %d results, want 5", s, len(r.Results))
		}
		r.TookUS = 0
		b, _ := json.Marshal(r)
		return b
	}
	for _, c := range []struct {
		args         []string
		method, path string
		body         string
	}{
		{[]string{"--user", "u1"}, "GET", "/users/u1/recommend?k=5", ""},
		{[]string{"--user", "u1", "--strategy", "best_score"}, "GET", "/users/u1/recommend?k=5&strategy=best_score", ""},
		{[]string{"--positive", "t0007,t0010", "--negative", "t0020", "--strategy", "best_score"}, "POST", "/recommend",
			`{"positive":["t0007","t0010"],"negative":["t0020"],"strategy":"best_score","k":5}`},
		{[]string{"--positive", "t0007", "--exclude", "t0001", "--exclude-artist", "--no-dedupe"}, "POST", "/recommend",
			`{"positive":["t0007"],"k":5,"exclude":["t0001"],"exclude_artist":true,"dedupe":false}`},
	} {
		out, _, err := runCmd(t.Context(), append([]string{"recommend", "--db", db, "-k", "5", "--json"}, c.args...)...)
		if err != nil {
			t.Fatalf("recommend %v: %v", c.args, err)
		}
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		req := httptest.NewRequest(c.method, c.path, body)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("%s %s = %d %s", c.method, c.path, w.Code, w.Body)
		}
		if cli, api := norm(out), norm(w.Body.String()); !bytes.Equal(cli, api) {
			t.Errorf("recommend %v --json = %s\n%s %s = %s\nwant the same", c.args, cli, c.method, c.path, api)
		}
	}
	eng.Close()

	out, _, err := runCmd(t.Context(), "recommend", "--db", db, "--user", "u1", "-k", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Recommended for user u1", "strategy average", "SCORE", "\n3  "} {
		if !strings.Contains(out, want) {
			t.Errorf("recommend table = %q, want it to contain %q", out, want)
		}
	}
	for _, not := range []string{"t0007", "t0010", "t0020"} {
		if strings.Contains(out, not) {
			t.Errorf("recommend --user u1 offers %s, from their history:\n%s", not, out)
		}
	}
}

func TestRecommendCommandErrors(t *testing.T) {
	db := userDB(t)
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"given nothing to recommend from, expect a usage error", []string{"--db", db}, true, "--user"},
		{"given --user and --positive, expect a usage error", []string{"--db", db, "--user", "u1", "--positive", "t0001"}, true, "alternatives"},
		{"given --user and an unknown strategy, expect a usage error", []string{"--db", db, "--user", "u1", "--strategy", "max"}, true, "--strategy"},
		{"given --negative alone, expect a usage error saying it needs --positive", []string{"--db", db, "--negative", "t0001"}, true, "--negative needs --positive"},
		{"given an unknown strategy, expect a usage error naming the flag, the value and both strategies", []string{"--db", db, "--positive", "t0001", "--strategy", "best"}, true, `--strategy "best": want "average" or "best_score"`},
		{"given -k 0, expect a usage error naming the range", []string{"--db", db, "--user", "u1", "-k", "0"}, true, "1..1000"},
		{"given an album URI, expect not found saying what a Spotify reference must be", []string{"--db", db, "--positive", "spotify:album:x"}, false, "not in the catalogue (never imported, or deleted since); a Spotify reference must be spotify:track:ID"},
		{"given a reference over 1024 bytes, expect a usage error naming the flag", []string{"--db", db, "--positive", strings.Repeat("x", soundalike.MaxKeyLen+1)}, true, "--positive"},
		{"given only commas, expect a usage error naming the first empty entry", []string{"--db", db, "--positive", ",,"}, true, "--positive: entry 1 of 3 is empty: give comma-separated track references"},
		{"given a trailing comma, expect a usage error naming the empty entry", []string{"--db", db, "--positive", "t0001,,"}, true, "--positive: entry 2 of 3 is empty"},
		{"given an empty negative between two, expect a usage error naming --negative", []string{"--db", db, "--positive", "t0001", "--negative", "t0002, ,t0003"}, true, "--negative: entry 2 of 3 is empty"},
		{"given an empty exclusion, expect a usage error naming --exclude", []string{"--db", db, "--user", "u1", "--exclude", ","}, true, "--exclude: entry 1 of 2 is empty"},
		{"given one example over POST /recommend's limit, expect a usage error naming both flags", []string{"--db", db, "--positive", refs(server.MaxSeeds + 1)}, true, fmt.Sprintf("--positive, --negative: %d examples: at most %d in one query", server.MaxSeeds+1, server.MaxSeeds)},
		{"given examples over the limit together, expect a usage error naming both flags", []string{"--db", db, "--positive", refs(60), "--negative", refs(server.MaxSeeds - 59)}, true, "--positive, --negative: 101 examples"},
		{"given one exclusion over the API's limit, expect a usage error naming --exclude", []string{"--db", db, "--user", "u1", "--exclude", refs(server.MaxExclude + 1)}, true, fmt.Sprintf("--exclude: %d tracks: at most %d in one query", server.MaxExclude+1, server.MaxExclude)},
		{"given an unknown user, expect not found naming them", []string{"--db", db, "--user", "nobody"}, false, `"nobody" has no interactions`},
		{"given an unknown track, expect not found naming the flag", []string{"--db", db, "--positive", "nope"}, false, `recommend --positive nope: track "nope" is not in the catalogue (never imported, or deleted since)`},
		{"given an unknown track second in the list, expect not found naming the flag and that track", []string{"--db", db, "--positive", "t0001,nope"}, false, `recommend --positive nope: track "nope"`},
		{"given an unknown negative track, expect not found naming --negative", []string{"--db", db, "--positive", "t0001", "--negative", "t0002,nope"}, false, `recommend --negative nope: track "nope"`},
		{"given a track as a positive and a negative, expect a usage error naming both flags", []string{"--db", db, "--positive", "t0001,t0002", "--negative", "t0002"}, true, "--negative t0002 is also given in --positive"},
		{"given a stray argument, expect a usage error", []string{"--db", db, "u1"}, true, "--user"},
		{"given an unknown user with a control character, expect it escaped", []string{"--db", db, "--user", "no\x1bbody"}, false, `recommend --user no\x1bbody: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t.Context(), append([]string{"recommend"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("recommend %v = %v, want an error mentioning %q", tc.args, err, tc.want)
			}
			// The command line names flags, not the JSON body's fields
			// or the library's error class.
			for _, not := range []string{"positive[", "negative[", "invalid query"} {
				if strings.Contains(err.Error(), not) {
					t.Errorf("recommend %v = %v, which says %q", tc.args, err, not)
				}
			}
			if got := exitCode(err, io.Discard) == 2; got != tc.usage {
				t.Errorf("recommend %v: usage error = %v, want %v", tc.args, got, tc.usage)
			}
		})
	}
	// At the limits, the query is answered (exclusions of no track are
	// ignored).
	exclude := strings.TrimSuffix(strings.Repeat("gone,", server.MaxExclude), ",")
	if _, _, err := runCmd(t.Context(), "recommend", "--db", db, "--positive", refs(server.MaxSeeds-1), "--negative", "t0299", "--exclude", exclude, "-k", "3"); err != nil {
		t.Errorf("recommend with %d examples and %d exclusions = %v, want an answer", server.MaxSeeds, server.MaxExclude, err)
	}
}

// refs is a --positive, --negative or --exclude value of n references
// to tracks of the test database.
func refs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%04d", i%300)
	}
	return strings.Join(ids, ",")
}

// eval --mode user runs Recommend's strategies and the single-seed mean on
// the held-out users of a file (here every user of the test database).
func TestEvalUserMode(t *testing.T) {
	db := userDB(t)
	hold := filepath.Join(t.TempDir(), "holdout.csv")
	var rows strings.Builder
	rows.WriteString("user_id,track_id,action\n")
	for u := range 6 {
		for i := range 8 {
			fmt.Fprintf(&rows, "h%d,t%04d,play\n", u, (u*37+i*5)%300)
		}
	}
	if err := os.WriteFile(hold, []byte(rows.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t.Context(), "eval", "--db", db, "--mode", "user", "--holdout", hold, "--json")
	if err != nil {
		t.Fatalf("eval --mode user: %v", err)
	}
	var rep eval.UserReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if rep.K != 20 || rep.Users != 6 {
		t.Errorf("report %+v: want k 20 and 6 users", rep)
	}
	for name, s := range map[string]eval.UserScores{"average": rep.Average, "best_score": rep.BestScore, "single_seed": rep.SingleSeed} {
		if s.Precision < 0 || s.Precision > 1 || s.Recall < 0 || s.Recall > 1 {
			t.Errorf("%s: %+v outside [0, 1]", name, s)
		}
	}
	out, _, err = runCmd(t.Context(), "eval", "--db", db, "--mode", "user", "--holdout", hold)
	if err != nil || !strings.Contains(out, "best_score") || !strings.Contains(out, "single_seed") {
		t.Errorf("eval --mode user table = %q (%v), want the three rows", out, err)
	}
	_, _, err = runCmd(t.Context(), "eval", "--db", db, "--mode", "users")
	if err == nil || !strings.Contains(err.Error(), "--mode") || exitCode(err, io.Discard) != 2 {
		t.Errorf("eval --mode users = %v, want a usage error naming --mode", err)
	}
}
