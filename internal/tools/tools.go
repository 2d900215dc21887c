//go:build tools

// Package tools pins the design's dependencies in go.mod before every one of
// them has an importer. Remove a line once real code imports that package.
package tools

import (
	_ "github.com/coder/hnsw"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/labstack/echo/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/schollz/progressbar/v3"
	_ "go.etcd.io/bbolt"
	_ "go4.org/unsafe/assume-no-moving-gc"
	_ "gonum.org/v1/gonum/mat"
	_ "gonum.org/v1/plot"
	_ "gorgonia.org/gorgonia"
)
