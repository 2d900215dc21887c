package postgres

import (
	"log/slog"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// fakeMapper maps every row to a play of track "t" by user "u" and counts
// the records given back to it.
type fakeMapper struct {
	action   string
	recycled int
}

func (m *fakeMapper) MapRowLists(rowID string, _ []string, _ [][]string) (ingest.Record, error) {
	return ingest.Record{RowID: rowID, Interaction: &soundalike.Interaction{User: "u", Track: "t", Action: m.action}}, nil
}

func (m *fakeMapper) Recycle(ingest.Record) { m.recycled++ }

// TestRecycleGoesToThePhaseBeingRead: records come back to the mapper of the
// phase Next is reading (it maps the next rows), and a row whose action is
// not among the chosen ones is given back at once. Giving interactions' rows to the
// tracks' mapper left them there for good: memory grew with the rows.
func TestRecycleGoesToThePhaseBeingRead(t *testing.T) {
	tracks := &fakeMapper{action: "play"}
	inter := &fakeMapper{action: "play"}
	s := &Source{
		phases:  []*phase{{which: "tracks", mapper: tracks, rowID: -1}, {which: "interactions", mapper: inter, rowID: -1}},
		allow:   map[string]bool{"play": true},
		started: true,
		batches: make(chan *batch, 2),
		log:     slog.New(slog.DiscardHandler),
	}
	s.batches <- &batch{phase: 1, rows: []string{"", ""}}
	close(s.batches)
	rec, err := s.Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.Recycle(rec)
	if inter.recycled != 1 || tracks.recycled != 0 {
		t.Errorf("an interaction's record went back to the tracks mapper %d times and the interactions mapper %d times, want 0 and 1", tracks.recycled, inter.recycled)
	}
	inter.action = "skip" // not chosen: Next drops the row
	if _, err := s.Next(t.Context()); err == nil {
		t.Fatal("Next after the last row: want io.EOF")
	}
	if inter.recycled != 2 {
		t.Errorf("a filtered-out row was given back %d times, want once", inter.recycled-1)
	}
}
