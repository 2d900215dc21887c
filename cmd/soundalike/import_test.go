package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/google/go-cmp/cmp"
)

const testdata = "../../testdata/"

func info(t *testing.T, db string) infoJSON {
	t.Helper()
	out, errOut, code := cli(t, "", "info", "--db", db, "--json")
	if code != 0 {
		t.Fatalf("info: exit %d: %s", code, errOut)
	}
	var got infoJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("info --json: %v: %s", err, out)
	}
	return got
}

// sampleCounts reads the sample independently: distinct tracks, users and
// rows.
func sampleCounts(t *testing.T) (tracks, users, rows int) {
	f, err := os.Open(testdata + "spotify_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ids, us := map[string]bool{}, map[string]bool{}
	for _, r := range all[1:] {
		ids[r[0]] = true
		us[r[8]] = true // playlist_id
	}
	return len(ids), len(us), len(all) - 1
}

func TestImportSampleTwice(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	tracks, users, rows := sampleCounts(t)
	out, errOut, code := cli(t, "", "import", "--db", db, testdata+"spotify_sample.csv")
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr = %q, want nothing (no progress bar when it is not a terminal)", errOut)
	}
	if want := "tracks: " + strconv.Itoa(tracks) + " added"; !strings.Contains(out, want) {
		t.Errorf("import output %q, want it to contain %q", out, want)
	}
	got := info(t, db)
	if got.Tracks != tracks || got.Users != users || got.Interactions != rows || got.Model != nil || got.Index != nil {
		t.Errorf("info = %+v, want %d tracks, %d users, %d interactions, no model or index", got, tracks, users, rows)
	}
	out, _, code = cli(t, "", "import", "--db", db, "--json", testdata+"spotify_sample.csv")
	if code != 0 || strings.TrimSpace(out) != `{"tracks_added":0,"tracks_updated":0,"interactions_added":0,"rejected":0,"errors":[],"repeated_ids":0,"warnings":[]}` {
		t.Errorf("second import: exit %d, %s; want exit 0 and nothing added", code, out)
	}
	if again := info(t, db); again != got {
		t.Errorf("info after the second import = %+v, want %+v", again, got)
	}
}

func TestImportRejects(t *testing.T) {
	db := filepath.Join(t.TempDir(), "r.db")
	out, errOut, code := cli(t, "", "import", "--db", db, testdata+"rejects.csv")
	if code != 1 {
		t.Errorf("exit %d, want 1 when rows are rejected", code)
	}
	for _, want := range []string{
		"rejects.csv:3: missing track id (column track_id is empty)\n",
		"rejects.csv:13: key: 5.5 is not a whole number in -1..11 (pitch class, -1 = unknown)\n",
		"rejects.csv:24: track_popularity: 101 is outside 0..100\n", // the file's column, not soundalike's "popularity"
		"rejects.csv:27: row has 14 fields, the header has 16\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q, want it to contain %q", errOut, want)
		}
	}
	if strings.Contains(errOut, "soundalike:") {
		t.Errorf("stderr repeats an error after the rejected rows: %q", errOut)
	}
	if want := "tracks: 6 added, 0 updated; interactions: 0 added; rejected rows: 27\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if got := info(t, db); got.Tracks != 6 {
		t.Errorf("tracks stored = %d, want the 6 good rows", got.Tracks)
	}
}

// TestImportStrictWritesNothing: --strict with rejected rows writes
// nothing: into a new path, not even the database file, so that the path
// still holds no database; into a database, it leaves it unchanged.
func TestImportStrictWritesNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "strict.db")
	out, _, code := cli(t, "", "import", "--db", db, "--strict", testdata+"spotify_sample.csv", testdata+"rejects.csv")
	// The warning: rejects.csv:30 repeats a track of the sample with
	// other values, across the files of the command.
	if code != 1 || !strings.Contains(out, "--strict: 27 rows rejected, 1 warning, nothing was written") {
		t.Errorf("exit %d, stdout %q; want 1 and the strict message", code, out)
	}
	if _, errOut, code := cli(t, "", "info", "--db", db); code != 1 || !strings.Contains(errOut, "no database there yet") {
		t.Errorf("info after a strict import into a new path: exit %d, %q; want 1 and no database there yet", code, errOut)
	}
	if _, errOut, code := cli(t, "", "import", "--db", db, testdata+"tracks.tsv"); code != 1 {
		t.Fatalf("import tracks.tsv: exit %d, %s", code, errOut)
	}
	before := info(t, db)
	cli(t, "", "import", "--db", db, "--strict", testdata+"spotify_sample.csv", testdata+"rejects.csv")
	if got := info(t, db); got != before {
		t.Errorf("after a strict import with rejections: %+v, want %+v, as before", got, before)
	}
	out, _, _ = cli(t, "", "import", "--db", db, "--strict", "--json", testdata+"rejects.csv")
	var sum struct {
		TracksAdded int `json:"tracks_added"`
		Rejected    int `json:"rejected"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.TracksAdded != 0 || sum.Rejected != 27 {
		t.Errorf("strict --json = %s (%v), want 0 added, 27 rejected", out, err)
	}
}

func TestImportJSON(t *testing.T) {
	db := filepath.Join(t.TempDir(), "j.db")
	out, _, code := cli(t, "", "import", "--db", db, "--json", testdata+"tracks.tsv")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	want := map[string]any{
		"tracks_added": 3.0, "tracks_updated": 0.0, "interactions_added": 3.0, "rejected": 2.0,
		"repeated_ids": 0.0, "warnings": []any{},
		"errors": []any{
			map[string]any{"file": testdata + "tracks.tsv", "line": 5.0, "reason": "row has 4 fields, the header has 16"},
			map[string]any{"file": testdata + "tracks.tsv", "line": 6.0, "reason": `tempo: "fast" is not a number (accepted: plain decimals such as 120, -7.25 or 1.06e-05)`},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("--json (-want +got):\n%s", diff)
	}
}

// Given an import that fails (a file that does not exist, a header with
// no track id column, a gzip file truncated after rows were stored), when
// it runs with --json, expect exit 1, stderr's error, and on stdout one
// JSON object of the summary's shape whose "error" is that message and
// whose counts of what was written are 0. A usage error (exit 2) prints
// no JSON.
func TestImportJSONFailure(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"missing.csv"}, "missing.csv: no such file or directory"},
		{[]string{"no_id_column.csv"}, "no_id_column.csv: unusable columns: no track id column"},
		{[]string{"spotify_sample.csv", "truncated.csv.gz"}, "import: nothing was written: " + testdata + "truncated.csv.gz: after line"},
	} {
		t.Run(tc.files[len(tc.files)-1], func(t *testing.T) {
			args := []string{"import", "--json", "--db", filepath.Join(t.TempDir(), "f.db")}
			for _, f := range tc.files {
				args = append(args, testdata+f)
			}
			out, errOut, code := cli(t, "", args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("--json output %q: %v; want the summary with the error", out, err)
			}
			if e, _ := got["error"].(string); !strings.Contains(e, tc.want) || !strings.Contains(errOut, e) {
				t.Errorf(`"error" = %q, want stderr's message, with %q`, got["error"], tc.want)
			}
			for _, k := range []string{"tracks_added", "tracks_updated", "interactions_added"} {
				if got[k] != 0.0 {
					t.Errorf("%s = %v, want 0: nothing was written", k, got[k])
				}
			}
			for _, k := range []string{"errors", "warnings"} {
				if _, ok := got[k].([]any); !ok {
					t.Errorf("%s = %v, want a list, as a successful import gives", k, got[k])
				}
			}
		})
	}
	out, _, code := cli(t, "", "import", "--json", "-", "-")
	if code != 2 || out != "" {
		t.Errorf("import --json - -: exit %d, stdout %q; want 2 and no JSON (a usage error)", code, out)
	}
}

// TestImportFailuresWriteNothing: a refused file stops the import before
// the database is touched; a fatal error part-way rolls everything back,
// and removes the database file the import created, so that the path
// still holds no database.
func TestImportFailuresWriteNothing(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"spotify_sample.csv", "no_id_column.csv"}, "no_id_column.csv: unusable columns: no track id column; found columns: track_name"},
		{[]string{"spotify_sample.csv", "truncated.csv.gz"}, "import: nothing was written: " + testdata + "truncated.csv.gz: after line"},
		{[]string{"unterminated_quote.csv"}, "unterminated_quote.csv:3: unterminated quoted field"},
	} {
		t.Run(tc.files[len(tc.files)-1], func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "f.db")
			args := []string{"import", "--db", db}
			for _, f := range tc.files {
				args = append(args, testdata+f)
			}
			_, errOut, code := cli(t, "", args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the database file is there (%v), want none: nothing was written", err)
			}
		})
	}
}

func TestImportNoInteractionsAndStdin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "n.db")
	tsv, err := os.ReadFile(testdata + "tracks.tsv")
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code := cli(t, string(tsv), "import", "--db", db, "--no-interactions", "-", testdata+"tracks.jsonl")
	if code != 1 || !strings.Contains(errOut, "stdin:5: row has 4 fields") || !strings.Contains(errOut, "tracks.jsonl:4: invalid JSON") {
		t.Errorf("exit %d, stderr %q; want 1 with stdin:5 and tracks.jsonl:4 rejected", code, errOut)
	}
	got := info(t, db)
	if got.Tracks != 4 || got.Interactions != 0 || got.Users != 0 {
		t.Errorf("info = %+v, want 4 tracks (3 from the TSV, 3 from the JSONL, 2 ids shared) and no interactions", got)
	}
}

// Given a file whose rows have a user, action or timestamp cell an
// interaction cannot hold (a NUL byte, one too many bytes, a time of no
// accepted form or out of range), and an interaction log with such cells,
// when import --no-interactions reads them, expect every track stored,
// nothing rejected and exit 0: the flag ignores user columns.
func TestImportNoInteractionsIgnoresBadUserCells(t *testing.T) {
	dir := t.TempDir()
	features := ",0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,"
	long := strings.Repeat("u", soundalike.MaxKeyLen+1)
	tracks := filepath.Join(dir, "tracks.csv")
	plays := filepath.Join(dir, "plays.csv")
	for name, text := range map[string]string{
		tracks: "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence,track_name,user_id,action,timestamp\n" +
			"t1" + features + "one,u\x00,play,2024-01-01\n" +
			"t2" + features + "two," + long + ",play,2024-01-01\n" +
			"t3" + features + "three,u1,play,tomorrow\n" +
			"t4" + features + "four,u1,play,2300-01-01\n",
		plays: "user_id,track_id,action,timestamp\nu\x00,t1,play,2024-01-01\n,t2,play,tomorrow\n",
	} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "n.db")
	// Not --strict: the interaction log is warned about (it imports
	// nothing); a rejected row would still exit 1.
	out, errOut, code := cli(t, "", "import", "--db", db, "--no-interactions", tracks, plays)
	if code != 0 || !strings.Contains(out, "tracks: 4 added, 0 updated; interactions: 0 added; rejected rows: 0") {
		t.Errorf("import --no-interactions: exit %d\n%s%s\nwant exit 0, 4 tracks added, none rejected", code, out, errOut)
	}
	if got := info(t, db); got.Tracks != 4 || got.Interactions != 0 {
		t.Errorf("info = %+v, want 4 tracks and no interactions", got)
	}
}

// TestImportSameFileTwiceInOneCommand: interactions are counted per
// file, so giving a file twice stores them once.
func TestImportSameFileTwiceInOneCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "twice.db")
	tracks, users, rows := sampleCounts(t)
	if _, errOut, code := cli(t, "", "import", "--db", db, testdata+"spotify_sample.csv", testdata+"spotify_sample.csv"); code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	if got := info(t, db); got.Tracks != tracks || got.Users != users || got.Interactions != rows {
		t.Errorf("info = %+v, want %d tracks, %d users, %d interactions", got, tracks, users, rows)
	}
}

// TestImportInteractionLog: tracks and an interaction log in one import.
func TestImportInteractionLog(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.db")
	tracks, users, rows := sampleCounts(t)
	out, errOut, code := cli(t, "", "import", "--db", db, testdata+"spotify_sample.csv", testdata+"plays.csv")
	if code != 1 || !strings.Contains(errOut, "plays.csv:7: track \"0000000000000000000000\" is not in the catalogue") {
		t.Errorf("exit %d, stderr %q; want 1 and the unknown track on line 7", code, errOut)
	}
	if want := "interactions: " + strconv.Itoa(rows+5) + " added; rejected rows: 3"; !strings.Contains(out, want) {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if got := info(t, db); got.Tracks != tracks || got.Users != users+2 || got.Interactions != rows+5 {
		t.Errorf("info = %+v, want %d tracks, %d users, %d interactions", got, tracks, users+2, rows+5)
	}
}

// Given an interaction log named before the file of its tracks (import
// plays.csv tracks.csv), when one import command reads both, expect every
// interaction added and none rejected: the log is read after the files
// that give tracks.
func TestImportInteractionLogBeforeItsTracks(t *testing.T) {
	dir := t.TempDir()
	tracks, plays := filepath.Join(dir, "tracks.csv"), filepath.Join(dir, "plays.csv")
	for name, text := range map[string]string{
		tracks: "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence\n" +
			"t1,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9\n" + "t2,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.5\n",
		plays: "user_id,track_id,action,timestamp\nu1,t1,play,2024-01-01\nu2,t2,like,2024-01-02\n",
	} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "o.db")
	out, errOut, code := cli(t, "", "import", "--db", db, plays, tracks)
	if want := "tracks: 2 added, 0 updated; interactions: 2 added; rejected rows: 0\n"; code != 0 || out != want {
		t.Errorf("import plays.csv tracks.csv: exit %d\n%s%s\nwant exit 0 and %q", code, out, errOut, want)
	}
	if got := info(t, db); got.Tracks != 2 || got.Interactions != 2 {
		t.Errorf("info = %+v, want 2 tracks and 2 interactions", got)
	}
}

func TestImportUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "no FILE given"},
		{[]string{"import", "--bogus", "x.csv"}, "--bogus is not a flag of soundalike import"},
		{[]string{"import", "-", "-"}, "- (stdin) given 2 times"},
		{[]string{"info", "extra"}, "info takes no arguments"},
	} {
		_, errOut, code := cli(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestInfoNoDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "missing.db")
	_, errOut, code := cli(t, "", "info", "--db", db)
	if code != 1 || !strings.Contains(errOut, "run `soundalike import` to create it") {
		t.Errorf("exit %d, stderr %q; want 1 and a hint to import", code, errOut)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("info created %s", db)
	}
}

func TestInfoText(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	if _, errOut, code := cli(t, "", "import", "--db", db, testdata+"camel_case.csv"); code != 1 {
		t.Fatalf("import: exit %d (%s), want 1 (one bad timestamp)", code, errOut)
	}
	out, errOut, code := cli(t, "", "info", "--db", db)
	if code != 0 {
		t.Fatalf("info: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"tracks        6\n", "users         3\n", "interactions  5\n", "model         none: run `soundalike train`\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("info = %q, want it to contain %q", out, want)
		}
	}
}

// TestImportDevFile imports the shared dev file twice: the counts the
// issue gives, then nothing new.
func TestImportDevFile(t *testing.T) {
	path := os.Getenv("SOUNDALIKE_DEV_DATA")
	if path == "" {
		path = "/work/shared/data/spotify_songs_dev.csv.gz"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("dev data not available (%v); set SOUNDALIKE_DEV_DATA", err)
	}
	if testing.Short() {
		t.Skip("short: 25,762 rows into bbolt")
	}
	db := filepath.Join(t.TempDir(), "dev.db")
	for i, wantAdded := range []int{23009, 0} {
		out, errOut, code := cli(t, "", "import", "--db", db, "--json", path)
		if code != 0 {
			t.Fatalf("import %d: exit %d: %s", i+1, code, errOut)
		}
		var sum struct {
			TracksAdded int `json:"tracks_added"`
			Rejected    int `json:"rejected"`
		}
		json.Unmarshal([]byte(out), &sum)
		if sum.TracksAdded != wantAdded || sum.Rejected != 0 {
			t.Errorf("import %d: %s, want %d added, 0 rejected", i+1, out, wantAdded)
		}
		got := info(t, db)
		if got.Tracks != 23009 || got.Interactions != 25762 || got.Users != 377 {
			t.Errorf("after import %d: %d tracks, %d interactions, %d users; want 23009, 25762, 377",
				i+1, got.Tracks, got.Interactions, got.Users)
		}
	}
}

// TestImportBufferFlag: --buffer-mib 1 makes the sample's import stage its
// writes in the file, with the same result; --memory, its deprecated
// alias, does the same with a warning; 0, and sizes whose bytes would
// wrap round to the default (2^44 MiB) or to "never stage" (2^43 MiB), are
// refused, naming the flag and the range.
func TestImportBufferFlag(t *testing.T) {
	dir := t.TempDir()
	var infos [3]infoJSON
	var outs [3]string
	for i, args := range [][]string{{"--buffer-mib", "128"}, {"--buffer-mib", "1"}, {"--memory", "1"}} {
		db := filepath.Join(dir, args[0][2:]+args[1]+".db")
		argv := append([]string{"import", "--db", db}, args...)
		argv = append(argv, "--json", testdata+"spotify_sample.csv", testdata+"spotify_sample.csv")
		out, errOut, code := cli(t, "", argv...)
		if code != 0 {
			t.Fatalf("import %v: exit %d: %s %s", args, code, out, errOut)
		}
		if deprecated := strings.Contains(errOut, "--memory is deprecated: use --buffer-mib"); deprecated != (args[0] == "--memory") {
			t.Errorf("import %v: stderr %q: want the deprecation warning only for --memory", args, errOut)
		}
		infos[i], outs[i] = info(t, db), out
		infos[i].DB = ""
	}
	for i := 1; i < 3; i++ {
		if infos[i] != infos[0] || outs[i] != outs[0] {
			t.Errorf("import %d: %s, info %+v; --buffer-mib 128: %s, info %+v: want the same", i, outs[i], infos[i], outs[0], infos[0])
		}
	}
	for _, flag := range []string{"--buffer-mib", "--memory"} {
		for _, v := range []string{"0", "1048577", "8796093022208", "17592186044416"} {
			db := filepath.Join(dir, "x.db")
			_, errOut, code := cli(t, "", "import", "--db", db, flag, v, testdata+"spotify_sample.csv")
			if want := flag + ` "` + v + `": want 1..1048576 (MiB)`; code != 2 || !strings.Contains(errOut, want) {
				t.Errorf("%s %s: exit %d, %q; want a usage error saying %q", flag, v, code, errOut, want)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("%s %s: the database was created (%v); want nothing written", flag, v, err)
			}
		}
	}
	// Both names at once: neither silently wins.
	const both = "--memory is the deprecated name of --buffer-mib: give --buffer-mib alone"
	if _, errOut, code := cli(t, "", "import", "--db", filepath.Join(dir, "x.db"), "--memory", "64", "--buffer-mib", "32", testdata+"spotify_sample.csv"); code != 2 || !strings.Contains(errOut, both) {
		t.Errorf("--memory 64 --buffer-mib 32: exit %d, %q; want a usage error saying %q", code, errOut, both)
	}
}

// Given an interaction log (testdata/plays.csv), when import
// --no-interactions reads it, expect a warning naming the file and the
// flag (it imports nothing from it), and with --strict nothing written
// and exit 1.
func TestImportNoInteractionsWarnsOfInteractionLog(t *testing.T) {
	db := filepath.Join(t.TempDir(), "n.db")
	out, errOut, code := cli(t, "", "import", "--db", db, "--no-interactions", testdata+"plays.csv")
	if code != 0 || !strings.Contains(errOut, "warning: "+testdata+"plays.csv: is an interaction log") ||
		!strings.Contains(errOut, "--no-interactions imports no interactions: nothing is imported from it") {
		t.Errorf("import --no-interactions plays.csv: exit %d\n%s%s\nwant exit 0 and a warning naming plays.csv as an interaction log", code, out, errOut)
	}
	out, errOut, code = cli(t, "", "import", "--db", db, "--no-interactions", "--strict", testdata+"plays.csv")
	if code != 1 || !strings.Contains(out, "--strict: 0 rows rejected, 1 warning, nothing was written") {
		t.Errorf("import --no-interactions --strict plays.csv: exit %d\n%s%s\nwant exit 1, refused for the warning", code, out, errOut)
	}
}

// Given two files that give the same two tracks, one with other values,
// when one import command reads both, expect the tracks counted once each
// (2 added, 0 updated), a warning naming the second file's line and the
// first file, and --strict refusing it.
func TestImportRepeatAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	header := "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence\n"
	features := ",0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,"
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	for name, text := range map[string]string{
		a: header + "t1" + features + "0.9\n" + "t2" + features + "0.9\n",
		b: header + "t2" + features + "0.9\n" + "t1" + features + "0.5\n",
	} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "r.db")
	out, errOut, code := cli(t, "", "import", "--db", db, a, b)
	want := "warning: " + b + ":3: 1 row repeats the track id of a row of an earlier file of this import (" + a + ") with other values; the last row's values are kept"
	if code != 0 || !strings.Contains(out, "tracks: 2 added, 0 updated;") || !strings.Contains(errOut, want) {
		t.Errorf("import a.csv b.csv: exit %d\n%s%s\nwant exit 0, 2 added, 0 updated, and the warning\n%s", code, out, errOut, want)
	}
	out, errOut, code = cli(t, "", "import", "--db", filepath.Join(dir, "s.db"), "--strict", a, b)
	if code != 1 || !strings.Contains(out, "nothing was written") {
		t.Errorf("import --strict a.csv b.csv: exit %d\n%s%s\nwant exit 1, refused for the repeat", code, out, errOut)
	}
	// The same file twice repeats its tracks with the same values: no
	// warning, and each track counted once.
	out, errOut, code = cli(t, "", "import", "--db", filepath.Join(dir, "t.db"), "--strict", a, a)
	if code != 0 || !strings.Contains(out, "tracks: 2 added, 0 updated;") || strings.Contains(errOut, "warning") {
		t.Errorf("import --strict a.csv a.csv: exit %d\n%s%s\nwant exit 0, 2 added, no warning", code, out, errOut)
	}
}

// Given an import stopped by a signal (main's context cancelled with a
// stopSignal cause) while it reads rows, expect its error to name the
// signal, SIGTERM's as SIGINT's, rather than Go's bare "context
// canceled", and still to be context.Canceled and exit 128 plus the
// signal's number.
func TestImportInterruptedNamesTheSignal(t *testing.T) {
	rows, err := os.ReadFile(testdata + "spotify_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		want string
		code int
	}{
		{syscall.SIGTERM, "import: interrupted (terminated signal received) before anything was committed", 143},
		{syscall.SIGINT, "import: interrupted (interrupt signal received) before anything was committed", 130},
	} {
		// A pipe that sends the header and some rows, then nothing.
		pr, pw := io.Pipe()
		go pw.Write(rows[:bytes.LastIndexByte(rows[:4096], '\n')+1])
		ctx, cancel := context.WithCancelCause(t.Context())
		time.AfterFunc(50*time.Millisecond, func() { cancel(stopSignal{tc.sig}) })
		db := filepath.Join(t.TempDir(), "w.db")
		err := run(ctx, []string{"import", "--db", db, "-"}, pr, io.Discard, io.Discard)
		pw.Close()
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(fmt.Sprint(err), tc.want) {
			t.Errorf("import stopped by %v = %v, want context.Canceled and %q", tc.sig, err, tc.want)
		}
		if code := exitStatus(ctx, err, io.Discard); code != tc.code {
			t.Errorf("import stopped by %v: exit %d, want %d", tc.sig, code, tc.code)
		}
	}
}
