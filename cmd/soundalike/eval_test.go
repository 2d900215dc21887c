package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
// alike), expect a usage error naming -k, the catalogue's size and the
// range accepted, in both modes; -k 158 is scored.
func TestEvalKBeyondCatalogue(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	for _, args := range [][]string{{"-k", "100000000"}, {"-k", "159"}, {"-k", "100000000", "--mode", "user"}} {
		stdout, stderr, code := cli(t, "", append([]string{"eval", "--db", db}, args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "-k "+args[1]) || !strings.Contains(stderr, "has 160 tracks") || !strings.Contains(stderr, "want 1..158") {
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
	want, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--holdout", app, "-k", "5", "--json")
	if err != nil || stderr != "" {
		t.Fatalf("eval --holdout of the catalogue's ids: %v\n%s", err, stderr)
	}
	got, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--holdout", sample, "-k", "5", "--json")
	if err != nil || stderr != "" || got != want {
		t.Errorf("eval --holdout of Spotify ids = %v\n%s%s\nwant no warning and the report of the catalogue's ids\n%s", err, got, stderr, want)
	}
}

// appKeyed writes the CSV file sample with its track ids replaced by
// ids of the app's own (app-N) and kept in a spotify_id column, and
// returns its path.
func appKeyed(t *testing.T, sample string) string {
	t.Helper()
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
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
	path := filepath.Join(t.TempDir(), "app.csv")
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
