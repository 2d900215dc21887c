package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/audotics/soundalike/server"
)

// Given a flag value its flag refuses, when any command parses it, expect
// a usage error (exit 2) of one line naming the flag, the value and what
// the flag takes, then a pointer to the command's -h, and no usage.
func TestFlagValueRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"similar", "-k", "abc"}, `-k "abc": want a whole number (-k: number of results, 1..1000)`},
		{[]string{"similar", "-k", "99999999999999999999"}, `-k "99999999999999999999": too large (-k: number of results, 1..1000)`},
		{[]string{"search", "x", "-k", "-99999999999999999999"}, `-k "-99999999999999999999": too far below zero (-k: number of results, 1..`},
		{[]string{"eval", "--seed", "-1"}, `--seed "-1": want a whole number, 0 or more (--seed: seed of the query sample`},
		{[]string{"serve", "--reload", "5"}, `--reload "5": want a duration such as 500ms, 5s, 1m30s or 2h (--reload: how often`},
		{[]string{"similar", "--json=maybe"}, `--json "maybe": want true or false (--json: print the JSON`},
		{[]string{"import", "--lock-timeout", "0", "x.csv"}, `--lock-timeout "0": want a positive duration such as 60s or 5m (how long to wait while another process holds the database)`},
		{[]string{"import", "--bogus", "x.csv"}, "--bogus is not a flag of soundalike import"},
		{[]string{"similar", "--track"}, "--track needs a value (the catalogue track to start from"},
		{[]string{"eval", "--seed", "+1"}, `--seed "+1": want a whole number, 0 or more, without a sign`},
		// A flag left without its value would take the next flag as it.
		{[]string{"import", "--db", "--strict", "x.csv"}, "--db needs a value: it is followed by --strict, a flag (give --db VALUE, or --db=VALUE for a value that starts with -)"},
		{[]string{"backup", "--out", "--check=false"}, "--out needs a value: it is followed by --check, a flag"},
		{[]string{"similar", "--track", "x", "---k=2"}, `"---k=2": a flag is -NAME or --NAME`},
	} {
		wantFlagRefused(t, tc.args, tc.want)
	}
}

// Given a flag value that parses but that the command refuses once
// parsed (a number out of its range, a word not among its choices), expect
// the error worded as a refused flag value is (TestFlagValueRefused): one
// line naming the flag, the value quoted and what it takes, then the
// pointer to the command's -h; and nothing opened or run. The database
// named does not exist: the value is refused before it is looked for.
func TestFlagRangeRefused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "missing.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"similar", "--db", db, "--track", "t1", "-k", "-1"}, `-k "-1": want 1..1000`},
		{[]string{"search", "--db", db, "song", "-k", "101"}, `-k "101": want 1..100`},
		{[]string{"recommend", "--db", db, "--positive", "t1", "-k", "0"}, `-k "0": want 1..1000`},
		{[]string{"recommend", "--db", db, "--positive", "t1", "--strategy", "best"}, `--strategy "best": want "average" or "best_score"`},
		{[]string{"eval", "--db", db, "-k", "0"}, `-k "0": want at least 1 (neighbours)`},
		{[]string{"eval", "--db", db, "--queries", "0"}, `--queries "0": want at least 1 (queries)`},
		{[]string{"eval", "--db", db, "--holdout", "h.csv", "--max-line-bytes", "0"}, `--max-line-bytes "0": want at least 1 (bytes)`},
		{[]string{"eval", "--db", db, "--mode", "users"}, `--mode "users": want tracks or user`},
		{[]string{"demo", "--db", db, "--epochs", "0"}, `--epochs "0": want at least 1`},
		{[]string{"import", "--db", db, "--buffer-mib", "0", "x.csv"}, `--buffer-mib "0": want 1..1048576 (MiB)`},
		{[]string{"import", "--db", db, "--max-line-bytes", "0", "x.csv"}, `--max-line-bytes "0": want at least 1 (bytes)`},
		{[]string{"import", "--db", db, "--postgres", "postgres://h/d", "--prune", "--prune-max", "0"}, `--prune-max "0": want a percent of the catalogue, 1..100`},
		{[]string{"import", "--db", db, "--postgres", "postgres://h/d", "--stall-timeout", "-1s"}, `--stall-timeout "-1s": want a duration such as 10m or 1h, or 0 to wait for ever`},
		{[]string{"publish", "--db", db, "--weaviate", "http://h:1", "--request-timeout", "0s"}, `--request-timeout "0s": want a positive duration such as 30s`},
		{[]string{"serve", "--db", db, "--reload", "1ms"}, `--reload "1ms": want 0 (never) or a duration of at least`},
		{[]string{"serve", "--db", db, "--max-body", "0"}, `--max-body "0": want at least 1 (bytes)`},
		{[]string{"serve", "--db", db, "--request-timeout", "0s"}, `--request-timeout "0s": want a positive duration such as 2s`},
		{[]string{"serve", "--db", db, "--weaviate", "http://h:1", "--weaviate-hedge-delay", "0s"}, `--weaviate-hedge-delay "0s": want a positive duration such as 250ms`},
		{[]string{"serve", "--db", db, "--log", "xml"}, `--log "xml": want text, json or off`},
		{[]string{"train", "--db", db, "--promote", "sometimes"}, `--promote "sometimes": want auto, always or never`},
	} {
		wantFlagRefused(t, tc.args, tc.want)
	}
}

// Given a value that starts as one of the command's flags does, joined
// to its flag by =, expect it taken as the value, not refused as a flag
// left without one.
func TestFlagValueLikeAFlag(t *testing.T) {
	db := testDB(t, 20)
	_, stderr, code := cli(t, "", "similar", "--db", db, "--track=-k")
	if code != 1 || !strings.Contains(stderr, `track "-k"`) {
		t.Errorf("similar --track=-k: exit %d, %q; want the track -k looked up (not found)", code, stderr)
	}
}

// Given a flag twice, when any command parses it (delete's --from
// included, which its file does not check itself), expect a usage error
// naming the flag, not the last value quietly taken; a list flag's says
// how to give several entries. A listValue flag (--exclude) may be given
// again: TestExcludeRepeated.
func TestFlagGivenTwice(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"similar", "--track", "A", "--track", "B"}, "--track is given twice: give it once\n"},
		{[]string{"similar", "--track", "A", "-k", "5", "-k=6"}, "-k is given twice: give it once\n"},
		{[]string{"delete", "--from", "a.txt", "--from", "b.txt"}, "--from is given twice: give it once\n"},
		{[]string{"import", "--db", "a.db", "x.csv", "--db", "b.db"}, "--db is given twice: give it once\n"},
		{[]string{"info", "--json", "--json"}, "--json is given twice: give it once\n"},
		{[]string{"version", "--json=false", "--json"}, "--json is given twice: give it once\n"},
		{[]string{"recommend", "--positive", "A", "--positive", "B", "--exclude", "C"}, "--positive is given twice: give it once, its entries comma-separated (--positive A,B)\n"},
	} {
		_, stderr, code := cli(t, "", tc.args...)
		if want := "soundalike: " + tc.want; code != 2 || !strings.HasPrefix(stderr, want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, want)
		}
	}
}

// Given -h of each command, expect a description under the usage lines,
// and usage lines that name every flag, unless they end in [flags]:
// all but --lock-timeout, which every command that opens the database
// takes, and a deprecated flag.
func TestUsageNamesFlags(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  -([\w-]+)[^\n]*\n\s+(.*)$`)
	for _, name := range commandNames() {
		if name == "bench" { // only points to soundalike-bench
			continue
		}
		stdout, stderr, code := cli(t, "", "help", name)
		help := stdout + stderr
		usage, rest, _ := strings.Cut(help, "\n\n")
		if code != 0 || !strings.HasPrefix(usage, "Usage: soundalike "+name) {
			t.Errorf("help %s: exit %d, output\n%s\nwant exit 0 and the usage lines first", name, code, help)
			continue
		}
		if desc, _, _ := strings.Cut(rest, "\n  -"); strings.TrimSpace(desc) == "" {
			t.Errorf("help %s has no description under its usage lines:\n%s", name, help)
		}
		if strings.Contains(usage, "[flags]") {
			continue
		}
		for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
			f, desc := m[1], m[2]
			if f == "lock-timeout" || strings.HasPrefix(desc, "deprecated") {
				continue
			}
			if !regexp.MustCompile(`(^|[\s\[])` + regexp.QuoteMeta(flagName(f)) + `([\s\]=]|$)`).MatchString(usage) {
				t.Errorf("help %s: the usage lines do not name %s:\n%s", name, flagName(f), usage)
			}
		}
	}
}

// Given serve -h, expect it to name every endpoint the server answers, as
// the server's own 404 lists them.
func TestServeHelpNamesEndpoints(t *testing.T) {
	rec := httptest.NewRecorder()
	server.New(&startingSearcher{}, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/no-such-endpoint", nil))
	_, list, ok := strings.Cut(rec.Body.String(), "the endpoints are ")
	if !ok {
		t.Fatalf("GET /no-such-endpoint = %d %s, want the list of endpoints", rec.Code, rec.Body)
	}
	list, _, _ = strings.Cut(list, `"`)
	_, help, _ := cli(t, "", "serve", "-h")
	help = strings.Join(strings.Fields(help), " ") // as one line: an endpoint may wrap
	for _, e := range strings.Split(list, ", ") {
		e, _, _ = strings.Cut(e, " (") // GET / (the explorer)
		if !strings.Contains(help, e) {
			t.Errorf("serve -h does not name %s", e)
		}
	}
}

// Given reindex -h, expect each HNSW flag's range and what 0 means.
func TestReindexHelpZero(t *testing.T) {
	_, help, _ := cli(t, "", "reindex", "-h")
	for _, want := range []string{
		"2..256 or 0 for the default (default 16)",
		"1..65536 or 0 for the default (default 200)",
		"1..65536 or 0 for the default (default 80)",
		"goroutines that build the index, 1..1024 or 0 for all cores\n",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("reindex -h does not say %q:\n%s", want, help)
		}
	}
}

// Given --db "" (a script's unset variable), when any command that opens
// a database parses it, expect a usage error (exit 2) naming the flag and
// what it takes, not the library's "path is empty" (exit 1).
func TestEmptyDBRefused(t *testing.T) {
	for _, cmd := range []string{"backup", "check", "delete", "eval", "export", "import", "info", "models", "publish", "recommend", "reindex", "runs", "search", "serve", "similar", "train"} {
		_, stderr, code := cli(t, "", cmd, "--db", "")
		want := `--db "": want a path` + "\nRun `soundalike " + cmd + " -h` for the command's flags."
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("%s --db \"\": exit %d, %q; want 2 and %q", cmd, code, stderr, want)
		}
	}
}

// wantFlagRefused runs the command args and expects exit 2 and two lines
// on standard error: one starting "soundalike: " + want, then the pointer
// to the command's -h.
func wantFlagRefused(t *testing.T, args []string, want string) {
	t.Helper()
	_, stderr, code := cli(t, "", args...)
	want = "soundalike: " + want
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if code != 2 || len(lines) != 2 || !strings.HasPrefix(lines[0], want) ||
		lines[1] != "Run `soundalike "+args[0]+" -h` for the command's flags." {
		t.Errorf("%q: exit %d, stderr\n%s\nwant exit 2, a line starting %q and the pointer to -h", args, code, stderr, want)
	}
}
