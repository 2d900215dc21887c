package soundalike

import (
	"errors"

	"github.com/audotics/soundalike/storage"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrNotFound: the track is not in the catalogue. It is
	// storage.ErrNotFound, the one "unknown track" error of every layer.
	ErrNotFound = storage.ErrNotFound
	// ErrNoModel: no model has been trained yet; run `soundalike train`.
	ErrNoModel = errors.New("no model: run `soundalike train` first")
	// ErrNoIndex: no index has been built yet; run `soundalike reindex`.
	ErrNoIndex = errors.New("no index: run `soundalike reindex` first")
	// ErrDimension: a vector does not have the model's dimension.
	ErrDimension = errors.New("vector has the wrong dimension")
)

// ErrInvalidQuery: a query is malformed (nothing to search by, missing or
// non-finite features, an unknown seed track in a multi-track query is
// ErrNotFound instead). The wrapped message says what is wrong.
var ErrInvalidQuery = errors.New("invalid query")
