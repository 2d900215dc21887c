package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/postgres"
)

// pgTestDB makes a schema on the test server ($SOUNDALIKE_TEST_POSTGRES,
// see docs/development.md) holding a tiny copy of the app's tables, and
// returns a URL whose search path starts with it. It uses psql, since only
// package postgres imports pgx.
func pgTestDB(t *testing.T) (dbURL, password string) {
	t.Helper()
	base := os.Getenv("SOUNDALIKE_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("SOUNDALIKE_TEST_POSTGRES_REQUIRED") != "" || os.Getenv("CI") == "true" {
			t.Fatal("$SOUNDALIKE_TEST_POSTGRES is not set, and the PostgreSQL tests must run here")
		}
		t.Skip("no PostgreSQL server: set $SOUNDALIKE_TEST_POSTGRES (scripts/pg-test-server start prints one; .ci/run sets it)")
	}
	schema := fmt.Sprintf("cli_%d", time.Now().UnixNano())
	run := func(u, sql string) { t.Helper(); psqlRun(t, u, sql) }
	run(base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { run(base, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-csearch_path="+schema) // libpq's way, which pgx understands too
	u.RawQuery = q.Encode()
	password, _ = u.User.Password()
	run(u.String(), `
CREATE TABLE "Track" (id text PRIMARY KEY, "spotifyId" text UNIQUE NOT NULL, name text NOT NULL,
  artists text[] NOT NULL, album text NOT NULL, popularity integer NOT NULL DEFAULT 0,
  "createdAt" timestamp(3), "updatedAt" timestamp(3));
CREATE TABLE "TrackFeatures" (id text PRIMARY KEY, "trackId" text UNIQUE NOT NULL REFERENCES "Track"(id),
  danceability double precision NOT NULL, energy double precision NOT NULL, loudness double precision NOT NULL,
  speechiness double precision NOT NULL, acousticness double precision NOT NULL,
  instrumentalness double precision NOT NULL, liveness double precision NOT NULL,
  valence double precision NOT NULL, tempo double precision NOT NULL, key integer NOT NULL,
  mode integer NOT NULL, "updatedAt" timestamp(3));
CREATE TABLE "TrackInteraction" (id text PRIMARY KEY, "userId" text NOT NULL,
  "trackId" text NOT NULL REFERENCES "Track"(id), type text NOT NULL,
  timestamp timestamp(3) NOT NULL DEFAULT now());
INSERT INTO "Track" VALUES
  ('a0000000-0000-4000-8000-000000000001', '6f807x0ima9a1j3VPbc7VN', 'I Don''t Care', '{"Ed Sheeran","Justin Bieber"}', 'No.6', 66),
  ('a0000000-0000-4000-8000-000000000002', '0r7CVbZTWZgbTCYdfa2P31', 'Memories', '{"Maroon 5"}', 'Memories', 67),
  ('a0000000-0000-4000-8000-000000000003', '1z1Hg7Vb0AhHDiEmnDE79l', 'All the Time', '{Zara Larsson}', 'All the Time', 70);
INSERT INTO "TrackFeatures" VALUES
  ('f1', 'a0000000-0000-4000-8000-000000000001', 0.748, 0.916, -2.634, 0.0583, 0.102, 0, 0.0653, 0.518, 122.036, 6, 1),
  ('f2', 'a0000000-0000-4000-8000-000000000002', 0.726, 0.815, -4.969, 0.0373, 0.0724, 0.00421, 0.357, 0.693, 99.972, 11, 1),
  ('f3', 'a0000000-0000-4000-8000-000000000003', 0.675, 0.931, -3.432, 0.0742, 0.0794, 0.0000233, 0.11, 0.613, 124.008, 1, 0);
INSERT INTO "TrackInteraction" VALUES
  ('i1', 'u1', 'a0000000-0000-4000-8000-000000000001', 'play', '2025-01-01 10:00:00.123'),
  ('i2', 'u1', 'a0000000-0000-4000-8000-000000000002', 'like', '2025-01-01 10:05:00'),
  ('i3', 'u2', 'a0000000-0000-4000-8000-000000000002', 'skip', '2025-01-01 10:06:00'),
  ('i4', 'u2', 'a0000000-0000-4000-8000-000000000003', 'addToPlaylist', '2025-01-01 10:07:00');`)
	return u.String(), password
}

// psqlRun runs sql on the database at u with psql, failing the test if
// it fails.
func psqlRun(t *testing.T, u, sql string) {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql is needed to set up the test schema: %v", err)
	}
	out, err := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", u, "-c", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
}

func TestImportPostgres(t *testing.T) {
	u, password := pgTestDB(t)
	dbPath := filepath.Join(t.TempDir(), "s.db")

	// The URL after the flag, and more flags after the URL.
	out, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres", u, "--json")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	var sum ingest.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if sum.TracksAdded != 3 || sum.InteractionsAdded != 4 || sum.Rejected != 0 || sum.Errors == nil {
		t.Errorf("import = %+v, want 3 tracks and 4 interactions (the skip too, as from a file)", sum)
	}
	if want := "the default tracks query reads no genre, release date or duration"; !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want it to say %q", stderr, want)
	}
	eng, err := soundalike.Open(dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := eng.Track(t.Context(), "a0000000-0000-4000-8000-000000000001")
	eng.Close()
	if err != nil || tr.SpotifyID != "6f807x0ima9a1j3VPbc7VN" || strings.Join(tr.Artists, "|") != "Ed Sheeran|Justin Bieber" {
		t.Errorf("stored track = %+v, %v, want the Spotify id and both artists", tr, err)
	}

	// --postgres without a value reads $DATABASE_URL; a re-import adds nothing.
	t.Setenv("DATABASE_URL", u)
	out, stderr, err = runCmd(t.Context(), "import", "--postgres", "--db", dbPath, "--actions", "play,like,addToPlaylist,skip")
	if err != nil {
		t.Fatalf("import --postgres with DATABASE_URL: %v\n%s", err, stderr)
	}
	if want := "tracks: 0 added, 0 updated; interactions: 0 added; rejected rows: 0\n"; out != want {
		t.Errorf("re-import = %q, want %q", out, want)
	}
	for _, s := range []string{out, stderr} {
		if strings.Contains(s, password) {
			t.Errorf("output contains the password: %q", s)
		}
	}

	// --actions keeps those actions only.
	out, stderr, err = runCmd(t.Context(), "import", "--postgres", "--db", filepath.Join(t.TempDir(), "s.db"), "--actions", "play,like,addToPlaylist")
	if err != nil {
		t.Fatalf("import --postgres --actions: %v\n%s", err, stderr)
	}
	if want := "tracks: 3 added, 0 updated; interactions: 3 added; rejected rows: 0\n"; out != want {
		t.Errorf("import --actions play,like,addToPlaylist = %q, want %q", out, want)
	}
}

func TestImportPostgresStrictAndRejects(t *testing.T) {
	u, _ := pgTestDB(t)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	bad := `SELECT t.id, t.name, f.danceability * 2 AS danceability, f.energy, f.key, f.loudness, f.mode,
	  f.speechiness, f.acousticness, f.instrumentalness, f.liveness, f.valence, f.tempo
	  FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id`

	out, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--strict", "--no-interactions", "--postgres="+u, "--tracks-query", bad)
	if !errors.Is(err, errSilent) {
		t.Fatalf("strict import with bad rows: %v, want the silent non-zero exit", err)
	}
	if !strings.Contains(out, "--strict: 3 rows rejected, nothing was written") {
		t.Errorf("stdout = %q, want the strict notice", out)
	}
	if !strings.Contains(stderr, "postgres:tracks: row a0000000-0000-4000-8000-000000000001: danceability") {
		t.Errorf("stderr = %q, want each rejected row with its id", stderr)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--strict left the database file it created (%v), want none: nothing was written", err)
	}
}

func TestImportPostgresErrors(t *testing.T) {
	u, password := pgTestDB(t)
	wrong, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	wrong.User = url.UserPassword(wrong.User.Username(), "Wrong-"+password)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	tests := []struct {
		name  string
		env   string
		args  []string
		usage bool
		want  string
	}{
		{"bad password", "", []string{"--postgres", wrong.String()}, false, "password authentication failed"},
		{"no URL, no DATABASE_URL", "", []string{"--postgres"}, true, "DATABASE_URL is not set"},
		{"empty URL, no DATABASE_URL", "", []string{"--postgres", ""}, true, "DATABASE_URL is not set"},
		{"files too", "", []string{"--postgres", u, "tracks.csv"}, true, `unexpected argument "tracks.csv"`},
		{"query without --postgres", "", []string{"--tracks-query", "SELECT 1", "x.csv"}, true, "--tracks-query needs --postgres"},
		{"stall timeout without --postgres", "", []string{"--stall-timeout", "1m", "x.csv"}, true, "--stall-timeout needs --postgres"},
		{"prune without --postgres", "", []string{"--prune", "x.csv"}, true, "--prune needs --postgres"},
		{"negative stall timeout", "", []string{"--postgres", u, "--stall-timeout", "-1s"}, true, `--stall-timeout "-1s": want a duration such as 10m`},
		{"empty action", "", []string{"--postgres", u, "--actions", "play,,like"}, true, "--actions"},
		{"bad query", "", []string{"--postgres", u, "--interactions-query", "SELECT nope FROM \"TrackInteraction\""}, false, "--interactions-query"},
		{"bad password from DATABASE_URL", wrong.String(), []string{"--postgres"}, false, "password authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DATABASE_URL", tt.env)
			out, stderr, err := runCmd(t.Context(), append([]string{"import", "--db", dbPath}, tt.args...)...)
			if err == nil {
				t.Fatalf("import %v succeeded, want an error", tt.args)
			}
			var ue usageError
			if errors.As(err, &ue) != tt.usage {
				t.Errorf("import %v: %v, usage error = %v, want %v", tt.args, err, !tt.usage, tt.usage)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("import %v: %q, want it to contain %q", tt.args, err, tt.want)
			}
			for _, s := range []string{err.Error(), out, stderr} {
				if strings.Contains(s, password) {
					t.Errorf("output contains the password: %q", s)
				}
			}
		})
	}
	// --json prints the failure as the summary with its error, as for
	// files, and without the password.
	t.Setenv("DATABASE_URL", "")
	rep, stderr, err := importReportJSON(t, "--db", dbPath, "--postgres", wrong.String())
	if err == nil || rep.Error != err.Error() || !strings.Contains(rep.Error, "password authentication failed") || strings.Contains(rep.Error+stderr, password) {
		t.Errorf("import --json with a bad password: %v, error %q; want the error in the JSON, without the password", err, rep.Error)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed import created %s (%v): want nothing touched", dbPath, err)
	}
}

// TestImportPostgresKeepsSkips: without --actions, import --postgres
// stores every interaction, as a file import does: a user's skips are in
// their history, which recommendations take as negatives and leave out.
// It kept plays, likes and adds only, and a user's skipped tracks were
// recommended back to them. --actions naming no stored action is refused.
func TestImportPostgresKeepsSkips(t *testing.T) {
	u, _ := pgTestDB(t)
	psqlRun(t, u, `UPDATE "TrackInteraction" SET type = 'skip'`)
	t.Setenv("DATABASE_URL", u)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	out, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if want := "tracks: 3 added, 0 updated; interactions: 4 added; rejected rows: 0\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if strings.Contains(stderr, "action") {
		t.Errorf("stderr = %q, want no word about actions", stderr)
	}
	eng, err := soundalike.Open(dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	history, err := eng.UserHistory(t.Context(), "u2")
	eng.Close()
	if err != nil || len(history) != 2 || history[0].Action != soundalike.ActionSkip || history[1].Action != soundalike.ActionSkip {
		t.Errorf("UserHistory(u2) = %+v, %v, want its two skips", history, err)
	}

	_, stderr, err = runCmd(t.Context(), "import", "--db", filepath.Join(t.TempDir(), "s.db"), "--postgres", "--actions", "play")
	if err == nil || !strings.Contains(err.Error(), `none of the chosen actions ("play") is among those "TrackInteraction" holds ("skip")`) {
		t.Errorf("import --actions play over skips only = %v, want an error naming the chosen and the stored actions\n%s", err, stderr)
	}
}

// TestImportPostgresStalls: a server that sends nothing for
// --stall-timeout stops the import, writing nothing, with an error that
// names what was read, the server, the timeout and the flag.
func TestImportPostgresStalls(t *testing.T) {
	u, _ := pgTestDB(t)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	sleepy := `(SELECT f.* FROM "TrackFeatures" f LIMIT 2) UNION ALL (SELECT f.* FROM "TrackFeatures" f, pg_sleep(30) LIMIT 1)`
	t.Setenv("DATABASE_URL", u)
	_, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--no-interactions", "--tracks-query", sleepy, "--stall-timeout", "300ms")
	if err == nil {
		t.Fatalf("import from a server that stalls succeeded, want an error\n%s", stderr)
	}
	for _, want := range []string{"nothing was written", "reading tracks from soundalike@127.0.0.1:", "sent nothing for 300ms", "raise --stall-timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("import: %q, want it to contain %q", err, want)
		}
	}
	if exitCode(err, io.Discard) != 1 {
		t.Errorf("import: exit %d, want 1", exitCode(err, io.Discard))
	}
}

// TestPostgresFlagForms needs no server: it checks how --postgres finds its
// URL.
func TestPostgresFlagForms(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "DATABASE_URL" {
				return v
			}
			return ""
		}
	}
	const u, e = "postgres://a:pw@h/db", "postgres://b:pw@h/env"
	tests := []struct {
		args    []string
		env     string
		want    string
		actions []string
		json    bool
		usage   bool
	}{
		{args: []string{"--postgres", u}, want: u},
		{args: []string{"--postgres=" + u}, want: u},
		{args: []string{"--postgres", u, "--json", "--actions", "like, play"}, want: u, json: true, actions: []string{"like", "play"}},
		{args: []string{"--json", "--postgres"}, env: e, want: e, json: true},
		{args: []string{"--postgres="}, env: e, want: e},
		{args: []string{"--postgres", ""}, env: e, want: e},
		{args: []string{"--postgres", "host=h user=a password=pw dbname=db"}, want: "host=h user=a password=pw dbname=db"},
		{args: []string{"--postgres"}, usage: true},
		{args: []string{"--postgres=" + u, "x.csv"}, usage: true},
		{args: []string{"--postgres", u, "x.csv"}, usage: true},
		{args: []string{"--postgres", u, "--actions", ""}, usage: true},
	}
	for _, tt := range tests {
		fs := newFlagSet("import", stdio{err: io.Discard}, nil)
		asJSON := fs.Bool("json", false, "")
		p := addPostgresFlags(fs)
		if err := parseFlags(fs, tt.args); err != nil {
			t.Fatalf("parse %q: %v", tt.args, err)
		}
		if !p.given() {
			t.Fatalf("%q: --postgres not seen", tt.args)
		}
		got, opts, err := p.resolve(fs, false, env(tt.env))
		if tt.usage {
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("%q: %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil || got != tt.want || *asJSON != tt.json || strings.Join(opts.Actions, ",") != strings.Join(tt.actions, ",") {
			t.Errorf("%q: url %q, json %v, actions %q, %v; want %q, %v, %q", tt.args, got, *asJSON, opts.Actions, err, tt.want, tt.json, tt.actions)
		}
	}

	// --stall-timeout: the default, a value, and 0, which waits for ever
	// (the option's 0 is its default, a negative value waits for ever).
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, postgres.DefaultStallTimeout},
		{[]string{"--stall-timeout", "1h"}, time.Hour},
		{[]string{"--stall-timeout", "0"}, -1},
	} {
		fs := newFlagSet("import", stdio{err: io.Discard}, nil)
		p := addPostgresFlags(fs)
		if err := parseFlags(fs, append([]string{"--postgres", u}, tc.args...)); err != nil {
			t.Fatalf("parse %q: %v", tc.args, err)
		}
		_, opts, err := p.resolve(fs, false, env(""))
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if opts.StallTimeout != tc.want {
			t.Errorf("%q: StallTimeout %v, want %v", tc.args, opts.StallTimeout, tc.want)
		}
	}
}

// TestPostgresPasswordInArgsWarns: a URL with a password on the command
// line is warned about (without printing it); $DATABASE_URL is not.
func TestPostgresPasswordInArgsWarns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pg.db")
	// Port 1 refuses the connection: the warning comes before it.
	for _, tc := range []struct {
		args []string
		env  string
		warn bool
	}{
		{[]string{"--postgres", "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1"}, "", true},
		{[]string{"--postgres=host=127.0.0.1 port=1 user=u password=s3cret dbname=db connect_timeout=1"}, "", true},
		{[]string{"--postgres", "postgres://u@127.0.0.1:1/db?connect_timeout=1"}, "", false},
		{[]string{"--postgres"}, "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1", false},
	} {
		t.Setenv("DATABASE_URL", tc.env)
		_, errOut, code := cli(t, "", append([]string{"import", "--db", db}, tc.args...)...)
		if code == 0 {
			t.Errorf("%q: exit 0 with no server", tc.args)
		}
		if got := strings.Contains(errOut, "holds a password, which every local user can read"); got != tc.warn {
			t.Errorf("%q (DATABASE_URL %q): warned %v, want %v: %s", tc.args, tc.env, got, tc.warn, errOut)
		}
		if strings.Contains(errOut, "s3cret") {
			t.Errorf("%q: the password is printed: %s", tc.args, errOut)
		}
	}
}

// TestPostgresExtraArgumentHidesPassword: an argument import refuses is
// quoted in the usage error, except the password of one that is a second
// connection URL, which is never printed.
func TestPostgresExtraArgumentHidesPassword(t *testing.T) {
	const second = "postgres://u:s3cret@db.example:5433/music"
	for _, args := range [][]string{
		{"--postgres", "postgres://a@h/db", second},
		{"--postgres=postgres://a@h/db", second},
		{"--postgres", "postgres://a@h/db", "host=db.example port=5433 user=u password=s3cret dbname=music"},
	} {
		_, errOut, code := cli(t, "", append([]string{"import", "--db", filepath.Join(t.TempDir(), "s.db")}, args...)...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (a usage error)", args, code)
		}
		if strings.Contains(errOut, "s3cret") {
			t.Errorf("%q: the password is printed: %s", args, errOut)
		}
		if !strings.Contains(errOut, "u@db.example:5433/music") {
			t.Errorf("%q: %s, want the argument described as user@host:port/database", args, errOut)
		}
	}
	_, errOut, _ := cli(t, "", "import", "--postgres=postgres://a@h/db", "tracks.csv")
	if !strings.Contains(errOut, `(got "tracks.csv")`) {
		t.Errorf("a FILE with --postgres=URL: %s, want the file quoted", errOut)
	}
}

// importReportJSON runs import --json with args and decodes its report.
func importReportJSON(t *testing.T, args ...string) (importReport, string, error) {
	t.Helper()
	out, stderr, err := runCmd(t.Context(), append([]string{"import", "--json"}, args...)...)
	var rep importReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("import %q: --json output %q: %v\n%s", args, out, jerr, stderr)
	}
	return rep, stderr, err
}

// TestImportPostgresInteractionsWaitForTracks: an interaction of a track
// the tracks query does not return (its features are not computed yet) is
// not a rejected row: import --postgres counts it as waiting and exits 0,
// --strict too, and the import after the features arrive adds it. From a
// file, which a later import does not read again, such a row is still
// rejected (TestImportInteractionLog).
func TestImportPostgresInteractionsWaitForTracks(t *testing.T) {
	u, _ := pgTestDB(t)
	psqlRun(t, u, `
INSERT INTO "Track" VALUES ('a0000000-0000-4000-8000-000000000004', '4y4spB9m0Q6026KfkAvy9Q', 'New', '{Someone}', 'New', 10);
INSERT INTO "TrackInteraction" VALUES
  ('i5', 'u1', 'a0000000-0000-4000-8000-000000000004', 'play', '2025-01-02 10:00:00'),
  ('i6', 'u3', 'a0000000-0000-4000-8000-000000000004', 'like', '2025-01-02 10:01:00');`)
	t.Setenv("DATABASE_URL", u)
	dbPath := filepath.Join(t.TempDir(), "s.db")

	out, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--strict")
	if err != nil {
		t.Fatalf("import --strict with interactions of a track without features: %v, want success\n%s%s", err, out, stderr)
	}
	want := "tracks: 3 added, 0 updated; interactions: 4 added; rejected rows: 0\n" +
		"2 interactions wait for tracks not in the catalogue (their features not computed yet, or the track deleted): not stored; each import reads them again\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if strings.Contains(stderr, "not in the catalogue") {
		t.Errorf("stderr = %q, want no rejected row nor warning", stderr)
	}

	rep, stderr, err := importReportJSON(t, "--db", dbPath, "--postgres")
	if err != nil || rep.InteractionsWaiting != 2 || rep.Rejected != 0 || len(rep.Errors) != 0 {
		t.Errorf("import --json = %+v, %v, want 2 interactions waiting and nothing rejected\n%s", rep, err, stderr)
	}

	// The features arrive: the next import adds the interactions.
	psqlRun(t, u, `INSERT INTO "TrackFeatures" VALUES
  ('f4', 'a0000000-0000-4000-8000-000000000004', 0.5, 0.5, -5, 0.05, 0.1, 0, 0.1, 0.5, 120, 5, 1)`)
	rep, stderr, err = importReportJSON(t, "--db", dbPath, "--postgres")
	if err != nil || rep.TracksAdded != 1 || rep.InteractionsAdded != 2 || rep.InteractionsWaiting != 0 {
		t.Errorf("import after the features = %+v, %v, want 1 track and 2 interactions added, none waiting\n%s", rep, err, stderr)
	}
}

// pgCatalogue returns the ids of the tracks in the soundalike database at
// dbPath and its interaction count.
func pgCatalogue(t *testing.T, dbPath string) (ids []string, interactions int) {
	t.Helper()
	eng, err := soundalike.Open(dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	err = eng.ForEachTrack(t.Context(), func(tr *soundalike.Track) error {
		ids = append(ids, string(tr.ID))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := eng.Counts()
	if err != nil {
		t.Fatal(err)
	}
	return ids, c.Interactions
}

// TestImportPostgresPrune: --prune deletes the catalogue's tracks that the
// tracks query no longer returns, a file's too, keeping their
// interactions; without it nothing is deleted.
func TestImportPostgresPrune(t *testing.T) {
	u, _ := pgTestDB(t)
	t.Setenv("DATABASE_URL", u)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	if _, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres"); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	csv := writeCSV(t, [][]string{
		strings.Split("track_id,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo", ","),
		strings.Split("from-a-file,0.5,0.5,5,-5,1,0.05,0.1,0,0.1,0.5,120", ","),
	})
	if _, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, csv); err != nil {
		t.Fatalf("import %s: %v\n%s", csv, err, stderr)
	}
	// The app drops track 3's features: the tracks query no longer returns it.
	psqlRun(t, u, `DELETE FROM "TrackFeatures" WHERE "trackId" = 'a0000000-0000-4000-8000-000000000003'`)
	const one, two = "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"

	out, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres")
	if err != nil || strings.Contains(out, "deleted") {
		t.Fatalf("import without --prune: %q, %v, want nothing deleted\n%s", out, err, stderr)
	}
	if ids, _ := pgCatalogue(t, dbPath); len(ids) != 4 {
		t.Errorf("catalogue after an import without --prune = %q, want all 4 tracks", ids)
	}

	// Half the catalogue is over --prune-max's 10%: refused, nothing written.
	out, stderr, err = runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--prune")
	if err == nil || !strings.Contains(err.Error(), "--prune would delete 2 of the catalogue's 4 tracks (50.0%), more than --prune-max 10%") {
		t.Errorf("import --prune of half the catalogue: %q, %v, want it refused over --prune-max", out, err)
	}
	if ids, _ := pgCatalogue(t, dbPath); len(ids) != 4 {
		t.Errorf("catalogue after a refused --prune = %q, want all 4 tracks", ids)
	}
	if _, _, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--prune-max", "50"); err == nil || !strings.Contains(err.Error(), "give --prune too") {
		t.Errorf("import --prune-max without --prune: %v, want a usage error", err)
	}

	out, stderr, err = runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--prune", "--prune-max", "50")
	if err != nil {
		t.Fatalf("import --prune --prune-max 50: %v\n%s", err, stderr)
	}
	want := "tracks: 0 added, 0 updated; interactions: 0 added; rejected rows: 0\n" +
		"--prune: 2 tracks deleted\n"
	if out != want {
		t.Errorf("import --prune: stdout %q, want %q", out, want)
	}
	ids, interactions := pgCatalogue(t, dbPath)
	if strings.Join(ids, " ") != one+" "+two || interactions != 4 {
		t.Errorf("after --prune: tracks %q, %d interactions; want %s and %s, and the 4 interactions kept", ids, interactions, one, two)
	}

	// --json has the count, 0 when nothing is left to prune; --no-interactions
	// prunes alike.
	rep, stderr, err := importReportJSON(t, "--db", dbPath, "--postgres", "--prune", "--no-interactions")
	if err != nil || rep.TracksDeleted == nil || *rep.TracksDeleted != 0 {
		t.Errorf("import --prune --json again = %+v, %v, want tracks_deleted 0\n%s", rep, err, stderr)
	}
	psqlRun(t, u, `DELETE FROM "TrackFeatures" WHERE "trackId" = '`+two+`'`)
	rep, stderr, err = importReportJSON(t, "--db", dbPath, "--postgres", "--prune", "--prune-max", "50", "--no-interactions")
	if err != nil || rep.TracksDeleted == nil || *rep.TracksDeleted != 1 {
		t.Errorf("import --prune --no-interactions --json = %+v, %v, want tracks_deleted 1\n%s", rep, err, stderr)
	}
	if ids, _ := pgCatalogue(t, dbPath); strings.Join(ids, " ") != one {
		t.Errorf("after --prune --no-interactions: tracks %q, want %s", ids, one)
	}
	// The interactions of pruned tracks the app still holds wait, as
	// those of a track whose features are not computed yet.
	rep, stderr, err = importReportJSON(t, "--db", dbPath, "--postgres")
	if err != nil || rep.TracksDeleted != nil || rep.InteractionsWaiting != 3 || rep.Rejected != 0 {
		t.Errorf("import --json without --prune = %+v, %v, want no tracks_deleted and the 3 interactions of tracks 2 and 3 waiting\n%s", rep, err, stderr)
	}
}

// TestImportPostgresPruneRefusesNoRows: --prune after a tracks query that
// returned no rows (an empty table, the wrong schema or query) writes
// nothing, saying why, rather than deleting the catalogue.
func TestImportPostgresPruneRefusesNoRows(t *testing.T) {
	u, _ := pgTestDB(t)
	t.Setenv("DATABASE_URL", u)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	if _, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres"); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	empty := `SELECT t.id, f.danceability, f.energy, f.key, f.loudness, f.mode, f.speechiness, f.acousticness,
	  f.instrumentalness, f.liveness, f.valence, f.tempo
	  FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id WHERE false`
	for _, args := range [][]string{
		{"--tracks-query", empty},
		{"--tracks-query", empty, "--no-interactions"},
	} {
		_, stderr, err := runCmd(t.Context(), append([]string{"import", "--db", dbPath, "--postgres", "--prune"}, args...)...)
		if err == nil || exitCode(err, io.Discard) != 1 {
			t.Fatalf("import --prune %q over an empty tracks query: %v, want exit 1\n%s", args, err, stderr)
		}
		for _, want := range []string{"nothing was written", "the tracks query returned no rows", "would delete every track of the catalogue (3)", "leave out --prune"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("import --prune %q: %q, want it to contain %q", args, err, want)
			}
		}
		if ids, _ := pgCatalogue(t, dbPath); len(ids) != 3 {
			t.Errorf("after the refused --prune %q: tracks %q, want the 3", args, ids)
		}
	}
}

// TestImportPostgresPruneKeepsRejectedTracks: after a rejected row
// --prune deletes nothing, since the track of a rejected row cannot be
// told from one the query no longer returns, and warns why.
func TestImportPostgresPruneKeepsRejectedTracks(t *testing.T) {
	u, _ := pgTestDB(t)
	t.Setenv("DATABASE_URL", u)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	if _, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres"); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	// Track 2 leaves the query; track 3's row is rejected (danceability 5).
	q := `SELECT t.id, CASE WHEN t.id LIKE '%3' THEN 5 ELSE f.danceability END AS danceability, f.energy, f.key,
	  f.loudness, f.mode, f.speechiness, f.acousticness, f.instrumentalness, f.liveness, f.valence, f.tempo
	  FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id WHERE t.id NOT LIKE '%2'`
	out, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--prune", "--no-interactions", "--tracks-query", q)
	if !errors.Is(err, errSilent) {
		t.Fatalf("import --prune with a rejected row: %v, want the silent exit 1 of rejected rows\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "warning: --prune: deleted no track, as 1 row of the tracks query was rejected") || !strings.Contains(out, "--prune: 0 tracks deleted") {
		t.Errorf("stdout %q, stderr %q: want the warning and 0 tracks deleted", out, stderr)
	}
	if ids, _ := pgCatalogue(t, dbPath); len(ids) != 3 {
		t.Errorf("after --prune with a rejected row: tracks %q, want the 3", ids)
	}
}

// TestImportPostgresPruneDespiteRejectedInteractions: a rejected row of
// the interactions query (an anonymous play, its userId empty) names no
// track the tracks query returns or drops, so --prune still deletes the
// tracks the query no longer returns; the import exits 1 for the row. It
// does not count as a row of the tracks query either: an empty tracks
// query is still refused.
func TestImportPostgresPruneDespiteRejectedInteractions(t *testing.T) {
	u, _ := pgTestDB(t)
	t.Setenv("DATABASE_URL", u)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	psqlRun(t, u, `INSERT INTO "TrackInteraction" VALUES ('i9', '', 'a0000000-0000-4000-8000-000000000001', 'play', '2025-01-03 10:00:00')`)
	if _, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres"); !errors.Is(err, errSilent) {
		t.Fatalf("import with an anonymous play: %v, want the silent exit 1 of a rejected row\n%s", err, stderr)
	}
	psqlRun(t, u, `DELETE FROM "TrackFeatures" WHERE "trackId" = 'a0000000-0000-4000-8000-000000000003'`)

	out, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--prune", "--prune-max", "100")
	if !errors.Is(err, errSilent) {
		t.Fatalf("import --prune with an anonymous play: %v, want the silent exit 1 of a rejected row\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "postgres:interactions: row i9: missing user (column userId is empty)") || strings.Contains(stderr, "deleted no track") {
		t.Errorf("stderr = %q, want the rejected interaction and no pruning warning", stderr)
	}
	if !strings.Contains(out, "--prune: 1 track deleted") {
		t.Errorf("stdout = %q, want track 3 deleted", out)
	}
	if ids, _ := pgCatalogue(t, dbPath); len(ids) != 2 || slices.Contains(ids, "a0000000-0000-4000-8000-000000000003") {
		t.Errorf("after --prune: tracks %q, want tracks 1 and 2", ids)
	}

	empty := `SELECT t.id, f.danceability, f.energy, f.key, f.loudness, f.mode, f.speechiness, f.acousticness,
	  f.instrumentalness, f.liveness, f.valence, f.tempo
	  FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id WHERE false`
	_, stderr, err = runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--prune", "--tracks-query", empty)
	if err == nil || !strings.Contains(err.Error(), "the tracks query returned no rows") {
		t.Errorf("import --prune over an empty tracks query with a rejected interaction: %v, want the refusal\n%s", err, stderr)
	}
	if ids, _ := pgCatalogue(t, dbPath); len(ids) != 2 {
		t.Errorf("after the refused --prune: tracks %q, want the 2", ids)
	}
}

// TestImportPostgresAllInteractionsWait: an --interactions-query that
// reads the wrong ids (the user id as the track id) names no track of
// the catalogue: import warns that the query is likely wrong, and --strict
// refuses it, writing nothing. Interactions of which one names a stored
// track are not warned about (TestImportPostgresInteractionsWaitForTracks).
func TestImportPostgresAllInteractionsWait(t *testing.T) {
	u, _ := pgTestDB(t)
	t.Setenv("DATABASE_URL", u)
	wrong := `SELECT id, "userId" AS user_id, "userId" AS track_id, type AS action FROM "TrackInteraction"`
	const warning = "warning: postgres:interactions: all 4 interactions read name tracks not in the catalogue, so none was stored: their track ids are likely not the catalogue's (a query reading another column as the track id, such as the user id;"

	dbPath := filepath.Join(t.TempDir(), "s.db")
	out, stderr, err := runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--interactions-query", wrong)
	if err != nil {
		t.Fatalf("import with the wrong interactions query: %v, want exit 0 (a warning)\n%s", err, stderr)
	}
	if !strings.Contains(stderr, warning) {
		t.Errorf("stderr = %q, want %q", stderr, warning)
	}
	if want := "4 interactions wait for tracks not in the catalogue"; !strings.Contains(out, want) {
		t.Errorf("stdout = %q, want %q", out, want)
	}

	dbPath = filepath.Join(t.TempDir(), "s.db")
	out, stderr, err = runCmd(t.Context(), "import", "--db", dbPath, "--postgres", "--strict", "--interactions-query", wrong)
	if !errors.Is(err, errSilent) {
		t.Fatalf("import --strict with the wrong interactions query: %v, want the silent exit 1\n%s%s", err, out, stderr)
	}
	if !strings.Contains(out, "--strict: 0 rows rejected, 1 warning, nothing was written") || !strings.Contains(stderr, warning) {
		t.Errorf("stdout %q, stderr %q: want the warning and nothing written", out, stderr)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--strict refused, yet %s exists: %v", dbPath, err)
	}
}
