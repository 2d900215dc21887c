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
