package main

import (
	"strings"
	"testing"
)

// bench points to the separate benchmark command, keeping the mode and
// flags it was given.
func TestBenchPointer(t *testing.T) {
	_, stderr, code := cli(t, "", "bench", "index", "--n", "1000")
	want := "go run ./cmd/soundalike-bench index --n 1000"
	if code != 2 || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("bench index --n 1000: exit %d, stderr %q, want 2 and one line containing %q", code, stderr, want)
	}
}
