package postgres

import (
	"errors"
	"strings"
	"testing"
)

func TestDescribeHidesPassword(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:s3cr%40t@db.example:6543/music?sslmode=require", "app@db.example:6543/music"},
		{"host=db.example port=5433 user=app password=s3cr@t dbname=music", "app@db.example:5433/music"},
		{"postgres://app:s3cr@t@db.example:notaport/music", "(unparsable connection URL)"},
	}
	for _, tt := range tests {
		if got := Describe(tt.in); got != tt.want {
			t.Errorf("Describe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScrub(t *testing.T) {
	sec := newSecrets(`p@ss "word/?`)
	msg := sec.errorf(ErrAuth, "a %s b %s c %s d %q e %v", `p@ss "word/?`, "p%40ss+%22word%2F%3F", "p@ss%20%22word%2F%3F",
		`x p@ss "word/? y`, errors.New(`z p@ss "word/?`)).Error()
	if strings.Contains(msg, "p@ss") || strings.Contains(msg, "p%40ss") {
		t.Errorf("scrubbed message = %q, still holds the password", msg)
	}
	if !errors.Is(sec.errorf(ErrAuth, "x"), ErrAuth) {
		t.Errorf("errorf(ErrAuth) is not ErrAuth")
	}
}

// TestScrubKeepsTheSentence: the password is scrubbed from the values, not
// from the package's own words. Scrubbing the whole message turned the
// password "password" into "******** authentication failed ... check the
// ******** in the URL", and "postgres" into "********: password
// authentication failed".
func TestScrubKeepsTheSentence(t *testing.T) {
	for _, pw := range []string{"password", "postgres", "a"} {
		msg := newSecrets(pw).errorf(ErrAuth, "password authentication failed for user %q at %s: check the password in the URL",
			"u", "u@db.example:5432/music "+pw).Error()
		want := `postgres: password authentication failed for user "u" at u@db.example:5432/music ********: check the password in the URL`
		if pw == "a" { // the values are still scrubbed, whatever the password
			want = `postgres: password authentication failed for user "u" at u@db.ex********mple:5432/music ********: check the password in the URL`
		}
		if msg != want {
			t.Errorf("password %q: message = %q, want %q", pw, msg, want)
		}
	}
}

func TestDefaultInteractionsQueryQuotes(t *testing.T) {
	q := DefaultInteractionsQuery(TableTrackInteraction, []string{"play", "o'neil"})
	if !strings.Contains(q, `IN ('play', 'o''neil')`) {
		t.Errorf("DefaultInteractionsQuery = %s, want the actions quoted", q)
	}
}

func TestDefaultInteractionsQueryNull(t *testing.T) {
	q := DefaultInteractionsQuery(TableTrackInteraction, []string{"", "play"})
	if !strings.HasSuffix(q, `WHERE i.type IN ('', 'play') OR i.type IS NULL`) {
		t.Errorf("DefaultInteractionsQuery with \"\" = %s, want it to match NULL too", q)
	}
	if q := DefaultInteractionsQuery(TableTrackInteraction, []string{"play"}); strings.Contains(q, "NULL") {
		t.Errorf("DefaultInteractionsQuery without \"\" = %s, want NULL left out", q)
	}
}
