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
