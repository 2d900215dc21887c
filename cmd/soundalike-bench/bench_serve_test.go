package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
)

func runCmd(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errw bytes.Buffer
	err = run(ctx, args, &out, &errw)
	return out.String(), errw.String(), err
}

// bench serve builds a small synthetic catalogue, serves it and reports
// every measured request, with no errors and ordered percentiles.
func TestBenchServe(t *testing.T) {
	out, _, err := runCmd(t.Context(), "serve", "--n", "500", "--dim", "16", "--conns", "4",
		"--requests", "300", "--warmup", "20", "--baseline", "50", "--json")
	if err != nil {
		t.Fatalf("bench serve: %v", err)
	}
	var rep serveBenchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench serve --json = %s: %v", out, err)
	}
	if rep.Tracks != 500 || rep.Indexed != 500 || rep.Requests != 300 || rep.Errors != 0 || rep.QPS <= 0 {
		t.Errorf("report = %+v, want 500 tracks indexed, 300 requests, no errors", rep)
	}
	if !(0 < rep.ServerP50US && rep.ServerP50US <= rep.ServerP99US && rep.ServerP99US <= rep.ServerMaxUS) ||
		!(0 < rep.ClientP50US && rep.ClientP50US <= rep.ClientP99US) || rep.BaselineP50US <= 0 || rep.HandlerP50US <= 0 || rep.HeapMiB <= 0 {
		t.Errorf("report = %+v, want positive, ordered percentiles and memory", rep)
	}
	if _, _, err := runCmd(t.Context(), "serve", "--conns", "0"); err == nil || exitCode(err, io.Discard) != 2 {
		t.Errorf("bench serve --conns 0 = %v, want a usage error", err)
	}
}
