// Package ingest turns rows from files or databases into validated tracks
// and interactions and hands them to a Sink (the storage package's import
// transaction). File formats live here; the PostgreSQL source lives in
// package postgres and reuses Mapper and Run.
package ingest

import (
	"context"
	"strconv"

	"github.com/audotics/soundalike"
)

// Record is one input row after column mapping: a track, an interaction, or
// both (a file row with a user column is both).
type Record struct {
	Source      string // file name, or "postgres"
	Line        int    // 1-based line in Source; 0 when rows have no lines
	RowID       string // the row's id where Line means nothing (database rows)
	Track       *soundalike.Track
	Interaction *soundalike.Interaction
}

// RowError is one rejected row: where it was and why. It is what import
// reports per bad row and what --json prints under "errors".
type RowError struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Row    string `json:"row,omitempty"`
	Reason string `json:"reason"`
}

func (e *RowError) Error() string { return formatRowError(e) }

// Source yields records. Next returns io.EOF after the last record, a
// *RowError for a row that is rejected (the source goes on), and any other
// error for a failure that stops the import (a truncated gzip, a refused
// connection).
type Source interface {
	Next(ctx context.Context) (Record, error)
	Close() error
}

// Sink stores records. storage's import transaction implements it; nothing
// is visible to readers until the caller commits.
type Sink interface {
	// PutTrack inserts or replaces a track (features replaced, genres
	// accumulated) and reports whether it was new and whether anything
	// changed.
	PutTrack(t *soundalike.Track) (added, changed bool, err error)
	// PutInteraction stores an interaction once: re-importing it adds
	// nothing. It fails with ErrUnknownTrack when the track is not stored.
	PutInteraction(in *soundalike.Interaction) (added bool, err error)
}

// Summary counts what an import did. Its JSON form is what
// `soundalike import --json` prints.
type Summary struct {
	TracksAdded       int        `json:"tracks_added"`
	TracksUpdated     int        `json:"tracks_updated"`
	InteractionsAdded int        `json:"interactions_added"`
	Rejected          int        `json:"rejected"`
	Errors            []RowError `json:"errors"` // the first MaxErrors
}

// MaxErrors is how many row errors a Summary keeps.
const MaxErrors = 100

// Options control Run.
type Options struct {
	// NoInteractions imports tracks only.
	NoInteractions bool
	// Progress, when set, is called now and then with the rows read so far.
	Progress func(rows int64)
}

// Run reads src to the end, validates each record, and writes the good ones
// to sink. It returns the summary; strictness (discarding everything when a
// row was rejected) is the caller's decision, since only the caller holds
// the transaction.
func Run(ctx context.Context, src Source, sink Sink, opts *Options) (Summary, error) {
	panic("ingest.Run: not implemented yet")
}

func formatRowError(e *RowError) string {
	switch {
	case e.Line > 0:
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Reason
	case e.Row != "":
		return e.File + ": row " + e.Row + ": " + e.Reason
	}
	return e.File + ": " + e.Reason
}
