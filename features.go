package soundalike

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Features are Spotify's eleven audio features of a track.
type Features struct {
	Acousticness     float64 // [0,1]
	Danceability     float64 // [0,1]
	Energy           float64 // [0,1]
	Instrumentalness float64 // [0,1]
	Key              int     // pitch class 0..11, -1 = unknown
	Liveness         float64 // [0,1]
	Loudness         float64 // dB, [-100, 10]
	Mode             int     // 1 major, 0 minor
	Speechiness      float64 // [0,1]
	Tempo            float64 // BPM, [0, 400]
	Valence          float64 // [0,1]
}

// featureNames are the Spotify names of the eleven features, in the order
// of Features.Values.
var featureNames = [NumFeatures]string{
	"acousticness", "danceability", "energy", "instrumentalness", "key",
	"liveness", "loudness", "mode", "speechiness", "tempo", "valence",
}

// NumFeatures is the number of Spotify audio features.
const NumFeatures = 11

// FeatureRange is the accepted range of one feature, both ends included.
type FeatureRange struct{ Min, Max float64 }

// featureRanges are the documented ranges that Validate enforces, in the
// order of featureNames. Loudness allows a little above 0 dB and tempo 0,
// because real Spotify data has both.
var featureRanges = [NumFeatures]FeatureRange{
	{0, 1}, {0, 1}, {0, 1}, {0, 1}, {-1, 11},
	{0, 1}, {-100, 10}, {0, 1}, {0, 1}, {0, 400}, {0, 1},
}

// FeatureNames returns the Spotify names of the eleven features, in the
// order of Features.Values: a new slice each call.
func FeatureNames() []string { return slices.Clone(featureNames[:]) }

// FeatureName returns the Spotify name of feature i (an index into
// FeatureNames). It panics if i is not in 0..NumFeatures-1.
func FeatureName(i int) string { return featureNames[i] }

// FeatureRanges returns the ranges Validate enforces, in the order of
// FeatureNames: a new slice each call. Loudness allows a little above 0 dB
// and tempo 0, because real Spotify data has both.
func FeatureRanges() []FeatureRange { return slices.Clone(featureRanges[:]) }

// Values returns the features in the order of FeatureNames.
func (f *Features) Values() [NumFeatures]float64 {
	return [NumFeatures]float64{
		f.Acousticness, f.Danceability, f.Energy, f.Instrumentalness, float64(f.Key),
		f.Liveness, f.Loudness, float64(f.Mode), f.Speechiness, f.Tempo, f.Valence,
	}
}

// Set sets feature i (an index into FeatureNames) to v. Key and Mode are
// truncated to integers; Validate reports values that are not whole.
func (f *Features) Set(i int, v float64) {
	switch i {
	case 0:
		f.Acousticness = v
	case 1:
		f.Danceability = v
	case 2:
		f.Energy = v
	case 3:
		f.Instrumentalness = v
	case 4:
		f.Key = int(v)
	case 5:
		f.Liveness = v
	case 6:
		f.Loudness = v
	case 7:
		f.Mode = int(v)
	case 8:
		f.Speechiness = v
	case 9:
		f.Tempo = v
	case 10:
		f.Valence = v
	default:
		panic(fmt.Sprintf("soundalike: feature index %d out of range", i))
	}
}

// FieldError is the error of a check of one field of a track or an
// interaction (ValidateFeature, Track.Validate, CheckTrack,
// CheckReleaseDate, CheckInteraction). Its message is the field's name
// followed by what is wrong with the value and what is accepted
// ("popularity: 101 is outside 0..100", "name is 70000 bytes long; at
// most 65536 are accepted"). A caller that read the value from a field
// of its own that is named otherwise (a file's column) names that field
// instead with Named, as package ingest does.
type FieldError struct {
	// Field is the field's name: for a track, a feature's (FeatureNames),
	// "popularity", "duration_ms", "name", "album", "release_date",
	// "spotify_id", "artists", "genres", "subgenres" or "track id"; for
	// an interaction, "user", "track id", "action" or "time".
	Field string
	// Index is the entry of a list field (artists, genres, subgenres)
	// that the error is about, from 0; -1 when it is about the field (as
	// TrackRefError's and OptionError's Index).
	Index int
	// rest is the message after the field's name, separator included.
	rest string
}

// fieldError returns the FieldError of field (entry -1: the field
// itself) whose message goes on with rest, formatted as fmt.Sprintf does.
func fieldError(field string, entry int, rest string, a ...any) *FieldError {
	return &FieldError{Field: field, Index: entry, rest: fmt.Sprintf(rest, a...)}
}

func (e *FieldError) Error() string {
	if e.Index >= 0 {
		return e.Named(fmt.Sprintf("%s[%d]", e.Field, e.Index))
	}
	return e.Named(e.Field)
}

// Named returns the error's message with name in place of the field's
// name (and entry).
func (e *FieldError) Named(name string) string { return name + e.rest }

// ValidateFeature checks one raw feature value (index i into FeatureNames).
// The error, a *FieldError, names the feature and what would be accepted.
func ValidateFeature(i int, v float64) error {
	name := featureNames[i]
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fieldError(name, -1, ": %v is not a finite number", v)
	}
	r := featureRanges[i]
	outside := v < r.Min || v > r.Max
	switch {
	case name == "key" && outside:
		return fieldError(name, -1, ": %v is outside %s", v, keyAccepted)
	case name == "key" && v != math.Trunc(v):
		return fieldError(name, -1, ": %v is not a whole number in %s", v, keyAccepted)
	case name == "mode" && v != 0 && v != 1:
		return fieldError(name, -1, ": %v is not %s", v, modeAccepted)
	case outside:
		return fieldError(name, -1, ": %v is outside [%g, %g]", v, r.Min, r.Max)
	}
	return nil
}

// keyAccepted and modeAccepted are the values ValidateFeature accepts
// for key and mode, in the words of every error about them: a key out of
// range or with a fraction, a mode of any other value.
const (
	keyAccepted  = "-1..11 (pitch class, -1 = unknown)"
	modeAccepted = "0 (minor) or 1 (major)"
)

// Validate checks every feature against FeatureRanges() and returns the
// first problem.
func (f *Features) Validate() error {
	vals := f.Values()
	for i, v := range vals {
		if err := ValidateFeature(i, v); err != nil {
			return err
		}
	}
	return nil
}

// Bounds of a track's metadata that Track.Validate enforces. The track
// record stores its integers as 32-bit values and every track is held in
// memory by a serving engine, so an unbounded field would either fail to
// decode once stored or cost any amount of memory.
const (
	// MaxDurationMS is the largest Track.DurationMS: the record keeps it
	// in 32 bits (about 24.8 days).
	MaxDurationMS = math.MaxInt32
	// MaxTextLen is the longest text field of a track (name, album,
	// release date, Spotify id, and each artist, genre and subgenre), in
	// bytes.
	MaxTextLen = 64 << 10
	// MaxListLen is the most entries of Track.Artists, Track.Genres and
	// Track.Subgenres (genres accumulate over imports up to it).
	MaxListLen = 1024
)

// Validate checks a track before it is stored: an id, valid features and
// sane metadata: popularity 0..100, duration_ms 0..MaxDurationMS, text
// of valid UTF-8 without NUL bytes and at most MaxTextLen bytes, lists of
// at most MaxListLen entries. Every track it accepts is stored and read
// back unchanged. The error names the field and what is accepted: a
// *FieldError, but for a missing id.
func (t *Track) Validate() error {
	if t.ID == "" {
		return fmt.Errorf("missing track id")
	}
	if err := t.Features.Validate(); err != nil {
		return err
	}
	if t.Popularity < 0 || t.Popularity > 100 {
		return fieldError("popularity", -1, ": %d is outside 0..100", t.Popularity)
	}
	if t.DurationMS < 0 || t.DurationMS > MaxDurationMS {
		return fieldError("duration_ms", -1, ": %d is outside 0..%d (milliseconds; 0 means unknown)", t.DurationMS, MaxDurationMS)
	}
	for _, f := range [...]struct{ name, s string }{
		{"name", t.Name}, {"album", t.Album}, {"release_date", t.ReleaseDate}, {"spotify_id", t.SpotifyID},
	} {
		if err := checkText(f.name, -1, f.s); err != nil {
			return err
		}
	}
	for _, f := range [...]struct {
		name string
		ss   []string
	}{{"artists", t.Artists}, {"genres", t.Genres}, {"subgenres", t.Subgenres}} {
		if err := checkList(f.name, f.ss); err != nil {
			return err
		}
	}
	return nil
}

// checkText refuses a text field (entry of a list field; -1: the field)
// that is not valid UTF-8, holds a NUL byte or is longer than MaxTextLen
// bytes: what an import from a file refuses too.
func checkText(field string, entry int, s string) error {
	switch {
	case len(s) > MaxTextLen:
		return fieldError(field, entry, " is %d bytes long; at most %d are accepted", len(s), MaxTextLen)
	case !utf8.ValidString(s):
		return fieldError(field, entry, " %q is not valid UTF-8 (text must be UTF-8 encoded)", clip(s))
	case strings.IndexByte(s, 0) >= 0:
		return fieldError(field, entry, " %q contains a NUL byte", clip(s))
	}
	return nil
}

// checkList applies checkText to every entry of a list field, and bounds
// its length by MaxListLen.
func checkList(field string, ss []string) error {
	if len(ss) > MaxListLen {
		return fieldError(field, -1, " has %d entries; at most %d are accepted", len(ss), MaxListLen)
	}
	for i, s := range ss {
		if err := checkText(field, i, s); err != nil {
			return err
		}
	}
	return nil
}

// Raw input names beyond the eleven features, understood by RawInputs.
const (
	InputDurationMS  = "duration_ms"
	InputReleaseYear = "release_year"
	InputPopularity  = "popularity"
)

// RawInputs appends to dst the raw (un-encoded) model inputs of t for the
// named columns: the eleven FeatureNames plus InputDurationMS,
// InputReleaseYear, InputPopularity and the token inputs (see
// InputArtistPrefix). A value that is unknown is NaN; the
// model's encoding decides what NaN becomes. It returns an error for an
// unknown name, or a nil t. Pass dst[:0] to reuse a buffer.
func RawInputs(t *Track, names []string, dst []float32) ([]float32, error) {
	if t == nil {
		return dst, fmt.Errorf("raw inputs: track is nil")
	}
	vals := t.Features.Values()
	nan := float32(math.NaN())
	var tokens tokenInputs
	for _, n := range names {
		if v, ok := tokens.value(t, n); ok {
			dst = append(dst, v)
			continue
		}
		var v float32
		switch n {
		case InputDurationMS:
			v = nan
			if t.DurationMS > 0 {
				v = float32(t.DurationMS)
			}
		case InputReleaseYear:
			v = nan
			if y := t.ReleaseYear(); y > 0 {
				v = float32(y)
			}
		case InputPopularity:
			v = nan
			if t.Popularity > 0 {
				v = float32(t.Popularity)
			}
		default:
			i := featureIndex(n)
			if i < 0 {
				return dst, fmt.Errorf("unknown model input %q", n)
			}
			v = float32(vals[i])
			if n == "key" && t.Features.Key < 0 {
				v = nan
			}
		}
		dst = append(dst, v)
	}
	return dst, nil
}

func featureIndex(name string) int {
	for i, n := range featureNames {
		if n == name {
			return i
		}
	}
	return -1
}
