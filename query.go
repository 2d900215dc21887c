package soundalike

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SearchOptions refine a similarity search. The zero value (or nil) means:
// no exclusions, deduplication on, the index's default beam width.
type SearchOptions struct {
	// Exclude drops these tracks from the results. Each is a track
	// reference as Similar takes one: a stored id, or a form ParseTrackRef
	// accepts. One that names no track, whatever its form, excludes
	// nothing, as a client that excludes what a user has already heard
	// may name tracks deleted since; only one that no stored id could be
	// (empty, longer than MaxKeyLen bytes, holding a NUL byte) fails the
	// query, with a *TrackRefError.
	Exclude []TrackID
	// ExcludeArtist drops tracks that share an artist with the query
	// track(s).
	ExcludeArtist bool
	// NoDedupe turns off song deduplication. By default results never offer
	// the query's own song again (another id with the same normalised name
	// and artists, or identical features), nor one song twice.
	NoDedupe bool
	// EfSearch overrides the index's beam width for this query: 1 to
	// index.MaxEf; 0 means the index's own (set at reindex, default 80).
	// The beam is never narrower than the results asked for. Other values
	// fail with an *OptionError (ErrInvalidQuery).
	EfSearch int

	// Filter keeps only the tracks that match it. It is applied inside the
	// index search (and, when it matches few tracks, by an exact scan of
	// the matching ones), so k results come back whenever k tracks match.
	// nil keeps every track.
	Filter *Filter
	// MaxPerArtist caps how many results may share one artist: 1 to MaxK
	// (no page ranks more results than that); 0 means no cap.
	MaxPerArtist int
	// Diversity is MMR's λ in [0, 1]: 0 ranks by similarity alone, 1 by
	// difference from the results already chosen alone.
	Diversity float64
	// Offset skips this many results (after filtering, dedupe and
	// diversity), for paging: K results from Offset on are returned, the
	// slice of a query for Offset+K from 0, which is at most MaxK. Under
	// best_score, whose rescoring can rank a probe's deeper candidates
	// first, that holds while the candidates a page asks each probe for
	// stay within the beam (EfSearch): Offset+K with a quarter more for
	// duplicates, the diversity window's 50 with Diversity, and half again
	// with negatives.
	Offset int
	// ScoreThreshold, when set, drops results scoring below it.
	ScoreThreshold *float64
}

// Filter restricts a search to tracks that match every condition given.
// A nil bound or an empty list places no condition; a year outside
// 1..9999, a popularity outside 0..100, a minimum above its maximum and an
// empty name in Genres, Artists or ExcludeArtists are refused (an
// *OptionError).
type Filter struct {
	// Genres: a track matches when it has any of them in Track.Genres
	// (compared normalised, as dedupe compares names; Subgenres are not
	// matched). Each must be a genre some track of the catalogue has:
	// one that none has (a typo, a subgenre) would keep no track, and is
	// refused once the query has the catalogue, with an *OptionError
	// listing the catalogue's genres.
	Genres []string
	// YearMin and YearMax bound Track.ReleaseYear, inclusive; a track of
	// unknown year matches no year bound.
	YearMin, YearMax *int
	// PopularityMin and PopularityMax bound Track.Popularity, inclusive.
	PopularityMin, PopularityMax *int
	// Artists keeps tracks by any of these artists; ExcludeArtists drops
	// tracks by any of them (both compared normalised, as dedupe does).
	Artists, ExcludeArtists []string
	// IDs is an allow-list of tracks, references as Exclude takes them:
	// one that names no track adds nothing to the list (so a list of
	// unknown tracks keeps none), one that no stored id could be fails the
	// query.
	IDs []TrackID
}

// Strategy is how Recommend combines its examples.
type Strategy string

const (
	// StrategyAverage searches around one vector: the weighted mean of the
	// positives, moved away from the weighted mean of the negatives
	// (Qdrant's average_vector).
	StrategyAverage Strategy = "average"
	// StrategyBestScore scores each candidate by its best similarity to a
	// positive, and ranks those closer to a negative than to every
	// positive after all others (Qdrant's best_score).
	StrategyBestScore Strategy = "best_score"
)

// ParseStrategy returns the strategy called name; "" is StrategyAverage.
// Any other name is an error wrapping ErrInvalidQuery that quotes it
// (escaped, clipped) and names the strategies there are: the one
// check of a strategy, whether it comes from Go, a request or a flag.
func ParseStrategy(name string) (Strategy, error) {
	if name == "" {
		return StrategyAverage, nil
	}
	if st := Strategy(name); slices.Contains(Strategies(), st) {
		return st, nil
	}
	return "", fmt.Errorf("%w: strategy %q: want %s", ErrInvalidQuery, clip(name), StrategyList())
}

// Strategies lists the strategies a RecommendQuery takes, the default
// (StrategyAverage) first.
func Strategies() []Strategy { return []Strategy{StrategyAverage, StrategyBestScore} }

// StrategyList names the strategies for a message saying what is
// accepted: "average" or "best_score".
func StrategyList() string {
	var b strings.Builder
	sts := Strategies()
	for i, st := range sts {
		switch {
		case i == 0:
		case i == len(sts)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", st)
	}
	return b.String()
}

// Example is one positive or negative example of a RecommendQuery:
// exactly one of Track, Vector or Features.
type Example struct {
	Track    TrackID   // a catalogue track: a stored id, or a form ParseTrackRef accepts
	Vector   []float32 // a raw vector of the model's dimension
	Features *Track    // a track described by its features: embedded on the spot
	// Weight scales the example's pull; 0 means 1. Negative weights are
	// refused.
	Weight float64
}

// RecommendQuery is what Recommend answers: tracks like the positives and
// unlike the negatives. The examples' catalogue tracks are excluded from
// the results.
type RecommendQuery struct {
	Positive, Negative []Example
	// User, when set, takes the examples from the user's history instead,
	// as RecommendUser reads it (Positive and Negative must be empty), and
	// excludes every track of the history.
	User     string
	Strategy Strategy // "" means StrategyAverage
	K        int
	Options  SearchOptions
}

// Query is what SimilarTo searches by: exactly one of Tracks (the mean of
// their embeddings; the seeds are excluded from the results), Track (a track
// that need not be in the catalogue, embedded on the spot: cold start) or
// Vector (a raw vector of the model's dimension).
type Query struct {
	Tracks []TrackID
	Track  *Track
	Vector []float32
}

// ModelInfo describes a stored model version.
type ModelInfo struct {
	Version   string
	Created   time.Time
	Dim       int
	Inputs    []string        // raw input names the model reads (see RawInputs)
	Config    json.RawMessage // the training run's config, as recorded
	Metrics   json.RawMessage // the training run's evaluation figures
	History   json.RawMessage // the training run's epochs (its curves), as recorded
	IndexSize int             // tracks in the index built with this model
}

// Stats describes the snapshot an Engine is serving and how its loads
// went (see Reload).
type Stats struct {
	Tracks       int       // tracks in the catalogue snapshot
	Indexed      int       // live vectors in the index
	ModelVersion string    // "" when there is no model
	Generation   uint64    // database generation the snapshot was loaded from
	Loaded       time.Time // when the snapshot was loaded; zero before the first load
	// ReloadFailures counts the loads that failed since Open (the
	// snapshot being served stayed).
	ReloadFailures int
	// ReloadError is why the last load failed; nil once a load succeeds.
	ReloadError error
	// ReloadGeneration is the database generation the last failed load
	// tried to read (the one on disk, newer than Generation); 0 when it
	// is unknown or the last load succeeded.
	ReloadGeneration uint64
	// LoadRead is how long the load of the served snapshot held the
	// database file (its read transaction, which copies the records and
	// the index out of the file, under the file's shared lock), and
	// LoadDecode how long it then decoded and checked the copy without
	// the file. LoadDerive is how long it then built the track-search and
	// filter indexes before it replaced the snapshot served before; 0 for
	// the first load, which serves at once and builds them after.
	LoadRead, LoadDecode, LoadDerive time.Duration
	// HugeTLB is the bytes of the index on the hugetlb pool
	// (Options.HugeTLB), which the process's RSS does not count: 0 when
	// the index is on the heap.
	HugeTLB int64
}

// Results answer one similarity query. Everything in them comes from the
// one snapshot that answered: the model, the neighbours and their tracks.
// Their slices are their own; their strings point into the snapshot's
// catalogue, which is never written, so a Results kept keeps that memory.
type Results struct {
	// Model is the version of the model whose index answered.
	Model string
	// Generation is the database generation the answer was read from.
	Generation uint64
	// Query is the track searched from: the catalogue track of Similar, or
	// the Track of a SimilarTo Query. nil for seed tracks or a vector.
	Query *Track
	// Strategy is the strategy that answered a Recommend; "" for Similar
	// and SimilarTo.
	Strategy Strategy
	// Neighbors are the results, closest first; with
	// SearchOptions.Diversity, in MMR's order, which trades closeness for
	// difference from the results before.
	Neighbors []Neighbor
}
