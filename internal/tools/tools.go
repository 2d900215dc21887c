//go:build tools

// Package tools pins the design's dependencies in go.mod before every one of
// them has an importer. Remove a line once real code imports that package.
package tools

import (
	_ "go4.org/unsafe/assume-no-moving-gc"
	_ "gonum.org/v1/gonum/mat"
)
