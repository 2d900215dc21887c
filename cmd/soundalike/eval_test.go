package main

import (
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
