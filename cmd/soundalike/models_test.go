package main

import (
	"encoding/json"
	"testing"
	"time"
)

// Given a stored model, when models --json and runs --json, expect its
// created time in RFC 3339 in both, the same instant.
func TestModelsJSONCreated(t *testing.T) {
	db := testDB(t, 20)
	var got [2][]struct {
		Version string `json:"version"`
		Created string `json:"created"`
	}
	for i, cmd := range []string{"models", "runs"} {
		stdout, stderr, err := runCmd(t.Context(), cmd, "--db", db, "--json")
		if err != nil {
			t.Fatalf("%s --json: %v\n%s", cmd, err, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), &got[i]); err != nil || len(got[i]) != 1 {
			t.Fatalf("%s --json = %s (%v), want one version", cmd, stdout, err)
		}
		if _, err := time.Parse(time.RFC3339, got[i][0].Created); err != nil {
			t.Errorf("%s --json: created %q is not RFC 3339: %v", cmd, got[i][0].Created, err)
		}
	}
	if got[0][0].Created != got[1][0].Created {
		t.Errorf("models --json created %q, runs --json %q; want the same", got[0][0].Created, got[1][0].Created)
	}
}

// Given models promote with --json, expect the version and whether it
// changed as JSON, not the sentence.
func TestModelsPromoteJSON(t *testing.T) {
	db := testDB(t, 20)
	if _, _, err := runCmd(t.Context(), "train", "--db", db, "--epochs", "1", "--promote", "never", "--runs", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []promoteJSON{{"v2", true}, {"v2", false}} {
		stdout, stderr, err := runCmd(t.Context(), "models", "promote", want.Version, "--db", db, "--json")
		var got promoteJSON
		if err != nil || json.Unmarshal([]byte(stdout), &got) != nil || got != want {
			t.Errorf("models promote %s --json = %v, %q (%s); want %+v", want.Version, err, stdout, stderr, want)
		}
	}
}
