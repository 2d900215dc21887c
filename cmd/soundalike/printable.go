package main

import (
	"io"
	"strings"
	"unicode"

	"golang.org/x/text/width"

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

// displayWidth is the number of columns s takes on a terminal: two for a
// wide or fullwidth East Asian character (a CJK ideograph, kana, Hangul,
// a fullwidth form), none for a combining mark, one for any other.
// text/tabwriter counts one for every rune instead, which misaligns the
// columns after a CJK name (writeTable).
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me):
		case isWide(r):
			n += 2
		default:
			n++
		}
	}
	return n
}

// isWide reports whether r takes two columns on a terminal: its East
// Asian Width is wide or fullwidth.
func isWide(r rune) bool {
	k := width.LookupRune(r).Kind()
	return k == width.EastAsianWide || k == width.EastAsianFullwidth
}

// writeTable writes rows, each a line of printable cells, as
// text/tabwriter writes them with a padding of 2 spaces, but measuring
// cells by displayWidth: every cell but a line's last is padded with
// spaces to the widest cell of its column and two more, so that the
// columns line up on a terminal after names in any script. It is for the
// tables that print a catalogue's names (similar, recommend, search).
func writeTable(w io.Writer, rows [][]string) error {
	var widths []int // of each column but the last
	for _, row := range rows {
		for i, cell := range row[:max(len(row)-1, 0)] {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
