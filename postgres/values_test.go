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
	sec := newSecrets("p@ss word/?")
	msg := sec.errorf(ErrAuth, "a p@ss word/? b %s c %s", "p%40ss+word%2F%3F", "p@ss%20word%2F%3F").Error()
	if strings.Contains(msg, "p@ss") || strings.Contains(msg, "p%40ss") {
		t.Errorf("scrubbed message = %q, still holds the password", msg)
	}
	if !errors.Is(sec.errorf(ErrAuth, "x"), ErrAuth) {
		t.Errorf("errorf(ErrAuth) is not ErrAuth")
	}
}

func TestDefaultInteractionsQueryQuotes(t *testing.T) {
	q := DefaultInteractionsQuery(TableTrackInteraction, []string{"play", "o'neil"})
	if !strings.Contains(q, `IN ('play', 'o''neil')`) {
		t.Errorf("DefaultInteractionsQuery = %s, want the actions quoted", q)
	}
}
