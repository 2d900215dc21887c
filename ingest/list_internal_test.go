package ingest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSplitList: the list forms a cell may hold. A PostgreSQL array is
// read by the same parser as package postgres's array columns
// (internal/pgarray), so NULL elements, escapes and quotes mean the same
// in a CSV exported from PostgreSQL as in a query.
func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{``, nil},
		{`Tyler, The Creator`, []string{"Tyler, The Creator"}},
		{`a; b;`, []string{"a", "b"}},
		{`["a","b, c"]`, []string{"a", "b, c"}},
		{`['a', "b's"]`, []string{"a", "b's"}},
		{`[a, b]`, []string{"[a, b]"}},
		{`{a,"b, c",NULL,null,""}`, []string{"a", "b, c"}},
		{`{a\,b}`, []string{"a,b"}},
		{`{}`, nil},
		{`{"open}`, []string{`{"open}`}},
	}
	for _, tt := range tests {
		if got := splitList(tt.in); !cmp.Equal(got, tt.want) {
			t.Errorf("splitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
