package postgres

import (
	"github.com/audotics/soundalike/ingest"
)

// rowMapper is what the source needs from ingest.Mapper: turn one row of
// named text values into a Record, or a *ingest.RowError carrying the row's
// id.
type rowMapper interface {
	MapRow(rowID string, values []string) (ingest.Record, error)
	Recycle(rec ingest.Record)
}

// newRowMapper builds the mapper for a query's columns, with the same
// column names and validation as file import. interactionsOnly maps rows to
// interactions alone (the interactions query).
func newRowMapper(source string, columns []string, interactionsOnly bool) (rowMapper, error) {
	return ingest.NewMapper(source, columns, &ingest.MapperOptions{InteractionsOnly: interactionsOnly})
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
