package server

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/audotics/soundalike"
)

// SimilarResponse is the answer to a similarity query: the body of
// GET and POST /similar, and what `soundalike similar --json` prints.
type SimilarResponse struct {
	// Track is the query track: the catalogue track of GET /similar, or the
	// track built from the features of POST /similar, which is no stored
	// track: its TrackID is "" (omitted). It is nil (omitted) for queries
	// by seed tracks or by vector.
	Track *TrackJSON `json:"track,omitempty"`
	// Results are the similar tracks, closest first: [] when none
	// matched (the responses the server builds never hold nil).
	Results []Result `json:"results"`
	// Model is the version of the model that answered ("" if unknown).
	Model string `json:"model"`
	// TookUS is the time taken to answer, in microseconds, from the start
	// of the search to the end of building the response.
	TookUS int64 `json:"took_us"`
}

// Result is one similar track. Score is the cosine similarity, higher is
// closer. The metadata and features are there when the query's fields ask
// for them, and absent otherwise.
type Result struct {
	TrackID string   `json:"track_id"`
	Name    string   `json:"name"`
	Artists []string `json:"artists"`
	Score   float32  `json:"score"`
	*ResultMetadata
	Features *FeaturesJSON `json:"features,omitempty"`
}

// ResultMetadata is the metadata fields=metadata adds to a Result.
// SpotifyID is the track's Spotify id when the catalogue stores one
// besides its id (as a catalogue keyed by an app's own ids does), and
// omitted otherwise.
type ResultMetadata struct {
	SpotifyID   string   `json:"spotify_id,omitempty"`
	Album       string   `json:"album"`
	ReleaseDate string   `json:"release_date"`
	Popularity  int      `json:"popularity"`
	Genres      []string `json:"genres"`
}

// TrackJSON is a catalogue track as the API shows it. Unknown metadata is
// a zero value; lists are [] rather than null. SpotifyID is omitted when
// unknown (see ResultMetadata). TrackID is omitted only for the track a
// query by features builds (SimilarResponse.Track), which is not stored:
// a stored track's id is never "".
type TrackJSON struct {
	TrackID     string       `json:"track_id,omitempty"`
	SpotifyID   string       `json:"spotify_id,omitempty"`
	Name        string       `json:"name"`
	Artists     []string     `json:"artists"`
	Album       string       `json:"album"`
	Popularity  int          `json:"popularity"`
	DurationMS  int          `json:"duration_ms"`
	ReleaseDate string       `json:"release_date"`
	Genres      []string     `json:"genres"`
	Subgenres   []string     `json:"subgenres"`
	Features    FeaturesJSON `json:"features"`
}

// FeaturesJSON are the eleven Spotify audio features under their Spotify
// names.
type FeaturesJSON struct {
	Acousticness     float64 `json:"acousticness"`
	Danceability     float64 `json:"danceability"`
	Energy           float64 `json:"energy"`
	Instrumentalness float64 `json:"instrumentalness"`
	Key              int     `json:"key"`
	Liveness         float64 `json:"liveness"`
	Loudness         float64 `json:"loudness"`
	Mode             int     `json:"mode"`
	Speechiness      float64 `json:"speechiness"`
	Tempo            float64 `json:"tempo"`
	Valence          float64 `json:"valence"`
}

// NewTrackJSON converts a track to its API form.
func NewTrackJSON(t *soundalike.Track) *TrackJSON {
	tj := trackJSON(t)
	return &tj
}

func trackJSON(t *soundalike.Track) TrackJSON {
	return TrackJSON{
		TrackID:     string(t.ID),
		SpotifyID:   t.SpotifyID,
		Name:        t.Name,
		Artists:     nonNil(t.Artists),
		Album:       t.Album,
		Popularity:  t.Popularity,
		DurationMS:  t.DurationMS,
		ReleaseDate: t.ReleaseDate,
		Genres:      nonNil(t.Genres),
		Subgenres:   nonNil(t.Subgenres),
		Features:    newFeaturesJSON(&t.Features),
	}
}

func newFeaturesJSON(f *soundalike.Features) FeaturesJSON {
	return FeaturesJSON{
		Acousticness: f.Acousticness, Danceability: f.Danceability, Energy: f.Energy,
		Instrumentalness: f.Instrumentalness, Key: f.Key, Liveness: f.Liveness,
		Loudness: f.Loudness, Mode: f.Mode, Speechiness: f.Speechiness,
		Tempo: f.Tempo, Valence: f.Valence,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Similar answers "which tracks sound like catalogue track id?" the way
// GET /similar does: the query track, its k nearest tracks with their
// names and artists, and the model version. Errors wrap the Searcher's
// (soundalike.ErrNotFound for an unknown id, ErrNoModel, ErrNoIndex).
func Similar(ctx context.Context, s Searcher, id soundalike.TrackID, k int, opts *soundalike.SearchOptions) (*SimilarResponse, error) {
	start := time.Now()
	res, err := s.Similar(ctx, id, k, opts)
	if err != nil {
		return nil, err
	}
	return respond(start, res, 0), nil
}

// SimilarTo answers a query by seed tracks, features or vector with the
// response POST /similar gives. The response's Track is set only for a
// query by features (q.Track). As Recommend, it does not apply the API's
// request limits (MaxSeeds, MaxExclude, MaxFilterIDs).
func SimilarTo(ctx context.Context, s Searcher, q soundalike.Query, k int, opts *soundalike.SearchOptions) (*SimilarResponse, error) {
	start := time.Now()
	res, err := s.SimilarTo(ctx, q, k, opts)
	if err != nil {
		return nil, err
	}
	return respond(start, res, 0), nil
}

// respond translates the Searcher's results to the API's form, with the
// fields asked for.
func respond(start time.Time, res soundalike.Results, fields fieldSet) *SimilarResponse {
	resp := new(SimilarResponse)
	resp.fill(start, res, fields, nil)
	return resp
}

// fill sets r to the API's form of res, with the fields asked for, reusing
// r's results array; the query track is written to track (a new one when
// track is nil).
func (r *SimilarResponse) fill(start time.Time, res soundalike.Results, fields fieldSet, track *TrackJSON) {
	n := len(res.Neighbors)
	r.Results = slices.Grow(r.Results[:0], n)[:n]
	if r.Results == nil {
		r.Results = []Result{} // the API's results are an array, [] when nothing matched, never null
	}
	r.Model, r.Track = res.Model, nil
	if res.Query != nil {
		if track == nil {
			track = new(TrackJSON)
		}
		*track = trackJSON(res.Query)
		r.Track = track
	}
	for i := range res.Neighbors {
		n, out := &res.Neighbors[i], &r.Results[i]
		*out = Result{TrackID: string(n.ID), Name: n.Track.Name, Artists: nonNil(n.Track.Artists), Score: n.Score}
		if fields&fieldMetadata != 0 {
			out.ResultMetadata = &ResultMetadata{SpotifyID: n.Track.SpotifyID, Album: n.Track.Album, ReleaseDate: n.Track.ReleaseDate, Popularity: n.Track.Popularity, Genres: nonNil(n.Track.Genres)}
		}
		if fields&fieldFeatures != 0 {
			f := newFeaturesJSON(&n.Track.Features)
			out.Features = &f
		}
	}
	r.TookUS = time.Since(start).Microseconds()
}

// AppendJSON appends r's JSON encoding to b. It produces exactly what
// encoding/json's Marshal does (a test checks), without reflection, since
// it is on the hot path of every query.
func (r *SimilarResponse) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if r.Track != nil {
		b = append(b, `"track":`...)
		b = r.Track.AppendJSON(b)
		b = append(b, ',')
	}
	b = append(b, `"results":`...)
	if r.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Results {
			if i > 0 {
				b = append(b, ',')
			}
			x := &r.Results[i]
			b = append(b, `{"track_id":`...)
			b = appendString(b, x.TrackID)
			b = append(b, `,"name":`...)
			b = appendString(b, x.Name)
			b = append(b, `,"artists":`...)
			b = appendStrings(b, x.Artists)
			b = append(b, `,"score":`...)
			b = appendFloat(b, float64(x.Score), 32)
			if m := x.ResultMetadata; m != nil {
				if m.SpotifyID != "" {
					b = append(b, `,"spotify_id":`...)
					b = appendString(b, m.SpotifyID)
				}
				b = append(b, `,"album":`...)
				b = appendString(b, m.Album)
				b = append(b, `,"release_date":`...)
				b = appendString(b, m.ReleaseDate)
				b = append(b, `,"popularity":`...)
				b = strconv.AppendInt(b, int64(m.Popularity), 10)
				b = append(b, `,"genres":`...)
				b = appendStrings(b, m.Genres)
			}
			if x.Features != nil {
				b = append(b, `,"features":`...)
				b = x.Features.appendJSON(b)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"took_us":`...)
	b = strconv.AppendInt(b, r.TookUS, 10)
	return append(b, '}')
}

// AppendJSON appends t's JSON encoding to b, exactly as encoding/json
// would.
func (t *TrackJSON) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if t.TrackID != "" {
		b = append(b, `"track_id":`...)
		b = appendString(b, t.TrackID)
		b = append(b, ',')
	}
	if t.SpotifyID != "" {
		b = append(b, `"spotify_id":`...)
		b = appendString(b, t.SpotifyID)
		b = append(b, ',')
	}
	b = append(b, `"name":`...)
	b = appendString(b, t.Name)
	b = append(b, `,"artists":`...)
	b = appendStrings(b, t.Artists)
	b = append(b, `,"album":`...)
	b = appendString(b, t.Album)
	b = append(b, `,"popularity":`...)
	b = strconv.AppendInt(b, int64(t.Popularity), 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, int64(t.DurationMS), 10)
	b = append(b, `,"release_date":`...)
	b = appendString(b, t.ReleaseDate)
	b = append(b, `,"genres":`...)
	b = appendStrings(b, t.Genres)
	b = append(b, `,"subgenres":`...)
	b = appendStrings(b, t.Subgenres)
	b = append(b, `,"features":`...)
	b = t.Features.appendJSON(b)
	return append(b, '}')
}

// appendJSON appends f's JSON encoding to b, exactly as encoding/json
// would.
func (f *FeaturesJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"acousticness":`...)
	b = appendFloat(b, f.Acousticness, 64)
	b = append(b, `,"danceability":`...)
	b = appendFloat(b, f.Danceability, 64)
	b = append(b, `,"energy":`...)
	b = appendFloat(b, f.Energy, 64)
	b = append(b, `,"instrumentalness":`...)
	b = appendFloat(b, f.Instrumentalness, 64)
	b = append(b, `,"key":`...)
	b = strconv.AppendInt(b, int64(f.Key), 10)
	b = append(b, `,"liveness":`...)
	b = appendFloat(b, f.Liveness, 64)
	b = append(b, `,"loudness":`...)
	b = appendFloat(b, f.Loudness, 64)
	b = append(b, `,"mode":`...)
	b = strconv.AppendInt(b, int64(f.Mode), 10)
	b = append(b, `,"speechiness":`...)
	b = appendFloat(b, f.Speechiness, 64)
	b = append(b, `,"tempo":`...)
	b = appendFloat(b, f.Tempo, 64)
	b = append(b, `,"valence":`...)
	b = appendFloat(b, f.Valence, 64)
	return append(b, '}')
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendFloat formats f as encoding/json does. Non-finite values, which
// encoding/json refuses, become null; the Searcher never returns them.
func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// (including its HTML escaping of <, > and &, invalid UTF-8 as U+FFFD, and
// U+2028/U+2029).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// marshal is encoding/json for the endpoints off the hot path.
func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
