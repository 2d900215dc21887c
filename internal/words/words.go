// Package words writes counts in English for messages: "1 track", "300
// queries". The command line and the trainer count with it, so that
// their messages agree.
package words

import "fmt"

// Count is n and the noun, plural unless n is 1: "1 user", "3 users", a
// noun ending in a consonant and y taking ies ("300 queries"). The last
// word of a phrase is the one made plural ("2 held-out users").
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if i := len(noun) - 1; i > 0 && noun[i] == 'y' {
		switch noun[i-1] {
		case 'a', 'e', 'i', 'o', 'u': // day: days
		default:
			noun = noun[:i] + "ie" // query: queries
		}
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
