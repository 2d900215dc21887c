package eval

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
)

// Report is what `soundalike eval --json` prints, beside the version of
// the model it measured.
type Report struct {
	K int `json:"k"`
	// Users is the number of held-out users Evaluate was given, those
	// with fewer than two tracks to query (a pair to score) included;
	// Queries are sampled from the others' tracks. It is zero, and left
	// out of the JSON, in the figures of a stored run that did not
	// record it.
	Users              int     `json:"users,omitempty"`
	Queries            int     `json:"queries"`
	Model              Scores  `json:"model"`
	RawFeatures        Scores  `json:"raw_features"`
	SameArtist         Scores  `json:"same_artist"`
	Random             Scores  `json:"random"`
	MeanPairwiseCosine float64 `json:"mean_pairwise_cosine"`
}

// DefaultMaxQueries is how many queries Evaluate samples from the
// held-out tracks when Options.MaxQueries is 0.
const DefaultMaxQueries = 2000

// Options control Evaluate. Zero fields mean the defaults; negative ones
// are refused.
type Options struct {
	K          int    // neighbours scored per query; default 20
	MaxQueries int    // queries sampled from the held-out tracks; default DefaultMaxQueries
	Pairs      int    // random pairs for the collapse metric; default 10000
	Seed       uint64 // sampling and the random baseline
}

// check reports every negative field.
func (o *Options) check() error {
	var bad []string
	for _, f := range []struct {
		name string
		v    int
		def  int
	}{{"K", o.K, 20}, {"MaxQueries", o.MaxQueries, DefaultMaxQueries}, {"Pairs", o.Pairs, 10000}} {
		if f.v < 0 {
			bad = append(bad, fmt.Sprintf("Options.%s = %d: want ≥ 1, or 0 for the default %d", f.name, f.v, f.def))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("eval: %s", strings.Join(bad, "; "))
	}
	return nil
}

func (o *Options) defaults() {
	if o.K <= 0 {
		o.K = 20
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = DefaultMaxQueries
	}
	if o.Pairs <= 0 {
		o.Pairs = 10000
	}
}

// ErrNoQueries: no held-out user has two tracks in the catalogue.
var ErrNoQueries = errors.New("eval: no held-out user has two or more tracks in the catalogue")

// Evaluate scores the model and the three baselines (raw_features,
// same_artist: raw features with the query's artists' tracks first, and
// random) on the held-out users
// (each a list of indices into tracks) and measures the model's spread.
// It returns an error, before any work, for a nil or empty model, a user
// track index outside tracks or a negative option, and ErrNoQueries when
// no user has two tracks.
func Evaluate(m *embedder.Model, tracks []soundalike.Track, users [][]uint32, opts *Options) (Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.check(); err != nil {
		return Report{}, err
	}
	o.defaults()
	if m == nil || m.Dim() == 0 {
		return Report{}, errors.New("eval: the model is nil or empty: want one from trainer.Train or Engine.LoadModel")
	}
	if err := checkUsers(users, len(tracks)); err != nil {
		return Report{}, err
	}
	qs := Sample(users, o.MaxQueries, o.Seed)
	if len(qs) == 0 {
		return Report{}, ErrNoQueries
	}
	vecs, err := Embed(m, tracks)
	if err != nil {
		return Report{}, err
	}
	return score(vecs, m.Dim(), tracks, users, qs, &o)
}

// score fills the report of Evaluate from the model's vectors.
func score(vecs []float32, dim int, tracks []soundalike.Track, users [][]uint32, qs []Query, o *Options) (Report, error) {
	lab := &Labels{Genres: GenreSets(tracks), Artists: ArtistSets(tracks)}
	r := Report{K: o.K, Users: len(users), Queries: len(qs)}
	raw := RawFeatures(tracks)
	random, err := Random(len(tracks), dim, o.Seed)
	if err != nil {
		return Report{}, err
	}
	for _, s := range []struct {
		out  *Scores
		vecs []float32
		dim  int
		lab  *Labels
	}{
		{&r.Model, vecs, dim, lab},
		{&r.RawFeatures, raw, soundalike.NumFeatures, lab},
		{&r.SameArtist, raw, soundalike.NumFeatures, &Labels{Genres: lab.Genres, Artists: lab.Artists, SameArtistFirst: true}},
		{&r.Random, random, dim, lab},
	} {
		if *s.out, err = ScoreLabels(s.vecs, s.dim, users, qs, s.lab, o.K); err != nil {
			return Report{}, err
		}
	}
	if r.MeanPairwiseCosine, err = MeanPairwiseCosine(vecs, dim, o.Pairs, o.Seed); err != nil {
		return Report{}, err
	}
	return r, nil
}

// GroupUsers collects, for each user that keep accepts (nil: every user),
// the distinct catalogue indices of the tracks they interacted with through
// one of actions (nil: soundalike.DefaultSimilarityActions). Users come out
// sorted by name, tracks in first-interaction order. missing holds the
// indices of the interactions (of those actions and kept users) whose
// tracks are not in the catalogue.
func GroupUsers(tracks []soundalike.Track, interactions []soundalike.Interaction, actions []string, keep func(user string) bool) (names []string, users [][]uint32, missing []int) {
	return IndexTracks(tracks).GroupUsers(interactions, actions, keep)
}

// TrackIndex is each catalogue track's index in the catalogue, by id: how
// GroupUsers numbers the tracks. A caller that looks tracks up by id too
// (eval --holdout names a held-out file's tracks by their stored ids)
// builds it once, a map as large as the catalogue, and groups with its
// GroupUsers.
type TrackIndex map[soundalike.TrackID]uint32

// IndexTracks returns the TrackIndex of the catalogue tracks.
func IndexTracks(tracks []soundalike.Track) TrackIndex {
	index := make(TrackIndex, len(tracks))
	for i := range tracks {
		index[tracks[i].ID] = uint32(i)
	}
	return index
}

// GroupUsers is GroupUsers over the catalogue that index indexes.
func (index TrackIndex) GroupUsers(interactions []soundalike.Interaction, actions []string, keep func(user string) bool) (names []string, users [][]uint32, missing []int) {
	if actions == nil {
		actions = soundalike.DefaultSimilarityActions()
	}
	byUser := map[string][]uint32{}
	seen := map[struct {
		u string
		t uint32
	}]bool{}
	for i := range interactions {
		in := &interactions[i]
		if !slices.Contains(actions, in.Action) || (keep != nil && !keep(in.User)) {
			continue
		}
		t, ok := index[in.Track]
		if !ok {
			missing = append(missing, i)
			continue
		}
		k := struct {
			u string
			t uint32
		}{in.User, t}
		if seen[k] {
			continue
		}
		seen[k] = true
		byUser[in.User] = append(byUser[in.User], t)
	}
	for u := range byUser {
		names = append(names, u)
	}
	slices.Sort(names)
	for _, u := range names {
		users = append(users, byUser[u])
	}
	return names, users, missing
}

// String formats a report as a small table.
func (r Report) String() string {
	s := fmt.Sprintf("k=%d, %d queries\n%-14s %9s %9s %9s %9s %9s\n", r.K, r.Queries, "", "precision", "recall", "genre", "p_cross", "r_cross")
	for _, row := range []struct {
		name string
		s    Scores
	}{{"model", r.Model}, {"raw_features", r.RawFeatures}, {"same_artist", r.SameArtist}, {"random", r.Random}} {
		s += fmt.Sprintf("%-14s %9.4f %9.4f %9.4f %9.4f %9.4f\n", row.name, row.s.Precision, row.s.Recall, row.s.GenrePrecision, row.s.PrecisionCrossArtist, row.s.RecallCrossArtist)
	}
	return s + fmt.Sprintf("mean pairwise cosine of model embeddings: %.4f\n", r.MeanPairwiseCosine)
}
