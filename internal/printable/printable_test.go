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
