package main

import (
	"context"
	"strings"
)

// The benchmarks are a separate command, so that this binary links neither
// their code nor coder/hnsw; bench only points there.
func init() {
	register(command{
		name:    "bench",
		summary: "moved: go run ./cmd/soundalike-bench index|reindex|serve",
		run:     runBench,
	})
}

func runBench(_ context.Context, args []string, _ stdio) error {
	cmd := strings.TrimSpace("go run ./cmd/soundalike-bench " + strings.Join(args, " "))
	return usagef("bench is a separate command: %s", cmd)
}
