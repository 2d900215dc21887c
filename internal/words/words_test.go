package words

import "testing"

// Given counts of nouns whose plurals take s or ies, expect the count
// and the noun, singular for one only.
func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n          int
		noun, want string
	}{
		{1, "query", "1 query"},
		{1234, "query", "1234 queries"},
		{0, "track", "0 tracks"},
		{1, "track", "1 track"},
		{2, "held-out user", "2 held-out users"},
		{2, "day", "2 days"},
		{2, "y", "2 ys"},
	} {
		if got := Count(tc.n, tc.noun); got != tc.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}
