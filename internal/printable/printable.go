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

// Cut is String keeping about n bytes of the escaped text from its
// start: a longer s is cut there and followed by its length,
// "…(N bytes)". It is for a value quoted for what it is (a row's id, a
// column name, a search text), which its start names; an error that
// quotes a value it cannot trust stays one readable line.
func Cut(s string, n int) string { return escape(s, max(n, 0)) }

// CutMiddle is String keeping about n bytes of the escaped text from both
// ends: a longer s loses its middle, "…(N bytes cut)…". It is for a
// message, whose start says where and whose end says what is wrong
// ("track …: a record of 3 bytes, shorter than its header"): Cut would
// keep the where and drop the what.
func CutMiddle(s string, n int) string {
	n = max(n, 0)
	if len(s) <= n && !needsEscape(s) {
		return s
	}
	// Three quarters for the start, which is usually the longer part.
	head, tail := prefixEnd(s, n*3/4), suffixStart(s, n/4)
	if tail <= head {
		return escape(s, -1) // the ends meet: nothing to cut
	}
	mark := fmt.Sprintf("…(%d bytes cut)…", tail-head)
	if mid := s[head:tail]; len(mid) <= len(mark) && len(escape(mid, -1)) <= len(mark) {
		return escape(s, -1) // the mark would be no shorter than what it stands for
	}
	return escape(s[:head], -1) + mark + escape(s[tail:], -1)
}

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
		if e := escapeRune(r, n, s[i]); e != "" {
			b.WriteString(e)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// escapeRune is how String writes the rune r, decoded from n bytes
// starting with the byte c: its escape, or "" when r is kept as it is.
func escapeRune(r rune, n int, c byte) string {
	switch {
	case r == utf8.RuneError && n == 1: // an invalid byte
		return fmt.Sprintf(`\x%02x`, c)
	case unsafeRune(r) && r < 0x100:
		return fmt.Sprintf(`\x%02x`, r)
	case unsafeRune(r):
		return fmt.Sprintf(`\u%04x`, r)
	}
	return ""
}

// width is how many bytes String writes for the rune r, decoded from n
// bytes starting with c.
func width(r rune, n int, c byte) int {
	if e := escapeRune(r, n, c); e != "" {
		return len(e)
	}
	return n
}

// prefixEnd is where, in s, the escaped text of s[:i] reaches limit
// bytes (len(s) when it does not): always at the start of a rune.
func prefixEnd(s string, limit int) int {
	i := 0
	for w := 0; i < len(s) && w < limit; {
		r, n := utf8.DecodeRuneInString(s[i:])
		w += width(r, n, s[i])
		i += n
	}
	return i
}

// suffixStart is where, in s, the escaped text of s[i:] reaches limit
// bytes (0 when it does not): always at the start of a rune.
func suffixStart(s string, limit int) int {
	i := len(s)
	for w := 0; i > 0 && w < limit; {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		i -= n
		w += width(r, n, s[i])
	}
	return i
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
