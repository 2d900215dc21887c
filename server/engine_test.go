package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
)

// The server is tested against a real Engine on a small catalogue. A
// Searcher wrapper (hooked) records what the server passes on and can make
// a search fail, panic or stall; it never answers a query itself.

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

// catalogue is 30 tracks: "a" and its duplicate "a-dup" (same song under
// another id), "x1".."x3" by the same artist as "a", a track with a name
// that needs escaping, one whose id needs escaping in a path, and fillers,
// the last (t22) with a Spotify id.
// No two other tracks share a song or all their features.
func catalogue() []*soundalike.Track {
	ts := []*soundalike.Track{
		track("a", "Song A", "Artist X", 0.50, 120),
		track("a-dup", "Song A", "Artist X", 0.50, 120),
	}
	for i := 1; i <= 3; i++ {
		ts = append(ts, track(fmt.Sprintf("x%d", i), fmt.Sprintf("X song %d", i), "Artist X", 0.5+0.01*float64(i), 121))
	}
	ts = append(ts,
		track("esc", "Tom & Jerry <3 \"quoted\" \u2028 \x01", "Ünïcode 歌手", 0.55, 119),
		track("a/b c", "Slashed", "S", 0.5, 100))
	for i := range 23 {
		ts = append(ts, track(fmt.Sprintf("t%02d", i), fmt.Sprintf("Filler %d", i), fmt.Sprintf("Artist %d", i), 0.31+0.02*float64(i), 90+3*float64(i)))
	}
	ts[len(ts)-1].SpotifyID = spotifyOfT22 // a catalogue keeping Spotify ids beside its own
	return ts
}

// spotifyOfT22 is the Spotify id of filler t22.
const spotifyOfT22 = "4uLU6hMCjMI75M1A2tKUQC"

// modelDim is the test model's embedding dimension.
const modelDim = 16

// How far a test engine is built.
const (
	ready   = iota // catalogue, model and index
	noIndex        // catalogue and model: queries get ErrNoIndex
	noModel        // the catalogue only: ErrNoModel
)

// newEngine returns an engine on the catalogue, built as far as stage
// says, with model v1 (if any) recorded with a config and evaluation
// figures.
func newEngine(t testing.TB, stage int) *soundalike.Engine {
	run := soundalike.ModelRun{Config: json.RawMessage(`{"epochs":3}`), Metrics: json.RawMessage(`{"precision_at_20":0.31}`)}
	return engineOf(t, catalogue(), run, stage)
}

// engineOf returns an engine on tracks, built as far as stage says, with
// model v1 (if any) recorded with run.
func engineOf(t testing.TB, tracks []*soundalike.Track, run soundalike.ModelRun, stage int) *soundalike.Engine {
	t.Helper()
	ctx := context.Background()
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "server.db"), &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, tr := range tracks {
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stage == noModel {
		return eng
	}
	m, err := synth.Model(3, []int{32}, modelDim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveModel(ctx, m, run); err != nil {
		t.Fatal(err)
	}
	if stage == noIndex {
		return eng
	}
	if _, err := eng.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return eng
}

// hooked passes every call on to a real engine, recording the searches'
// arguments. Its hook, when set, runs before a search with the query and
// may return an error instead of searching (or panic, or block).
type hooked struct {
	*soundalike.Engine
	hook func(q soundalike.Query) error

	mu    sync.Mutex
	k     int
	opts  soundalike.SearchOptions
	query soundalike.Query
}

var _ server.Searcher = (*hooked)(nil)

func (h *hooked) before(k int, opts *soundalike.SearchOptions, q soundalike.Query) error {
	h.mu.Lock()
	h.k, h.opts, h.query = k, soundalike.SearchOptions{}, q
	if opts != nil {
		h.opts = *opts
	}
	hook := h.hook
	h.mu.Unlock()
	if hook != nil {
		return hook(q)
	}
	return nil
}

// last returns the arguments of the last search.
func (h *hooked) last() (int, soundalike.SearchOptions, soundalike.Query) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.k, h.opts, h.query
}

func (h *hooked) Similar(ctx context.Context, id soundalike.TrackID, k int, opts *soundalike.SearchOptions) (soundalike.Results, error) {
	if err := h.before(k, opts, soundalike.Query{Tracks: []soundalike.TrackID{id}}); err != nil {
		return soundalike.Results{}, err
	}
	return h.Engine.Similar(ctx, id, k, opts)
}

func (h *hooked) SimilarTo(ctx context.Context, q soundalike.Query, k int, opts *soundalike.SearchOptions) (soundalike.Results, error) {
	if err := h.before(k, opts, q); err != nil {
		return soundalike.Results{}, err
	}
	return h.Engine.SimilarTo(ctx, q, k, opts)
}

// panicOn is a hook that panics on a query naming id.
func panicOn(id soundalike.TrackID) func(q soundalike.Query) error {
	return func(q soundalike.Query) error {
		for _, x := range q.Tracks {
			if x == id {
				panic("test hook: boom")
			}
		}
		return nil
	}
}

// canned is a Searcher that answers every search with the same Results,
// so that a test can check how the server renders exactly what it got.
type canned struct {
	res   soundalike.Results
	stats soundalike.Stats
}

func (c *canned) Similar(context.Context, soundalike.TrackID, int, *soundalike.SearchOptions) (soundalike.Results, error) {
	return c.res, nil
}
func (c *canned) SimilarTo(context.Context, soundalike.Query, int, *soundalike.SearchOptions) (soundalike.Results, error) {
	return c.res, nil
}
func (c *canned) Recommend(context.Context, soundalike.RecommendQuery) (soundalike.Results, error) {
	return c.res, nil
}
func (c *canned) UserHistory(ctx context.Context, user string) ([]soundalike.Interaction, error) {
	return nil, fmt.Errorf("user %q: %w", user, soundalike.ErrNotFound)
}
func (c *canned) SearchTracks(context.Context, string, int) ([]soundalike.Track, error) {
	return nil, nil
}
func (c *canned) Track(ctx context.Context, id soundalike.TrackID) (*soundalike.Track, error) {
	return nil, fmt.Errorf("track %q: %w", id, soundalike.ErrNotFound)
}
func (c *canned) Model(context.Context) (soundalike.ModelInfo, error) {
	return soundalike.ModelInfo{Version: c.res.Model}, nil
}
func (c *canned) Stats() soundalike.Stats     { return c.stats }
func (c *canned) Ready(context.Context) error { return nil }
