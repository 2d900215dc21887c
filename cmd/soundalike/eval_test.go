package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/words"
)

// Given a trained model and no index yet, when eval --mode user (which
// measures the served index), expect an error that names the database and
// the command to run, not the library's Engine.Reindex or a user number.
func TestEvalUserModeWithoutIndex(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	_, _, err := runCmd(t.Context(), "eval", "--db", db, "--mode", "user")
	if err == nil || !strings.Contains(err.Error(), "run soundalike reindex first") || !strings.Contains(err.Error(), db) ||
		strings.Contains(err.Error(), "Engine.Reindex") || strings.Contains(err.Error(), "user 0") {
		t.Fatalf("eval --mode user without an index = %v, want an error naming %s and soundalike reindex", err, db)
	}
}

// Given a catalogue of 160 tracks, when eval -k is 159 or more (each
// query's top k would then hold every other track, and every model score
// alike), expect a usage error naming -k and its value, quoted as
// refuseFlag quotes it, the catalogue's size and the range accepted, in
// both modes; -k 158 is scored.
func TestEvalKBeyondCatalogue(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	for _, args := range [][]string{{"-k", "100000000"}, {"-k", "159"}, {"-k", "100000000", "--mode", "user"}} {
		stdout, stderr, code := cli(t, "", append([]string{"eval", "--db", db}, args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, `-k "`+args[1]+`"`) || !strings.Contains(stderr, "has 160 tracks") || !strings.Contains(stderr, "want 1..158") {
			t.Errorf("eval %v = exit %d\n%s%s\nwant exit 2 naming -k, the 160 tracks and 1..158, and no report", args, code, stdout, stderr)
		}
	}
	if stdout, stderr, code := cli(t, "", "eval", "--db", db, "-k", "158"); code != 0 || !strings.Contains(stdout, "k=158") {
		t.Errorf("eval -k 158 = exit %d\n%s%s\nwant its report", code, stdout, stderr)
	}
}

// Given a catalogue keyed by the app's own ids that keeps each track's
// Spotify id (the sample with its ids replaced and kept in spotify_id),
// when eval --holdout is given the sample as it is, naming the tracks by
// Spotify id, expect its interactions counted, none left out as missing:
// the same report as for the file naming the catalogue's ids.
func TestEvalHoldoutBySpotifyID(t *testing.T) {
	const sample = "../../trainer/testdata/tracks.csv"
	app := appKeyed(t, sample)
	db := importFile(t, app)
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	// The file's users are the model's own (trained on, or held out), which
	// eval warns of; no interaction may be left out as naming a track not
	// in the catalogue.
	const leftOut = "not in the catalogue"
	want, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--holdout", app, "-k", "5", "--json")
	if err != nil || strings.Contains(stderr, leftOut) {
		t.Fatalf("eval --holdout of the catalogue's ids: %v\n%s", err, stderr)
	}
	got, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--holdout", sample, "-k", "5", "--json")
	if err != nil || strings.Contains(stderr, leftOut) || got != want {
		t.Errorf("eval --holdout of Spotify ids = %v\n%s%s\nwant none left out and the report of the catalogue's ids\n%s", err, got, stderr, want)
	}
	// The same file on stdin (--holdout -), as import reads it.
	file, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	got, stderr, err = runCmdStdin(t.Context(), string(file), "eval", "--db", db, "--holdout", "-", "-k", "5", "--json")
	if err != nil || strings.Contains(stderr, leftOut) || got != want {
		t.Errorf("eval --holdout - of the file = %v\n%s%s\nwant none left out and the report of the file named\n%s", err, got, stderr, want)
	}
}

// appKeyed writes the CSV file sample with its track ids replaced by
// ids of the app's own (app-N) and kept in a spotify_id column, and
// returns its path.
func appKeyed(t *testing.T, sample string) string {
	t.Helper()
	rows := readCSV(t, sample)
	col := slices.Index(rows[0], "track_id")
	if col < 0 {
		t.Fatalf("%s: no track_id column", sample)
	}
	ids := map[string]string{}
	rows[0] = append(rows[0], "spotify_id")
	for i, r := range rows[1:] {
		id, ok := ids[r[col]]
		if !ok {
			id = fmt.Sprintf("app-%d", len(ids))
			ids[r[col]] = id
		}
		rows[i+1] = append(r, r[col])
		rows[i+1][col] = id
	}
	return writeCSV(t, rows)
}

// Given a trained catalogue of the sample's tracks, when eval --holdout
// is given a file whose interactions name tracks not in the catalogue,
// expect the warning to count them with the right plural, to name the
// first five by line and track reference, and to advise an import of the
// file with --no-interactions only when the file has feature columns to
// import the tracks from: an interactions-only file's missing tracks were
// deleted or never imported.
func TestEvalHoldoutNamesTracksLeftOut(t *testing.T) {
	const sample = "../../trainer/testdata/tracks.csv"
	db := importFile(t, sample)
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	rows := readCSV(t, sample)
	col := slices.Index(rows[0], "track_id")
	// plays writes an interactions-only file: two users playing the
	// sample's first ten tracks, then plays of the missing tracks, and
	// returns its path.
	plays := func(missing ...string) string {
		out := [][]string{{"user_id", "track_id", "action"}}
		for i, r := range rows[1:11] {
			out = append(out, []string{fmt.Sprintf("u%d", i%2), r[col], "play"})
		}
		for _, id := range missing {
			out = append(out, []string{"u0", id, "play"})
		}
		return writeCSV(t, out)
	}

	one := plays("gone1")
	_, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--holdout", one, "-k", "5")
	if want := "1 interaction names a track that is not in the catalogue (deleted, or never imported"; err != nil || !strings.Contains(stderr, want) ||
		!strings.Contains(stderr, "; it is left out:") || !strings.Contains(stderr, one+`:12: track "gone1"`) || strings.Contains(stderr, "--no-interactions") {
		t.Errorf("eval --holdout with 1 track missing = %v\n%s\nwant %q, it is left out, %s:12 named and no --no-interactions advice", err, stderr, want, one)
	}

	seven := plays("g1", "g2", "g3", "g4", "g5", "g6", "g7")
	_, stderr, err = runCmd(t.Context(), "eval", "--db", db, "--holdout", seven, "-k", "5")
	if err != nil || !strings.Contains(stderr, "7 interactions name tracks that are not in the catalogue") || !strings.Contains(stderr, "they are left out:") ||
		!strings.Contains(stderr, seven+`:16: track "g5"`) || strings.Contains(stderr, `"g6"`) || !strings.Contains(stderr, "and 2 more") {
		t.Errorf("eval --holdout with 7 tracks missing = %v\n%s\nwant the 7 counted, g1..g5 named by line, and 2 more", err, stderr)
	}

	// A file with feature columns: the sample with ten tracks the
	// catalogue lacks, which an import of the file would add.
	extra := slices.Clone(rows)
	for i := range 10 {
		r := slices.Clone(rows[1+i])
		r[col] = fmt.Sprintf("new%d", i)
		extra = append(extra, r)
	}
	withTracks := writeCSV(t, extra)
	_, stderr, err = runCmd(t.Context(), "eval", "--db", db, "--holdout", withTracks, "-k", "5")
	if want := fmt.Sprintf("(import %s with --no-interactions first", withTracks); err != nil || !strings.Contains(stderr, "10 interactions name tracks") ||
		!strings.Contains(stderr, want) || strings.Contains(stderr, "never imported") || !strings.Contains(stderr, fmt.Sprintf("%s:%d: track \"new0\"", withTracks, len(rows)+1)) {
		t.Errorf("eval --holdout of a file with feature columns and 10 new tracks = %v\n%s\nwant %q and new0 named by its line", err, stderr, want)
	}
}

// readCSV reads a whole CSV file.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// writeCSV writes rows to a CSV file of its own and returns its path.
func writeCSV(t *testing.T, rows [][]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rows.csv")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	w.WriteAll(rows)
	if err := errors.Join(w.Error(), out.Close()); err != nil {
		t.Fatal(err)
	}
	return path
}

// Given a trained and indexed catalogue, when eval --json in either mode,
// expect the version of the model measured and the held-out users, as
// the text output's first line names them.
func TestEvalJSONNamesModel(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if _, stderr, err := runCmd(t.Context(), "reindex", "--db", db); err != nil {
		t.Fatalf("reindex: %v\n%s", err, stderr)
	}
	for _, mode := range []string{"tracks", "user"} {
		text, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--mode", mode)
		if err != nil {
			t.Fatalf("eval --mode %s: %v\n%s", mode, err, stderr)
		}
		stdout, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--mode", mode, "--json")
		var got struct {
			ModelVersion string `json:"model_version"`
			Users        int    `json:"users"`
		}
		if err != nil || json.Unmarshal([]byte(stdout), &got) != nil {
			t.Fatalf("eval --mode %s --json: %v\n%s%s", mode, err, stdout, stderr)
		}
		want := words.Count(got.Users, "held-out user")
		if got.ModelVersion != "v1" || got.Users == 0 || !strings.Contains(text, want) {
			t.Errorf("eval --mode %s --json: model_version %q, users %d; want v1 and the users of the text output:\n%s", mode, got.ModelVersion, got.Users, text)
		}
	}
}

// Given a baseline that scored 0 (a small held-out set), when eval words
// the model's precision beside the baselines', expect that baseline said
// to score 0, not a ratio of "—" in the sentence, and the model's
// precision as a number when no baseline has a ratio.
func TestComparePrecision(t *testing.T) {
	raw, same := "raw_features", "same_artist"
	for _, tc := range []struct {
		p, raw, same float64
		want         string
	}{
		{0.3, 0.1, 0.2, "model precision@5 is 3.00× raw_features and 1.50× same_artist"},
		{0.3, 0, 0.2, "model precision@5 is 1.50× same_artist; raw_features scores 0"},
		{0.04, 0, 0, "model precision@5 is 0.0400; raw_features and same_artist score 0"},
		{0, 0.1, 0, "model precision@5 is 0.00× raw_features; same_artist scores 0"},
	} {
		got := comparePrecision("model precision@5", tc.p, baseline{raw, tc.raw}, baseline{same, tc.same})
		if got != tc.want || strings.Contains(got, "—") {
			t.Errorf("comparePrecision(%v, raw %v, same %v) = %q, want %q", tc.p, tc.raw, tc.same, got, tc.want)
		}
	}
}

// Given a model trained on the sample's users (playlists), when eval
// --holdout is given a file of its training users, expect a warning that
// counts them as trained on and names the database and the model, a
// report that does not call them held out, in both modes, and their count
// in --json's users_trained_on; given the sample itself, the users split
// into those trained on and those held out; given a file of the model's
// validation users, no warning, held-out users and the report eval gives
// without --holdout. A model that recorded no validation users cannot be
// checked: one warning line, users "not checked as held out", and no
// users_trained_on.
func TestEvalHoldoutOfTrainingUsers(t *testing.T) {
	const sample = "../../trainer/testdata/tracks.csv"
	db := importFile(t, sample)
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if _, stderr, err := runCmd(t.Context(), "reindex", "--db", db); err != nil {
		t.Fatalf("reindex: %v\n%s", err, stderr)
	}
	eng, err := soundalike.Open(db, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	val, err := validationUsers(t.Context(), eng, "v1")
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, u := range val {
		held[u] = true
	}
	rows := readCSV(t, sample)
	col := slices.Index(rows[0], "playlist_id")
	// users writes the sample's rows of the users trained on (or of
	// those held out) and returns its path and how many users it has.
	users := func(heldOut bool) (string, int) {
		out, seen := [][]string{rows[0]}, map[string]bool{}
		for _, r := range rows[1:] {
			if held[r[col]] == heldOut {
				out, seen[r[col]] = append(out, r), true
			}
		}
		return writeCSV(t, out), len(seen)
	}
	eval := func(args ...string) (stdout, stderr string) {
		t.Helper()
		stdout, stderr, err := runCmd(t.Context(), append([]string{"eval", "--db", db, "-k", "5"}, args...)...)
		if err != nil {
			t.Fatalf("eval %v: %v\n%s", args, err, stderr)
		}
		return stdout, stderr
	}
	trainedOn := func(stdout string) *int {
		t.Helper()
		var got struct {
			Users *int `json:"users_trained_on"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("eval --json: %v\n%s", err, stdout)
		}
		return got.Users
	}

	train, n := users(false)
	warning := fmt.Sprintf("warning: --holdout %s: %d of its %d users have interactions in %s and are not among model v1's validation users: the model trained on them", train, n, n, db)
	for _, mode := range []string{"tracks", "user"} {
		stdout, stderr := eval("--holdout", train, "--mode", mode)
		if !strings.Contains(stderr, warning) || !strings.Contains(stderr, "eval without --holdout") ||
			!strings.Contains(stdout, "all trained on (not held out)") || strings.Contains(stdout, "held-out users") {
			t.Errorf("eval --mode %s --holdout of the training users:\n%s%s\nwant the warning %q and no held-out users in the report", mode, stdout, stderr, warning)
		}
		stdout, _ = eval("--holdout", train, "--mode", mode, "--json")
		if got := trainedOn(stdout); got == nil || *got == 0 {
			t.Errorf("eval --mode %s --holdout of the training users --json: users_trained_on %v, want their count\n%s", mode, got, stdout)
		}
	}
	stdout, _ := eval("--holdout", train, "--json")
	if got := trainedOn(stdout); got == nil || *got != n {
		t.Errorf("eval --holdout of the %d training users --json: users_trained_on %v\n%s", n, got, stdout)
	}

	stdout, stderr := eval("--holdout", sample)
	if want := fmt.Sprintf("%d users: %d trained on, %d held out", n+len(val), n, len(val)); !strings.Contains(stdout, want) ||
		!strings.Contains(stderr, fmt.Sprintf("%d of its %d users have", n, n+len(val))) {
		t.Errorf("eval --holdout of the sample:\n%s%s\nwant %q and the %d trained on counted", stdout, stderr, want, n)
	}

	heldOut, nv := users(true)
	want, _ := eval()
	stdout, stderr = eval("--holdout", heldOut)
	if stderr != "" || stdout != want || !strings.Contains(stdout, "model v1, "+words.Count(nv, "held-out user")+"\n") {
		t.Errorf("eval --holdout of the validation users:\n%s%s\nwant no warning and the report of eval without --holdout:\n%s", stdout, stderr, want)
	}
	stdout, _ = eval("--holdout", heldOut, "--json")
	if got := trainedOn(stdout); got == nil || *got != 0 {
		t.Errorf("eval --holdout of the validation users --json: users_trained_on %v, want 0\n%s", got, stdout)
	}

	// The same model stored again without its validation users, as a
	// model trained before they were recorded was.
	eng, err = soundalike.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, info, err := eng.LoadModel(t.Context(), "v1")
	if err == nil {
		_, err = eng.SaveModelVersion(t.Context(), m, soundalike.ModelRun{Config: info.Config, Metrics: info.Metrics, History: json.RawMessage(`{"epochs":[]}`)}, false)
	}
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr = eval("--holdout", train, "--model", "v2")
	if want := "model v2 recorded no validation users"; strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) ||
		!strings.Contains(stdout, "users, not checked as held out") || strings.Contains(stdout, "held-out users") {
		t.Errorf("eval --holdout of a model without validation users:\n%s%s\nwant one warning line %q and the users not called held out", stdout, stderr, want)
	}
	if stdout, _ = eval("--holdout", train, "--model", "v2", "--json"); trainedOn(stdout) != nil {
		t.Errorf("eval --holdout of a model without validation users --json: want no users_trained_on\n%s", stdout)
	}

	// Users imported since training are no validation users either: the
	// warning says the database has grown, and the report counts them
	// with those trained on, not as trained on.
	fresh := [][]string{{"user_id", "track_id", "action"}}
	for i, r := range rows[1:41] {
		fresh = append(fresh, []string{fmt.Sprintf("new%d", i%4), r[slices.Index(rows[0], "track_id")], "play"})
	}
	later := writeCSV(t, fresh)
	if _, stderr, err := runCmd(t.Context(), "import", "--db", db, later); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	stdout, stderr = eval("--holdout", later, "--model", "v1")
	if want := "holds 4 more users than model v1 trained with"; !strings.Contains(stderr, want) ||
		!strings.Contains(stdout, "4 users, all trained on or imported since training\n") || strings.Contains(stdout, "not held out") {
		t.Errorf("eval --holdout of users imported since training:\n%s%s\nwant %q and the users not called trained on only", stdout, stderr, want)
	}
}
