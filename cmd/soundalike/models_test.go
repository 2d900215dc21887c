package main

import (
	"encoding/json"
	"strings"
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

// Given a database whose current model is v1, when models promote names
// it as v1, V1, 1 or v01, expect each taken as v1; when promote is given
// no version, a version of no such form or two, expect a usage error
// saying what is missing or wrong and listing the forms taken (never Go's
// formatting of a slice).
func TestModelsPromoteVersionForms(t *testing.T) {
	db := testDB(t, 20)
	for _, v := range []string{"v1", "V1", "1", "v01"} {
		stdout, stderr, code := cli(t, "", "models", "promote", v, "--db", db)
		if code != 0 || !strings.Contains(stdout, "v1 is already the current model") {
			t.Errorf("models promote %s: exit %d, %q %q; want v1 taken as the current model", v, code, stdout, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "models promote needs the version to make current: give one as v2, V2 or 2 (`soundalike models` lists them)"},
		{[]string{"vv1"}, `models promote "vv1": want a model version: v2, V2 or 2`},
		{[]string{"v0"}, `models promote "v0": want a model version: v2, V2 or 2`},
		{[]string{"+1"}, `models promote "+1": want a model version: v2, V2 or 2`},
		{[]string{"current"}, `models promote "current": want a model version: v2, V2 or 2`},
		{[]string{"v1", "v2"}, `models promote takes one version; got 2: "v1" "v2"`},
	} {
		_, stderr, code := cli(t, "", append([]string{"models", "--db", db, "promote"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "[") {
			t.Errorf("models promote %q: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// --model takes the same forms (and current, its default).
	for _, v := range []string{"V1", "current"} {
		if _, stderr, code := cli(t, "", "reindex", "--db", db, "--model", v); code != 0 {
			t.Errorf("reindex --model %s: exit %d, %q; want v1 taken", v, code, stderr)
		}
	}
}
