// Package devdata loads an import file (CSV, TSV or JSON Lines, gzipped or
// not: whatever package ingest reads) into memory, for tests and
// experiments that need tracks and interactions without a database.
package devdata

import (
	"context"
	"fmt"
	"slices"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// Sink is an in-memory ingest.Sink: one track per id (features replaced,
// genres accumulated, as the database does) and every interaction with a
// known track.
type Sink struct {
	Tracks       []soundalike.Track
	Interactions []soundalike.Interaction
	byID         map[soundalike.TrackID]int
}

var _ ingest.Sink = (*Sink)(nil)

// PutTrack implements ingest.Sink.
func (s *Sink) PutTrack(t *soundalike.Track) (added, changed bool, err error) {
	if s.byID == nil {
		s.byID = map[soundalike.TrackID]int{}
	}
	i, ok := s.byID[t.ID]
	if !ok {
		s.byID[t.ID] = len(s.Tracks)
		c := *t // Run reuses t's slices once PutTrack returns
		c.Artists, c.Genres, c.Subgenres = slices.Clone(t.Artists), slices.Clone(t.Genres), slices.Clone(t.Subgenres)
		s.Tracks = append(s.Tracks, c)
		return true, true, nil
	}
	old := &s.Tracks[i]
	genres, subgenres := old.Genres, old.Subgenres
	*old = *t
	old.Artists = slices.Clone(t.Artists)
	old.Genres, old.Subgenres = genres, subgenres
	for _, g := range t.Genres {
		if !slices.Contains(old.Genres, g) {
			old.Genres = append(old.Genres, g)
		}
	}
	for _, g := range t.Subgenres {
		if !slices.Contains(old.Subgenres, g) {
			old.Subgenres = append(old.Subgenres, g)
		}
	}
	return false, true, nil
}

// PutInteraction implements ingest.Sink.
func (s *Sink) PutInteraction(in *soundalike.Interaction) (bool, error) {
	if _, ok := s.byID[in.Track]; !ok {
		return false, fmt.Errorf("track %s: %w", in.Track, soundalike.ErrNotFound)
	}
	s.Interactions = append(s.Interactions, *in)
	return true, nil
}

// Load reads the file at path. A rejected row is an error.
func Load(path string) ([]soundalike.Track, []soundalike.Interaction, error) {
	src, err := ingest.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	var s Sink
	sum, err := ingest.Run(context.Background(), src, &s, nil)
	if err != nil {
		return nil, nil, err
	}
	if sum.Rejected > 0 {
		return nil, nil, fmt.Errorf("%s: %d rows rejected, the first: %v", path, sum.Rejected, &sum.Errors[0])
	}
	return s.Tracks, s.Interactions, nil
}
