package server_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// fakeDim is the vector dimension the fake accepts: one per feature.
const fakeDim = soundalike.NumFeatures

// fake is an in-memory Searcher: cosine similarity over the standardised
// raw features, brute force. It honours SearchOptions the way the Engine is
// specified to (self, Exclude, ExcludeArtist, dedupe by name+artists or
// identical features), so the tests can check what the server passes on.
type fake struct {
	tracks  map[soundalike.TrackID]*soundalike.Track
	order   []soundalike.TrackID
	ready   error // returned by Ready and every search when set
	model   *soundalike.ModelInfo
	fail    error              // returned by every search when set
	panicOn soundalike.TrackID // a search for this id panics
	slow    chan struct{}      // when set, Similar signals entered and waits for slow to close
	entered chan struct{}

	mu        sync.Mutex
	lastK     int
	lastOpts  soundalike.SearchOptions
	lastQuery soundalike.Query
}

var _ server.Searcher = (*fake)(nil)

func track(id, name, artist string, energy, tempo float64) *soundalike.Track {
	return &soundalike.Track{
		ID: soundalike.TrackID(id), Name: name, Artists: []string{artist},
		Album: "Album of " + name, Popularity: 50, DurationMS: 200000, ReleaseDate: "2019-01-02",
		Genres: []string{"pop"}, Subgenres: []string{"dance pop"},
		Features: soundalike.Features{
			Acousticness: 0.1, Danceability: 0.7, Energy: energy, Instrumentalness: 0,
			Key: 5, Liveness: 0.1, Loudness: -6, Mode: 1, Speechiness: 0.05, Tempo: tempo, Valence: 0.5,
		},
	}
}

// newFake returns a catalogue of 30 tracks: "a" and its duplicate "a-dup"
// (same song under another id), "x1".."x3" by the same artist as "a", a
// track with a name that needs escaping, and fillers.
func newFake() *fake {
	f := &fake{tracks: map[soundalike.TrackID]*soundalike.Track{}, entered: make(chan struct{}, 1)}
	add := func(t *soundalike.Track) {
		f.tracks[t.ID] = t
		f.order = append(f.order, t.ID)
	}
	add(track("a", "Song A", "Artist X", 0.50, 120))
	add(track("a-dup", "Song A", "Artist X", 0.50, 120))
	for i := 1; i <= 3; i++ {
		add(track(fmt.Sprintf("x%d", i), fmt.Sprintf("X song %d", i), "Artist X", 0.5+0.01*float64(i), 121))
	}
	add(track("esc", "Tom & Jerry <3 \"quoted\" \u2028 \x01", "Ünïcode 歌手", 0.55, 119))
	add(track("panic", "Panic", "Boom", 0.9, 180))
	for i := range 23 {
		add(track(fmt.Sprintf("t%02d", i), fmt.Sprintf("Filler %d", i), fmt.Sprintf("Artist %d", i), 0.3+0.02*float64(i), 90+3*float64(i)))
	}
	f.model = &soundalike.ModelInfo{
		Version: "v1", Created: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), Dim: fakeDim,
		Inputs:  soundalike.FeatureNames[:],
		Config:  json.RawMessage(`{"epochs":3}`),
		Metrics: json.RawMessage(`{"precision_at_20":0.31}`),
	}
	return f
}

func vec(t *soundalike.Track) []float64 {
	v := t.Features.Values()
	v[9] /= 200 // tempo
	v[6] /= 60  // loudness
	v[4] /= 11  // key
	return v[:]
}

func cosine(a, b []float64) float32 {
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	return float32(dot / math.Sqrt(na*nb))
}

func (f *fake) record(k int, opts *soundalike.SearchOptions, q soundalike.Query) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastK = k
	f.lastOpts = soundalike.SearchOptions{}
	if opts != nil {
		f.lastOpts = *opts
	}
	f.lastQuery = q
}

func (f *fake) last() (int, soundalike.SearchOptions, soundalike.Query) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastK, f.lastOpts, f.lastQuery
}

func (f *fake) Similar(ctx context.Context, id soundalike.TrackID, k int, opts *soundalike.SearchOptions) ([]soundalike.Neighbor, error) {
	f.record(k, opts, soundalike.Query{Tracks: []soundalike.TrackID{id}})
	if f.slow != nil {
		f.entered <- struct{}{}
		<-f.slow
	}
	if id == f.panicOn {
		panic("fake: boom")
	}
	t, ok := f.tracks[id]
	if !ok {
		return nil, fmt.Errorf("similar: track %q: %w", id, soundalike.ErrNotFound)
	}
	return f.search(vec(t), []*soundalike.Track{t}, k, opts)
}

func (f *fake) SimilarTo(ctx context.Context, q soundalike.Query, k int, opts *soundalike.SearchOptions) ([]soundalike.Neighbor, error) {
	f.record(k, opts, q)
	switch {
	case len(q.Tracks) > 0:
		mean := make([]float64, fakeDim)
		var seeds []*soundalike.Track
		for _, id := range q.Tracks {
			if id == f.panicOn {
				panic("fake: boom")
			}
			t, ok := f.tracks[id]
			if !ok {
				return nil, fmt.Errorf("similar to: seed track %q: %w", id, soundalike.ErrNotFound)
			}
			seeds = append(seeds, t)
			for i, x := range vec(t) {
				mean[i] += x
			}
		}
		return f.search(mean, seeds, k, opts)
	case q.Track != nil:
		return f.search(vec(q.Track), []*soundalike.Track{q.Track}, k, opts)
	case len(q.Vector) > 0:
		if len(q.Vector) != fakeDim {
			return nil, fmt.Errorf("similar to: vector of %d values, want %d: %w", len(q.Vector), fakeDim, soundalike.ErrDimension)
		}
		v := make([]float64, fakeDim)
		for i, x := range q.Vector {
			v[i] = float64(x)
		}
		return f.search(v, nil, k, opts)
	}
	return nil, fmt.Errorf("similar to: %w: nothing to search by", soundalike.ErrInvalidQuery)
}

func songKey(t *soundalike.Track) string {
	return strings.ToLower(t.Name) + "\x00" + strings.ToLower(strings.Join(t.Artists, ","))
}

func (f *fake) search(q []float64, seeds []*soundalike.Track, k int, opts *soundalike.SearchOptions) ([]soundalike.Neighbor, error) {
	if f.ready != nil {
		return nil, f.ready
	}
	if f.fail != nil {
		return nil, f.fail
	}
	if opts == nil {
		opts = &soundalike.SearchOptions{}
	}
	skip := map[soundalike.TrackID]bool{}
	for _, id := range opts.Exclude {
		skip[id] = true
	}
	artists := map[string]bool{}
	songs := map[string]bool{}
	for _, s := range seeds {
		skip[s.ID] = true
		for _, a := range s.Artists {
			artists[a] = true
		}
		songs[songKey(s)] = true
	}
	var ns []soundalike.Neighbor
	for _, id := range f.order {
		t := f.tracks[id]
		if skip[id] || (!opts.NoDedupe && songs[songKey(t)]) {
			continue
		}
		if opts.ExcludeArtist && slices.ContainsFunc(t.Artists, func(a string) bool { return artists[a] }) {
			continue
		}
		ns = append(ns, soundalike.Neighbor{ID: id, Score: cosine(q, vec(t))})
	}
	slices.SortStableFunc(ns, func(a, b soundalike.Neighbor) int { return cmp.Compare(b.Score, a.Score) })
	return ns[:min(k, len(ns))], nil
}

func (f *fake) Track(ctx context.Context, id soundalike.TrackID) (*soundalike.Track, error) {
	if t, ok := f.tracks[id]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("track %q: %w", id, soundalike.ErrNotFound)
}

func (f *fake) Model(ctx context.Context) (soundalike.ModelInfo, error) {
	if f.model == nil {
		return soundalike.ModelInfo{}, fmt.Errorf("model: %w", soundalike.ErrNoModel)
	}
	m := *f.model
	m.IndexSize = len(f.tracks)
	return m, nil
}

func (f *fake) Stats() soundalike.Stats {
	st := soundalike.Stats{Tracks: len(f.tracks), Indexed: len(f.tracks), Generation: 7}
	if f.model != nil {
		st.ModelVersion = f.model.Version
	}
	return st
}

func (f *fake) Ready() error { return f.ready }
