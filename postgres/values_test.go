package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTextArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{`{}`, []string{}, false},
		{`{a}`, []string{"a"}, false},
		{`{a,b}`, []string{"a", "b"}, false},
		{`{"Tyler, The Creator","A \"q\"",back\\slash}`, []string{"Tyler, The Creator", `A "q"`, `back\slash`}, false},
		{`{NULL,"NULL",null}`, []string{"NULL"}, false},
		{`{"",x}`, []string{"", "x"}, false},
		{`{ a , b }`, []string{"a", "b"}, false},
		{`{"  spaced  "}`, []string{"  spaced  "}, false},
		{`[1:2]={a,b}`, []string{"a", "b"}, false},
		{`{Ünï,曲}`, []string{"Ünï", "曲"}, false},
		{``, nil, true},
		{`a,b`, nil, true},
		{`{"open}`, nil, true},
		{`{a,}`, nil, true},
		{`{"a"b}`, nil, true},
		{`{{a},{b}}`, nil, true},
		{`[1:2]{a}`, nil, true},
	}
	for _, tt := range tests {
		got, err := parseTextArray(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseTextArray(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("parseTextArray(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseTextArray(f *testing.F) {
	for _, s := range []string{`{}`, `{a,"b,c"}`, `{"\\"}`, `[0:1]={x,NULL}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseTextArray(s) // must not panic
	})
}

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
