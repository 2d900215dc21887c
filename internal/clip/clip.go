// Package clip shortens values quoted in error messages, so that a hostile
// or mistaken input is never echoed whole.
package clip

import (
	"strconv"
	"unicode/utf8"
)

// Max is how many bytes of a value an error message quotes.
const Max = 40

// String returns s, or its first Max bytes (cut at a rune boundary)
// followed by "…(N bytes)" when it is longer.
func String(s string) string {
	if len(s) <= Max {
		return s
	}
	cut := Max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
