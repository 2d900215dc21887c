package postgres

import (
	"github.com/audotics/soundalike/ingest"
)

// rowMapper is what the source needs from ingest.Mapper: turn one row of
// named text values, its list fields' arrays given element by element,
// into a Record, or a *ingest.RowError carrying the row's id.
type rowMapper interface {
	MapRowLists(rowID string, values []string, lists [][]string) (ingest.Record, error)
	Recycle(rec ingest.Record)
}

// newRowMapper builds the mapper for a query's columns, with the same
// column names and validation as file import: opts.InteractionsOnly for
// the interactions query, opts.NoInteractions (Options.NoInteractions)
// to leave a tracks query's user columns unread.
func newRowMapper(source string, columns []string, opts *ingest.MapperOptions) (*ingest.Mapper, error) {
	return ingest.NewMapper(source, columns, opts)
}

// normalizeColumn lowers s and drops every character that is not a letter
// or a digit, as the mapper does when it matches column names.
func normalizeColumn(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	return string(b)
}
