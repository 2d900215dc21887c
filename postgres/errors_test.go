package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestURLErrorsNameTheirSource: a connection URL that cannot be parsed, or
// whose TLS settings cannot be used, is named by where it came from
// (Options.URLFrom), so that a user can tell $DATABASE_URL from the URL on
// the command line; without URLFrom, it is the connection URL. Neither
// needs a server.
func TestURLErrorsNameTheirSource(t *testing.T) {
	for _, tc := range []struct{ name, url, says string }{
		{"unparsable", "postgres://app:s3cret@db.example:notaport/music", "cannot be parsed"},
		{"bad sslmode", "postgres://app:s3cret@db.example/music?sslmode=verify_full", "TLS settings"},
	} {
		for _, from := range []string{"$DATABASE_URL", "--postgres", ""} {
			_, err := Open(t.Context(), tc.url, &Options{URLFrom: from})
			if !errors.Is(err, ErrURL) {
				t.Fatalf("%s, URLFrom %q: err = %v, want ErrURL", tc.name, from, err)
			}
			msg := err.Error()
			want := "the connection URL from " + from
			if from == "" {
				want = "the connection URL"
			}
			if !strings.Contains(msg, want+" ") || !strings.Contains(msg, tc.says) || strings.Contains(msg, "s3cret") {
				t.Errorf("%s, URLFrom %q: %q, want it to name %q and say %q, without the password", tc.name, from, msg, want, tc.says)
			}
			if from == "" && strings.Contains(msg, " from ") {
				t.Errorf("%s, no URLFrom: %q names a source", tc.name, msg)
			}
		}
	}
}

// Given a refused password that is a word of the message ("postgres",
// "connection", "DATABASE_URL"), when the error names where the URL came
// from, expect those words whole: only the values from the server and
// the URL are scrubbed, not this package's own text.
func TestPasswordRefusedNamesTheSourceWhole(t *testing.T) {
	cfg := &pgconn.Config{Host: "db.example", Port: 5432, User: "app", Database: "music"}
	for _, tc := range []struct{ password, from, want string }{
		{"postgres", "--postgres", "check the password in the connection URL from --postgres"},
		{"DATABASE_URL", "$DATABASE_URL", "check the password in the connection URL from $DATABASE_URL"},
		{"connection", "", "check the password in the connection URL"},
	} {
		err := connectError(&pgconn.PgError{Code: "28P01"}, cfg, newSecrets(tc.password), "", tc.from)
		if !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("password %q, URLFrom %q: %q, want it to end %q", tc.password, tc.from, err, tc.want)
		}
	}
}
