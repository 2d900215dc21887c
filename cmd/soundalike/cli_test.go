package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runCmd runs the command line with buffers, the way main does.
func runCmd(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	return runCmdStdin(ctx, "", args...)
}

func runCmdStdin(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errw bytes.Buffer
	err = run(ctx, args, strings.NewReader(stdin), &out, &errw)
	return out.String(), errw.String(), err
}

// cli runs the command line and returns stdout, stderr and the exit code
// main would use.
func cli(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, err := runCmdStdin(t.Context(), stdin, args...)
	var errw bytes.Buffer
	code = exitCode(err, &errw)
	return stdout, stderr + errw.String(), code
}

// TestParseFlags: flags may come before, between and after the positional
// arguments; after "--" everything is positional.
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		positional []string
		db         string
		json       bool
	}{
		{[]string{"a.csv", "--db", "w.db"}, []string{"a.csv"}, "w.db", false},
		{[]string{"--json", "a.csv", "--db=w.db", "b.csv"}, []string{"a.csv", "b.csv"}, "w.db", true},
		{[]string{"a.csv", "-", "--json"}, []string{"a.csv", "-"}, "d.db", true},
		{[]string{"a.csv", "--", "--db", "w.db"}, []string{"a.csv", "--db", "w.db"}, "d.db", false},
		{[]string{"--", "-x", "--json"}, []string{"-x", "--json"}, "d.db", false},
		{[]string{"--json"}, nil, "d.db", true},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		db := fs.String("db", "d.db", "")
		asJSON := fs.Bool("json", false, "")
		if err := parseFlags(fs, tc.args); err != nil {
			t.Errorf("parseFlags(%q) = %v", tc.args, err)
			continue
		}
		if !slices.Equal(fs.Args(), tc.positional) || *db != tc.db || *asJSON != tc.json {
			t.Errorf("parseFlags(%q): args %q, --db %s, --json %v; want %q, %s, %v", tc.args, fs.Args(), *db, *asJSON, tc.positional, tc.db, tc.json)
		}
	}
}

// Given flags after a command's positional arguments, when import and
// models promote run, expect the flags obeyed, not taken for arguments.
func TestFlagsAfterArguments(t *testing.T) {
	db := filepath.Join(t.TempDir(), "w.db")
	stdout, stderr, err := runCmd(t.Context(), "import", "../../trainer/testdata/tracks.csv", "--db", db, "--json")
	if err != nil || !strings.Contains(stdout, `"tracks_added":160`) {
		t.Fatalf("import FILE --db %s --json = %v\n%s\n%s; want 160 tracks added, as JSON", db, err, stdout, stderr)
	}
	if _, _, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatal(err)
	}
	if stdout, _, err := runCmd(t.Context(), "models", "promote", "v1", "--db", db); err != nil || !strings.Contains(stdout, "v1 is already the current model") {
		t.Errorf("models promote v1 --db %s = %v, %q; want v1 current", db, err, stdout)
	}
	// "--" still ends the flags: "--json" is then a file name.
	if _, _, err := runCmd(t.Context(), "import", "--db", db, "--", "--json"); err == nil || !strings.Contains(err.Error(), "--json") {
		t.Errorf("import --db %s -- --json = %v, want the file --json not found", db, err)
	}
}

// failingWriter is a standard output that cannot be written, as
// /dev/full or a closed pipe.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// Given a standard output that cannot be written, when a command prints
// its report, expect it to fail (exit 1) naming standard output.
func TestReportWriteErrors(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	for _, args := range [][]string{
		append([]string{"train", "--runs", t.TempDir()}, strings.Fields(smallTrain)...), // v1, stored still
		{"eval"},
		{"reindex"},
		{"models", "promote", "v1"},
		{"models"},
		{"runs"},
		{"info"},
		{"check"},
		{"search", "reggaeton"},
		{"import", "../../trainer/testdata/tracks.csv"},
		{"export"},
	} {
		var stderr strings.Builder
		err := run(t.Context(), append(args, "--db", db), strings.NewReader(""), failingWriter{}, &stderr)
		if err == nil || !strings.Contains(err.Error(), "standard output: no space left on device") || exitCode(err, io.Discard) != 1 {
			t.Errorf("%s with standard output full = %v, want exit 1 naming standard output\n%s", args[0], err, stderr.String())
		}
	}
}
