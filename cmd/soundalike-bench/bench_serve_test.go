package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestMain lets bench serve start its client by re-executing the test
// binary, as it re-executes soundalike-bench outside tests.
func TestMain(m *testing.M) {
	if os.Getenv(benchAsCommandEnv) == "1" {
		os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
	}
	os.Exit(m.Run())
}

func runCmd(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errw bytes.Buffer
	err = run(ctx, args, &out, &errw)
	return out.String(), errw.String(), err
}

// bench serve builds a small synthetic catalogue, serves it to a client
// in another process in three phases, and reports each with no errors,
// ordered percentiles, and the handler's times beside the client's.
func TestBenchServe(t *testing.T) {
	timeline := filepath.Join(t.TempDir(), "timeline.csv")
	out, _, err := runCmd(t.Context(), "serve", "--n", "500", "--dim", "16", "--conns", "2",
		"--duration", "300ms", "--warmup", "50ms", "--baseline", "50", "--timeline", timeline, "--json")
	if err != nil {
		t.Fatalf("bench serve: %v", err)
	}
	var rep serveBenchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench serve --json = %s: %v", out, err)
	}
	if rep.Tracks != 500 || rep.Indexed != 500 || len(rep.Phases) != 3 {
		t.Fatalf("report = %+v, want 500 tracks indexed and three phases", rep)
	}
	for _, p := range rep.Phases {
		c := p.Client
		if c.Requests == 0 || c.Errors != 0 || !(0 < c.P50US && c.P50US <= c.P99US && c.P99US <= c.P999US && c.P999US <= c.MaxUS) {
			t.Errorf("phase %s: client = %+v, want requests, no errors and ordered percentiles", p.Name, c)
		}
		if !(0 < p.HandlerP50US && p.HandlerP50US <= p.HandlerP99US && p.HandlerP99US <= p.HandlerMaxUS) {
			t.Errorf("phase %s: handler p50 %v p99 %v max %v, want positive and ordered", p.Name, p.HandlerP50US, p.HandlerP99US, p.HandlerMaxUS)
		}
		// What a phase's requests cost in CPU time, at its rate, fits the
		// machine (a quarter over allows for the phases' edges).
		if server, client := p.CPUs(); server <= 0 || client <= 0 || server+client > 1.25*float64(runtime.NumCPU()) {
			t.Errorf("phase %s: server %.2f and client %.2f CPUs, want both positive and within %d", p.Name, server, client, runtime.NumCPU())
		}
		if len(p.Slowest) == 0 || p.Slowest[0].HandlerUS <= 0 || p.Slowest[0].HandlerUS > p.Slowest[0].ClientUS {
			t.Errorf("phase %s: slowest = %+v, want each paired with a shorter handler time", p.Name, p.Slowest)
		}
	}
	if rep.Phases[2].Client.Rate <= 0 || rep.BaselineP50US <= 0 || rep.HandlerP50US <= 0 || rep.HeapMiB <= 0 {
		t.Errorf("report = %+v, want an open-loop rate, baselines and memory", rep)
	}
	if _, err := os.Stat("/proc/self/smaps_rollup"); err == nil && (rep.AnonMiB <= 0 || rep.AnonHugeMiB < 0 || rep.AnonHugeMiB > rep.AnonMiB) {
		t.Errorf("anonymous memory %v MiB, %v MiB of it huge: want some where /proc/self/smaps_rollup exists, and at most all of it huge", rep.AnonMiB, rep.AnonHugeMiB)
	}
	fp := rep.Footprint
	if fp.Vectors != 16*2 || fp.Graph <= 0 || fp.Catalogue <= 0 || fp.DedupeKeys <= 0 || fp.WordIndex <= 0 {
		t.Errorf("footprint = %+v, want 32 bytes of vector per track (16 halves) and every part counted", fp)
	}
	checkTimeline(t, timeline, rep)
	if _, _, err := runCmd(t.Context(), "serve", "--conns", "0"); err == nil || exitCode(err, io.Discard) != 2 {
		t.Errorf("bench serve --conns 0 = %v, want a usage error", err)
	}
}

// checkTimeline checks bench serve's --timeline: a row for every request,
// each connection's paired with its own handler calls, whose times fall
// in order (due ≤ sent ≤ handler start ≤ end ≤ answered), and as many
// measured rows a phase as the client counted.
func checkTimeline(t *testing.T, path string, rep serveBenchReport) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0]+"\n" != timelineHeader {
		t.Fatalf("timeline header = %q, want %q", lines[0], timelineHeader)
	}
	measured := map[string]int{}
	for i, line := range lines[1:] {
		f := strings.Split(line, ",")
		if len(f) != 9 || f[8] != "true" {
			t.Fatalf("timeline line %d = %q, want 9 fields of a request that succeeded", i+2, line)
		}
		var ts [5]int64
		for j, col := range []int{3, 4, 5, 6, 7} {
			if ts[j], err = strconv.ParseInt(f[col], 10, 64); err != nil {
				t.Fatalf("timeline line %d = %q: field %d: %v", i+2, line, col+1, err)
			}
		}
		if !slices.IsSorted(ts[:]) {
			t.Fatalf("timeline line %d = %q: times out of order", i+2, line)
		}
		if f[2] == "true" {
			measured[f[0]]++
		}
	}
	for key, p := range map[string]servePhase{"one": rep.Phases[0], "peak": rep.Phases[1], "open": rep.Phases[2]} {
		if measured[key] != p.Client.Requests {
			t.Errorf("timeline: %d measured requests in phase %s, the client counted %d", measured[key], key, p.Client.Requests)
		}
	}
}

// bench serve --rounds runs each round in a fresh process, alternated with
// --against's binary, and summarises each binary's runs by phase: the
// median and range of the client's p99 are those of its own runs.
func TestBenchServeRounds(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "rounds.db")
	out, _, err := runCmd(t.Context(), "serve", "--db", db, "--n", "300", "--dim", "8", "--conns", "2",
		"--duration", "200ms", "--warmup", "20ms", "--baseline", "10", "--phases", "peak,open",
		"--rounds", "2", "--against", self, "--json")
	if err != nil {
		t.Fatalf("bench serve --rounds: %v", err)
	}
	var got serveRounds
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bench serve --rounds --json = %s: %v", out, err)
	}
	if len(got.Runs) != 4 || len(got.Summary) != 2 {
		t.Fatalf("%d runs and %d summaries, want 4 (2 rounds × 2 binaries) and 2", len(got.Runs), len(got.Summary))
	}
	lower := 0
	for i, r := range got.Runs {
		wantRole := []string{"this", "against"}[i%2]
		if r.Round != i/2+1 || r.Role != wantRole || r.Report.Tracks != 300 || len(r.Report.Phases) != 2 {
			t.Fatalf("run %d = round %d, %s, %d tracks, %d phases: want round %d, %s, 300 tracks, 2 phases",
				i, r.Round, r.Role, r.Report.Tracks, len(r.Report.Phases), i/2+1, wantRole)
		}
		if i%2 == 1 && openP99(got.Runs[i-1].Report) < openP99(r.Report) {
			lower++
		}
	}
	if got.Pairs != 2 || got.LowerPairs != lower {
		t.Errorf("pairs = %d, lower_pairs = %d, want 2 and %d", got.Pairs, got.LowerPairs, lower)
	}
	for s, sum := range got.Summary {
		if len(sum.Phases) != 2 || sum.Phases[0].Phase != "peak" || sum.Phases[1].Phase != "open" {
			t.Fatalf("summary %d = %+v, want the peak and open phases", s, sum)
		}
		for k, ps := range sum.Phases {
			a, b := got.Runs[s].Report.Phases[k].Client.P99US, got.Runs[s+2].Report.Phases[k].Client.P99US
			if ps.MedianP99US != (a+b)/2 || ps.MinP99US != min(a, b) || ps.MaxP99US != max(a, b) {
				t.Errorf("summary %s %s = %+v, want median %v of its runs' p99 %v and %v", sum.Role, ps.Phase, ps, (a+b)/2, a, b)
			}
		}
	}
	for _, args := range [][]string{
		{"--rounds", "0"},
		{"--rounds", "2", "--timeline", filepath.Join(t.TempDir(), "t.csv")},
		{"--against", filepath.Join(t.TempDir(), "missing")},
	} {
		if _, _, err := runCmd(t.Context(), append([]string{"serve", "--db", db}, args...)...); err == nil || exitCode(err, io.Discard) != 2 {
			t.Errorf("bench serve %v = %v, want a usage error", args, err)
		}
	}
}

// sampleIDs draws its ids from the whole catalogue, each once, and
// returns every id of a catalogue smaller than asked.
func TestSampleIDs(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if err := buildSyntheticDB(t.Context(), db, 400, 8, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	ids, err := sampleIDs(t.Context(), db, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	late := 0 // ids past the first 100 in id order
	for _, id := range ids {
		if seen[string(id)] {
			t.Fatalf("id %s sampled twice", id)
		}
		seen[string(id)] = true
		if string(id) >= "synth0000100" {
			late++
		}
	}
	// Uniform: three quarters of a sample come from past the first
	// quarter; under 50 of 100 happens with probability below 1e-8.
	if len(ids) != 100 || late < 50 {
		t.Errorf("sample of 100 from 400: %d ids, %d past the first 100 in id order; want 100 and about 75", len(ids), late)
	}
	all, err := sampleIDs(t.Context(), db, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 400 {
		t.Errorf("sample of 1000 from 400: %d ids, want all 400", len(all))
	}
}
