package printable

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain Ünïcode 歌手":      "plain Ünïcode 歌手",
		"\x1b[31mred\x1b[0m":    `\x1b[31mred\x1b[0m`,
		"tab\there\nnewline":    `tab\x09here\x0anewline`,
		"bell\x07 c1\u009b":     `bell\x07 c1\x9b`,
		"bidi \u202eevil\u202c": `bidi \u202eevil\u202c`,
		"bad utf8 \xff":         `bad utf8 \xff`,
		"line\u2028sep":         `line\u2028sep`,
		"":                      "",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCut(t *testing.T) {
	long := strings.Repeat("a", 300)
	if got, want := Cut(long, 128), strings.Repeat("a", 128)+"…(300 bytes)"; got != want {
		t.Errorf("Cut(300 a's, 128) = %q, want %q", got, want)
	}
	if got := Cut("short", 128); got != "short" {
		t.Errorf("Cut(short, 128) = %q", got)
	}
	if got, want := Cut(strings.Repeat("\x1b", 100), 10), `\x1b\x1b\x1b…(100 bytes)`; got != want {
		t.Errorf("Cut(100 ESC, 10) = %q, want %q", got, want)
	}
}

func TestCutMiddle(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 100, "short"},
		{"ctl\x1b", 100, `ctl\x1b`},
		{strings.Repeat("a", 100) + strings.Repeat("b", 100) + "the reason", 40, strings.Repeat("a", 30) + "…(170 bytes cut)…" + "the reason"},
		// An escape counts as what it prints: the 30 bytes of the start
		// are "where" and 7 escaped NULs, the 10 of the end "what" and 2.
		{"where" + strings.Repeat("\x00", 100) + "what", 40, `where` + strings.Repeat(`\x00`, 7) + "…(91 bytes cut)…" + `\x00\x00what`},
		// A rune is kept or cut whole.
		{strings.Repeat("é", 100), 8, "ééé…(192 bytes cut)…é"},
		// A mark no shorter than what it would stand for: nothing is cut.
		{strings.Repeat("a", 60), 40, strings.Repeat("a", 60)},
		{strings.Repeat("a", 61), 40, strings.Repeat("a", 30) + "…(21 bytes cut)…" + strings.Repeat("a", 10)},
	} {
		if got := CutMiddle(tc.in, tc.n); got != tc.want {
			t.Errorf("CutMiddle(%.40q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
