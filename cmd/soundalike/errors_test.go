package main

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
)

// libraryCalls are the names the library's errors give and the command
// line's must not.
var libraryCalls = []string{"trainer.Train", "Engine.", "SaveModel"}

// Given a database with no model, or a model and no index, when a command
// needs them, expect an error that names the command to run in place of
// the library calls the library's message names (docs/architecture.md,
// "Errors"), and that still is the library's sentinel.
func TestErrorsNameCommands(t *testing.T) {
	noModel := importFile(t, "../../trainer/testdata/tracks.csv")
	noIndex := noIndexDB(t, 30)
	const track = "0Wk1soCBUANdaVPHMOYBQt" // in noModel's catalogue
	for _, tc := range []struct {
		name     string
		args     []string
		want     string
		sentinel error
	}{
		{"given no model, when similar, expect soundalike train", []string{"similar", "--db", noModel, "--track", track},
			"similar --track " + track + ": no model: run `soundalike train` first", soundalike.ErrNoModel},
		{"given no model, when export, expect soundalike train", []string{"export", "--db", noModel},
			"export: no model: run `soundalike train` first", soundalike.ErrNoModel},
		{"given no model, when recommend, expect soundalike train", []string{"recommend", "--db", noModel, "--positive", track},
			"recommend: no model: run `soundalike train` first", soundalike.ErrNoModel},
		{"given no model, when eval, expect soundalike train", []string{"eval", "--db", noModel},
			"no model: run `soundalike train` first", soundalike.ErrNoModel},
		{"given no model, when reindex, expect soundalike train", []string{"reindex", "--db", noModel},
			"no model: run `soundalike train` first", soundalike.ErrNoModel},
		{"given no index, when similar, expect soundalike reindex", []string{"similar", "--db", noIndex, "--track", "t0001"},
			"similar --track t0001: no index: run `soundalike reindex` first", soundalike.ErrNoIndex},
		{"given no index, when export, expect soundalike reindex", []string{"export", "--db", noIndex},
			"export: no index: run `soundalike reindex` first", soundalike.ErrNoIndex},
		{"given no index, when recommend, expect soundalike reindex", []string{"recommend", "--db", noIndex, "--positive", "t0001"},
			"recommend: no index: run `soundalike reindex` first", soundalike.ErrNoIndex},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t.Context(), tc.args...)
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("%s = %v, want an error ending %q, wrapping %v", tc.args[0], err, tc.want, tc.sentinel)
			}
			for _, call := range libraryCalls {
				if strings.Contains(err.Error(), call) {
					t.Errorf("%s = %v, names the library's %s", tc.args[0], err, call)
				}
			}
		})
	}
}

// Given a model version that is no version (bogus), when reindex --model,
// eval --model or models promote, expect a usage error naming the flag or
// argument and the forms a version takes, in the command line's terms.
func TestModelVersionNamesCommands(t *testing.T) {
	db := noIndexDB(t, 30)
	for _, args := range [][]string{
		{"reindex", "--db", db, "--model", "bogus"},
		{"eval", "--db", db, "--model", "bogus"},
		{"models", "promote", "bogus", "--db", db},
	} {
		_, _, err := runCmd(t.Context(), args...)
		want := `--model "bogus": want a model version: v2, V2 or 2, or current (` + "`soundalike models`" + ` lists them)` +
			"\nRun `soundalike " + args[0] + " -h` for the command's flags."
		if args[0] == "models" {
			want = `models promote "bogus": want a model version: v2, V2 or 2 (` + "`soundalike models`" + ` lists them)`
		}
		if err == nil || err.Error() != want || exitCode(err, io.Discard) != 2 {
			t.Errorf("%q = %v, want the usage error %q", args, err, want)
		}
	}
}
