package eval

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
)

// checkModel reads energy and tempo with one dense layer of four outputs;
// its output for a track with both features 0 is all zero.
func checkModel(t *testing.T) *embedder.Model {
	t.Helper()
	m, err := embedder.New([]embedder.Input{{Name: "energy"}, {Name: "tempo"}}, []float32{0, 0}, []float32{1, 1},
		[]embedder.Layer{{In: 2, Out: 4, W: []float32{1, 2, 3, 4, 5, 6, 7, 8}, B: make([]float32, 4)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checkTracks(n int) []soundalike.Track {
	tracks := make([]soundalike.Track, n)
	for i := range tracks {
		tracks[i] = soundalike.Track{ID: soundalike.TrackID(fmt.Sprint("t", i)), Features: soundalike.Features{Energy: float64(i+1) / 10, Tempo: float64(100 + i)}, Artists: []string{"a"}}
	}
	return tracks
}

// wantErr fails unless err mentions every one of want.
func wantErr(t *testing.T, call string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil error, want one mentioning %q", call, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s = %v, want it to mention %q", call, err, w)
		}
	}
}

// TestEvaluateRefuses: Evaluate returns an error, not a panic in a worker
// goroutine, for input it cannot score, and refuses negative options
// instead of taking the defaults.
func TestEvaluateRefuses(t *testing.T) {
	m, tracks := checkModel(t), checkTracks(10)
	users := [][]uint32{{0, 1, 2}, {3, 4, 5}}
	tests := []struct {
		name   string
		model  *embedder.Model
		tracks []soundalike.Track
		users  [][]uint32
		opts   *Options
		want   []string
	}{
		{"nil model", nil, tracks, users, nil, []string{"model"}},
		{"zero model", &embedder.Model{}, tracks, users, nil, []string{"model"}},
		{"track index out of range", m, tracks, [][]uint32{{0, 99}, {1, 2}}, nil, []string{"user 0", "track index 99", "10 tracks"}},
		{"no tracks", m, nil, users, nil, []string{"user 0", "0 tracks"}},
		{"negative options", m, tracks, users, &Options{K: -1, MaxQueries: -1, Pairs: -1}, []string{"Options.K = -1", "Options.MaxQueries = -1", "Options.Pairs = -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(tt.model, tt.tracks, tt.users, tt.opts)
			wantErr(t, "Evaluate", err, tt.want...)
		})
	}
}

// TestEvaluateHugeK: a K beyond the catalogue ranks every other track; it
// allocates for the catalogue, not for K.
func TestEvaluateHugeK(t *testing.T) {
	r, err := Evaluate(checkModel(t), checkTracks(10), [][]uint32{{0, 1, 2}, {3, 4, 5}}, &Options{K: math.MaxInt})
	if err != nil || r.K != math.MaxInt || r.Queries != 6 {
		t.Fatalf("Evaluate(K MaxInt) = K %d, %d queries, %v; want K %d, 6 queries", r.K, r.Queries, err, math.MaxInt)
	}
}

// TestEmbedNamesDegenerateTrack: a track whose embedding cannot be
// normalised is an error naming the track, not NaN vectors.
func TestEmbedNamesDegenerateTrack(t *testing.T) {
	tracks := checkTracks(3)
	tracks[1].Features = soundalike.Features{}
	_, err := Embed(checkModel(t), tracks)
	if !errors.Is(err, embedder.ErrDegenerate) || !strings.Contains(err.Error(), "track t1") {
		t.Fatalf("Embed = %v, want embedder.ErrDegenerate naming track t1", err)
	}
	_, err = Embed(nil, tracks)
	wantErr(t, "Embed(nil)", err, "model")
}

// TestScoreRefuses: Score and ScoreLabels check their arguments before
// their workers start.
func TestScoreRefuses(t *testing.T) {
	vecs := make([]float32, 40) // 10 vectors of 4
	users := [][]uint32{{0, 1, 2}, {3, 4, 5}}
	q := []Query{{0, 0}}
	tests := []struct {
		name    string
		vecs    []float32
		dim     int
		users   [][]uint32
		queries []Query
		lab     *Labels
		k       int
		want    []string
	}{
		{"dim 0", vecs, 0, users, q, nil, 5, []string{"dim = 0"}},
		{"not whole vectors", vecs[:7], 4, users, q, nil, 5, []string{"7 values", "dim 4"}},
		{"k 0", vecs, 4, users, q, nil, 0, []string{"k = 0"}},
		{"query user", vecs, 4, users, []Query{{5, 0}}, nil, 5, []string{"query 0", "user 5"}},
		{"query track", vecs, 4, users, []Query{{0, 99}}, nil, 5, []string{"query 0", "track 99"}},
		{"user track", vecs, 4, [][]uint32{{0, 99}}, q, nil, 5, []string{"user 0", "track index 99"}},
		{"genres short", vecs, 4, users, q, &Labels{Genres: []uint64{1}}, 5, []string{"Labels.Genres", "1 entries"}},
		{"artists short", vecs, 4, users, q, &Labels{Artists: [][]uint32{{1}}}, 5, []string{"Labels.Artists", "1 entries"}},
		{"same artist without artists", vecs, 4, users, q, &Labels{SameArtistFirst: true}, 5, []string{"Labels.SameArtistFirst"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ScoreLabels(tt.vecs, tt.dim, tt.users, tt.queries, tt.lab, tt.k)
			wantErr(t, "ScoreLabels", err, tt.want...)
		})
	}
	_, err := Score(vecs, 4, users, q, []uint64{1}, 5)
	wantErr(t, "Score(short genres)", err, "Labels.Genres")
}

// TestBaselinesRefuse: Random and MeanPairwiseCosine return errors for
// arguments that make no vectors.
func TestBaselinesRefuse(t *testing.T) {
	_, err := Random(-1, 4, 1)
	wantErr(t, "Random(-1, 4)", err, "-1 random vectors")
	_, err = Random(3, 0, 1)
	wantErr(t, "Random(3, 0)", err, "dim 0")
	_, err = MeanPairwiseCosine(make([]float32, 10), 0, 10, 1)
	wantErr(t, "MeanPairwiseCosine(dim 0)", err, "dim 0")
	_, err = MeanPairwiseCosine(make([]float32, 40), 4, -1, 1)
	wantErr(t, "MeanPairwiseCosine(pairs -1)", err, "pairs = -1")
	if c, err := MeanPairwiseCosine(make([]float32, 4), 4, 10, 1); c != 0 || err != nil {
		t.Errorf("MeanPairwiseCosine(one vector) = %v, %v; want 0, nil", c, err)
	}
}

// TestScoreUsersRefuses: a k below 1 or a split with nothing held out
// would divide by zero into NaN; a nil recommender would panic.
func TestScoreUsersRefuses(t *testing.T) {
	rec := func(seeds []uint32, k int) ([]uint32, error) { return nil, nil }
	splits := SplitUsers([][]uint32{{0, 1, 2}, {3, 4, 5}}, 1)
	_, err := ScoreUsers(splits, 0, rec)
	wantErr(t, "ScoreUsers(k 0)", err, "k = 0")
	_, err = ScoreUsers(splits, 5, nil)
	wantErr(t, "ScoreUsers(nil)", err, "rec is nil")
	_, err = ScoreUsers([]UserSplit{{User: 3, Seeds: []uint32{1}}}, 5, rec)
	wantErr(t, "ScoreUsers(nothing held)", err, "user 3", "0 held-out")
	_, err = ScoreSingleSeed(splits, 0, func(uint32, []uint32, int) ([]uint32, error) { return nil, nil })
	wantErr(t, "ScoreSingleSeed(k 0)", err, "k = 0")
}

// TestEvaluateCountsUsers: the report counts the held-out users given,
// one without a second track to query with included.
func TestEvaluateCountsUsers(t *testing.T) {
	r, err := Evaluate(checkModel(t), checkTracks(10), [][]uint32{{0, 1, 2}, {3, 4, 5}, {6}}, nil)
	if err != nil || r.Users != 3 || r.Queries != 6 {
		t.Fatalf("Evaluate(3 users, one of one track) = %d users, %d queries, %v; want 3 users, 6 queries", r.Users, r.Queries, err)
	}
}
