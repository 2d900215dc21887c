package postgres

import (
	"github.com/audotics/soundalike/ingest"
)

// rowMapper is what the source needs from the ingest package's Mapper: turn
// one row of named text values into a Record, or a *ingest.RowError.
type rowMapper interface {
	Map(line int, values []string) (ingest.Record, error)
}

// newRowMapper builds the mapper for a query's columns. interactionsOnly
// maps rows to interactions alone (the interactions query).
var newRowMapper = newInterimMapper
