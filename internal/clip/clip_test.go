package clip

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"short", "short"},
		{strings.Repeat("a", 40), strings.Repeat("a", 40)},
		{strings.Repeat("a", 41), strings.Repeat("a", 40) + "…(41 bytes)"},
		// A two-byte rune across the cut is dropped whole.
		{strings.Repeat("a", 39) + "é" + "b", strings.Repeat("a", 39) + "…(42 bytes)"},
	} {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
