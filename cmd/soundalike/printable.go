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

// maxQuotedText bounds how much of a text a message quotes (quoteText):
// more than any track reference, flag value, or name and artists typed to
// find a track, few enough that a text pasted by mistake (a file's worth)
// leaves a readable line.
const maxQuotedText = 128

// quoteText is s, a text given to the command (a flag value, a search's
// TEXT, a track reference, a row's id), quoted for a message: escaped, cut
// to about maxQuotedText bytes, an empty s showing as "".
func quoteText(s string) string {
	return `"` + printable.Cut(s, maxQuotedText) + `"`
}

// quoteList is the texts given to the command, each quoted as quoteText
// quotes it, separated by spaces: how a message shows the arguments it
// refuses.
func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quoteText(s)
	}
	return strings.Join(q, " ")
}
