package main

import (
	"encoding/json"
	"io"
	"runtime"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// TestVersion: version names the build, the Go release and the schema
// this build reads; --version is the same command, and version takes no
// arguments.
func TestVersion(t *testing.T) {
	out, _, err := runCmd(t.Context(), "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v versionJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version --json printed %q: %v", out, err)
	}
	if v.Version == "" || v.Go != runtime.Version() || v.Schema != storage.SchemaVersion {
		t.Errorf("version --json = %+v, want a version, Go %s and schema %d", v, runtime.Version(), storage.SchemaVersion)
	}
	text, _, err := runCmd(t.Context(), "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version", "--json=false"}} {
		if got, _, err := runCmd(t.Context(), args...); err != nil || got != text {
			t.Errorf("%q = %q, %v; want version's %q", args, got, err, text)
		}
	}
	if _, _, err := runCmd(t.Context(), "version", "x"); exitCode(err, io.Discard) != 2 {
		t.Errorf("version x = %v, want a usage error", err)
	}
}
