package main

import (
	"context"
	"sync/atomic"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// startingSearcher is what serve answers from while it waits to load the
// database: every query and /readyz get the error saying what it waits
// for (a server.ErrStarting, a 503), until serve hands it the loaded engine.
type startingSearcher struct {
	eng     atomic.Pointer[soundalike.Engine]
	waiting atomic.Pointer[error]
}

var _ server.Searcher = (*startingSearcher)(nil)

// waitFor sets what /readyz says the server waits for.
func (s *startingSearcher) waitFor(err error) { s.waiting.Store(&err) }

// serve answers from eng from now on.
func (s *startingSearcher) serve(eng *soundalike.Engine) { s.eng.Store(eng) }

func (s *startingSearcher) why() error { return *s.waiting.Load() }

func (s *startingSearcher) Similar(ctx context.Context, id soundalike.TrackID, k int, opts *soundalike.SearchOptions) (soundalike.Results, error) {
	if e := s.eng.Load(); e != nil {
		return e.Similar(ctx, id, k, opts)
	}
	return soundalike.Results{}, s.why()
}

func (s *startingSearcher) SimilarTo(ctx context.Context, q soundalike.Query, k int, opts *soundalike.SearchOptions) (soundalike.Results, error) {
	if e := s.eng.Load(); e != nil {
		return e.SimilarTo(ctx, q, k, opts)
	}
	return soundalike.Results{}, s.why()
}

func (s *startingSearcher) SearchTracks(ctx context.Context, text string, k int) ([]soundalike.Track, error) {
	if e := s.eng.Load(); e != nil {
		return e.SearchTracks(ctx, text, k)
	}
	return nil, s.why()
}

func (s *startingSearcher) Track(ctx context.Context, id soundalike.TrackID) (*soundalike.Track, error) {
	if e := s.eng.Load(); e != nil {
		return e.Track(ctx, id)
	}
	return nil, s.why()
}

func (s *startingSearcher) Model(ctx context.Context) (soundalike.ModelInfo, error) {
	if e := s.eng.Load(); e != nil {
		return e.Model(ctx)
	}
	return soundalike.ModelInfo{}, s.why()
}

func (s *startingSearcher) Stats() soundalike.Stats {
	if e := s.eng.Load(); e != nil {
		return e.Stats()
	}
	return soundalike.Stats{}
}

func (s *startingSearcher) Ready(ctx context.Context) error {
	if e := s.eng.Load(); e != nil {
		return e.Ready(ctx)
	}
	return s.why()
}

func (s *startingSearcher) Recommend(ctx context.Context, q soundalike.RecommendQuery) (soundalike.Results, error) {
	if e := s.eng.Load(); e != nil {
		return e.Recommend(ctx, q)
	}
	return soundalike.Results{}, s.why()
}

func (s *startingSearcher) UserHistory(ctx context.Context, user string) ([]soundalike.Interaction, error) {
	if e := s.eng.Load(); e != nil {
		return e.UserHistory(ctx, user)
	}
	return nil, s.why()
}

// Map serves the explorer's map (server's optional mapper interface).
func (s *startingSearcher) Map(ctx context.Context, q soundalike.MapQuery) (soundalike.MapView, error) {
	if e := s.eng.Load(); e != nil {
		return e.Map(ctx, q)
	}
	return soundalike.MapView{}, s.why()
}
