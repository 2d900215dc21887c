package soundalike

import (
	"time"
)

// TrackID is a track's external id: a Spotify id, or whatever id the
// catalogue uses. Index node ids (uint32) stay inside Engine and storage.
type TrackID string

// Track is one catalogue entry: its audio features and, when known, its
// metadata. Zero values mean "unknown" for every metadata field.
type Track struct {
	ID       TrackID
	Features Features

	Name        string
	Artists     []string
	Album       string
	Popularity  int    // 0..100; 0 also means unknown, as in Spotify's data
	DurationMS  int    // 0 means unknown
	ReleaseDate string // as given: YYYY, YYYY-MM or YYYY-MM-DD; "" means unknown
	Genres      []string
	Subgenres   []string
	SpotifyID   string // set when ID is another system's id (e.g. the app's UUID)
}

// ReleaseYear returns the year of t.ReleaseDate, or 0 when it is unknown or
// unparsable.
func (t *Track) ReleaseYear() int {
	s := t.ReleaseDate
	if len(s) < 4 {
		return 0
	}
	y := 0
	for i := 0; i < 4; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		y = y*10 + int(c-'0')
	}
	if len(s) > 4 && s[4] != '-' {
		return 0
	}
	return y
}

// Interaction is one thing a user did with a track.
type Interaction struct {
	User   string
	Track  TrackID
	Action string // one of the Action constants, or another name the app uses
	// Time is when it happened; the zero time means unknown. An import
	// accepts years 1678 to 2262 (see CheckInteraction). It is stored as nanoseconds since the
	// Unix epoch, 0 meaning unknown, so exactly the epoch
	// (1970-01-01T00:00:00Z) reads back as unknown: in source data a
	// timestamp of 0 is a placeholder for one that is missing.
	Time time.Time
}

// Known actions. Import canonicalises the usual spellings (add_to_playlist,
// AddToPlaylist, …) to these.
const (
	ActionPlay          = "play"
	ActionLike          = "like"
	ActionAddToPlaylist = "addToPlaylist"
	ActionSkip          = "skip"
)

// DefaultSimilarityActions are the actions that count as "these tracks
// belong together" when training. Skips never do.
func DefaultSimilarityActions() []string {
	return []string{ActionPlay, ActionLike, ActionAddToPlaylist}
}

// Embedding is a model's output for one track: always the model's dimension
// long with L2 norm 1, so cosine similarity is a dot product.
type Embedding []float32

// Neighbor is one search result. Score is the cosine similarity between the
// query and the result, in [-1, 1]: higher is closer. Under
// StrategyBestScore it is the result's best (weighted) similarity to a
// positive example, or, for a result closer to a negative than to every
// positive, minus its similarity to that negative: those rank last, and
// a SearchOptions.ScoreThreshold of 0 or more drops those whose negative
// similarity is positive (where every similarity is negative, one can
// score above a result ranked before it). Track is the catalogue track
// (its ID is ID), a copy taken from the snapshot that answered.
type Neighbor struct {
	ID    TrackID
	Score float32
	Track Track
}
