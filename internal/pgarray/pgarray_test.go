package pgarray

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
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
		{`{a\,b}`, []string{"a,b"}, false},
		{`{"a\\"}`, []string{`a\`}, false},
		{`{Null,x}`, []string{"x"}, false},
		{`[1:2]{a}`, nil, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("Parse(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("Parse(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{a,"b,c"}`, `{"\\"}`, `[0:1]={x,NULL}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Parse(s) // must not panic
	})
}
