// Package printable escapes text that comes from a catalogue or a
// database (ids, names) for a terminal, so that it cannot inject escape
// sequences into what a person reads: the commands' human output and the
// errors that quote a row.
package printable

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s safe to print on a terminal: control characters
// (which could move the cursor, retitle the window or fake output, and
// which break a line or a table: tab and newline included), the
// bidirectional overrides (which reorder what is shown), line separators
// and invalid UTF-8 are written as Go escapes (\x1b, \u202e). Other text,
// in any script, is kept. --json output is escaped by JSON itself.
func String(s string) string { return escape(s, -1) }

// Cut is String keeping about n bytes of the escaped text: a longer s is
// cut there and followed by its length, "…(N bytes)". An
// error that quotes a value it cannot trust (a row's id from a database)
// stays one readable line.
func Cut(s string, n int) string { return escape(s, max(n, 0)) }

// escape is String, cut as Cut cuts when limit ≥ 0.
func escape(s string, limit int) string {
	if (limit < 0 || len(s) <= limit) && !needsEscape(s) {
		return s // the usual case: no allocation
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if limit >= 0 && b.Len() >= limit {
			fmt.Fprintf(&b, "…(%d bytes)", len(s))
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether s has a rune String escapes.
func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c >= 0x20 && c < 0x7f { // printable ASCII
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

// unsafeRune reports whether r may not be printed as it is.
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r): // C0 (tab and newline included), DEL, C1
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi controls
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}
