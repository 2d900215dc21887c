package ingest

import (
	"strings"
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

// TestIsListColumn: the list columns are the aliases of the artists,
// genres and subgenres fields, in any case and spelling a Mapper
// accepts, and no other column: package postgres reads an array column
// element by element by this alone.
func TestIsListColumn(t *testing.T) {
	for f, names := range fieldAliases {
		list := field(f) == fArtists || field(f) == fGenre || field(f) == fSubgenre
		for _, n := range names {
			for _, spelled := range []string{n, strings.ToUpper(n), strings.ReplaceAll(n, "_", "-")} {
				if got := IsListColumn(spelled); got != list {
					t.Errorf("IsListColumn(%q) = %v, want %v", spelled, got, list)
				}
			}
		}
	}
	if IsListColumn("energy") || IsListColumn("") {
		t.Error("IsListColumn of a feature or an empty name is true, want false")
	}
}

// TestIDColumn: the track id comes from the best-named track id column,
// else from the best-named Spotify id column.
func TestIDColumn(t *testing.T) {
	for _, tc := range []struct {
		columns []string
		want    int
	}{
		{[]string{"uri", "id", "user_id", "trackId"}, 3},
		{[]string{"uri", "id", "user_id"}, 1},
		{[]string{"spotify_uri", "user_id", "uri"}, 2},
	} {
		m, err := NewMapper("q", tc.columns, &MapperOptions{InteractionsOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.IDColumn(); got != tc.want {
			t.Errorf("columns %q: IDColumn() = %d, want %d", tc.columns, got, tc.want)
		}
	}
}
