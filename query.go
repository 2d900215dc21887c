package soundalike

import (
	"encoding/json"
	"time"
)

// SearchOptions refine a similarity search. The zero value (or nil) means:
// no exclusions, deduplication on, the index's default beam width.
type SearchOptions struct {
	// Exclude drops these tracks from the results.
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
	// fail with ErrInvalidQuery.
	EfSearch int
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
}

// Results answer one similarity query. Everything in them comes from the
// one snapshot that answered: the model, the neighbours and their tracks.
// They share no memory with the engine.
type Results struct {
	// Model is the version of the model whose index answered.
	Model string
	// Generation is the database generation the answer was read from.
	Generation uint64
	// Query is the track searched from: the catalogue track of Similar, or
	// the Track of a SimilarTo Query. nil for seed tracks or a vector.
	Query *Track
	// Neighbors are the results, closest first.
	Neighbors []Neighbor
}
