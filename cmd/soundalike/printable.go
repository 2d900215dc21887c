package main

import (
	"strings"

	"github.com/audotics/soundalike/internal/printable"
)

// printableJoin is printable.String of each of ss, joined by sep.
func printableJoin(ss []string, sep string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = printable.String(s)
	}
	return strings.Join(out, sep)
}
