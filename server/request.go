package server

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/audotics/soundalike"
)

// Limits on k, the number of results. MaxK is the library's limit,
// soundalike.MaxK, under this package's name.
const (
	DefaultK = 20
	MaxK     = soundalike.MaxK
)

var getSimilarParams = []string{"track", "k", "exclude", "exclude_artist", "dedupe"}

// similarParams is a parsed GET /similar query.
type similarParams struct {
	track soundalike.TrackID
	k     int
	opts  soundalike.SearchOptions
}

// parseSimilarQuery parses and checks GET /similar's query string.
func parseSimilarQuery(q url.Values) (similarParams, error) {
	p := similarParams{k: DefaultK}
	for name, vs := range q {
		known := false
		for _, n := range getSimilarParams {
			known = known || n == name
		}
		if !known {
			return p, badRequest("unknown query parameter %q: accepted are %s", name, strings.Join(getSimilarParams, ", "))
		}
		if len(vs) > 1 && name != "exclude" {
			return p, badRequest("query parameter %s is given %d times: give it once", name, len(vs))
		}
	}
	id := q.Get("track")
	if id == "" {
		return p, badRequest("missing query parameter track: give %s, e.g. /similar?track=ID", soundalike.TrackRefForms)
	}
	var err error
	if p.track, err = trackRef("track", id); err != nil {
		return p, err
	}
	if s, ok := q["k"]; ok {
		k, err := parseK(s[0])
		if err != nil {
			return p, err
		}
		p.k = k
	}
	for _, s := range q["exclude"] {
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				ref, err := trackRef("exclude", x)
				if err != nil {
					return p, err
				}
				p.opts.Exclude = append(p.opts.Exclude, ref)
			}
		}
	}
	if p.opts.ExcludeArtist, err = parseBool(q, "exclude_artist", false); err != nil {
		return p, err
	}
	dedupe, err := parseBool(q, "dedupe", true)
	if err != nil {
		return p, err
	}
	p.opts.NoDedupe = !dedupe
	return p, nil
}

func parseK(s string) (int, error) {
	k, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("k: %q is not a whole number: k ranges over 1..%d", s, MaxK)
	}
	return k, checkK(k)
}

func checkK(k int) error {
	if k < 1 || k > MaxK {
		return badRequest("k: %d is outside the range 1..%d", k, MaxK)
	}
	return nil
}

func parseBool(q url.Values, name string, def bool) (bool, error) {
	s, ok := q[name]
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseBool(s[0])
	if err != nil {
		return def, badRequest("%s: %q is not a boolean: use true or false", name, s[0])
	}
	return v, nil
}

// similarRequest is the body of POST /similar.
type similarRequest struct {
	Tracks        []string         `json:"tracks"`
	Features      *featuresRequest `json:"features"`
	Vector        []float64        `json:"vector"`
	K             *int             `json:"k"`
	Exclude       []string         `json:"exclude"`
	ExcludeArtist bool             `json:"exclude_artist"`
	Dedupe        *bool            `json:"dedupe"`
}

// featuresRequest is a track that need not be in the catalogue: the eleven
// Spotify features (all required) and optional metadata the model may use.
type featuresRequest struct {
	Acousticness     *float64 `json:"acousticness"`
	Danceability     *float64 `json:"danceability"`
	Energy           *float64 `json:"energy"`
	Instrumentalness *float64 `json:"instrumentalness"`
	Key              *float64 `json:"key"`
	Liveness         *float64 `json:"liveness"`
	Loudness         *float64 `json:"loudness"`
	Mode             *float64 `json:"mode"`
	Speechiness      *float64 `json:"speechiness"`
	Tempo            *float64 `json:"tempo"`
	Valence          *float64 `json:"valence"`

	DurationMS  *int     `json:"duration_ms"`
	ReleaseDate *string  `json:"release_date"`
	ReleaseYear *int     `json:"release_year"`
	Popularity  *int     `json:"popularity"`
	Name        string   `json:"name"`
	Artists     []string `json:"artists"`
}

// values returns the features in the order of soundalike.FeatureNames().
func (f *featuresRequest) values() [soundalike.NumFeatures]*float64 {
	return [soundalike.NumFeatures]*float64{
		f.Acousticness, f.Danceability, f.Energy, f.Instrumentalness, f.Key,
		f.Liveness, f.Loudness, f.Mode, f.Speechiness, f.Tempo, f.Valence,
	}
}

// track checks f and builds the query track.
func (f *featuresRequest) track() (*soundalike.Track, error) {
	t := &soundalike.Track{Name: f.Name, Artists: f.Artists}
	var missing []string
	for i, v := range f.values() {
		if v == nil {
			missing = append(missing, soundalike.FeatureName(i))
			continue
		}
		if err := soundalike.ValidateFeature(i, *v); err != nil {
			return nil, badRequest("features.%v", err)
		}
		t.Features.Set(i, *v)
	}
	if len(missing) > 0 {
		return nil, badRequest("features: missing %s: all eleven Spotify features are required (%s)",
			strings.Join(missing, ", "), strings.Join(soundalike.FeatureNames(), ", "))
	}
	if f.DurationMS != nil {
		if *f.DurationMS < 0 {
			return nil, badRequest("features.duration_ms: %d is negative", *f.DurationMS)
		}
		t.DurationMS = *f.DurationMS
	}
	if f.Popularity != nil {
		if *f.Popularity < 0 || *f.Popularity > 100 {
			return nil, badRequest("features.popularity: %d is outside 0..100", *f.Popularity)
		}
		t.Popularity = *f.Popularity
	}
	switch {
	case f.ReleaseDate != nil && f.ReleaseYear != nil:
		return nil, badRequest("features: give release_date or release_year, not both")
	case f.ReleaseDate != nil:
		t.ReleaseDate = *f.ReleaseDate
		if t.ReleaseDate != "" && t.ReleaseYear() == 0 {
			return nil, badRequest("features.release_date: %q is not YYYY, YYYY-MM or YYYY-MM-DD", t.ReleaseDate)
		}
	case f.ReleaseYear != nil:
		if *f.ReleaseYear < 1000 || *f.ReleaseYear > 9999 {
			return nil, badRequest("features.release_year: %d is not a four-digit year", *f.ReleaseYear)
		}
		t.ReleaseDate = strconv.Itoa(*f.ReleaseYear)
	}
	return t, nil
}

// decodeSimilarRequest reads and checks a POST /similar body of at most
// limit bytes.
func decodeSimilarRequest(w http.ResponseWriter, r *http.Request, limit int64) (soundalike.Query, int, soundalike.SearchOptions, error) {
	var (
		q    soundalike.Query
		opts soundalike.SearchOptions
		req  similarRequest
	)
	if err := decodeBody(w, r, limit, &req); err != nil {
		return q, 0, opts, err
	}

	k := DefaultK
	if req.K != nil {
		k = *req.K
		if err := checkK(k); err != nil {
			return q, 0, opts, err
		}
	}
	for i, x := range req.Exclude {
		ref, err := trackRef(fmt.Sprintf("exclude[%d]", i), x)
		if err != nil {
			return q, 0, opts, err
		}
		opts.Exclude = append(opts.Exclude, ref)
	}
	opts.ExcludeArtist = req.ExcludeArtist
	opts.NoDedupe = req.Dedupe != nil && !*req.Dedupe

	var given []string
	if len(req.Tracks) > 0 {
		given = append(given, "tracks")
		for i, id := range req.Tracks {
			ref, err := trackRef(fmt.Sprintf("tracks[%d]", i), id)
			if err != nil {
				return q, 0, opts, err
			}
			q.Tracks = append(q.Tracks, ref)
		}
	}
	if req.Features != nil {
		given = append(given, "features")
		t, err := req.Features.track()
		if err != nil {
			return q, 0, opts, err
		}
		q.Track = t
	}
	if len(req.Vector) > 0 {
		given = append(given, "vector")
		q.Vector = make([]float32, len(req.Vector))
		for i, v := range req.Vector {
			f := float32(v)
			if math.IsNaN(v) || math.IsInf(float64(f), 0) {
				return q, 0, opts, badRequest("vector[%d]: %v is not a finite 32-bit float", i, v)
			}
			q.Vector[i] = f
		}
	}
	switch len(given) {
	case 0:
		return q, 0, opts, badRequest("nothing to search by: give exactly one of tracks (seed track ids), features (a track's eleven Spotify features) or vector (the model's dimension)")
	case 1:
	default:
		return q, 0, opts, badRequest("give exactly one of tracks, features or vector, not %s", strings.Join(given, " and "))
	}
	return q, k, opts, nil
}

// pathID unescapes a track reference from the path's escaped segment,
// once: an id holding "%" arrives as "%25".
func pathID(raw string) (soundalike.TrackID, error) {
	id, err := url.PathUnescape(raw)
	if err != nil || id == "" {
		return "", badRequest("track id %s in the path is not a valid escaped path segment (escape %% as %%25)", quoteShort(raw))
	}
	return trackRef("the path's track", id)
}

// trackRef parses the track reference given as param: a 400 naming param
// and the accepted forms when it is none.
func trackRef(param, s string) (soundalike.TrackID, error) {
	id, err := soundalike.ParseTrackRef(s)
	if err != nil {
		return "", badRequest("%s: %s", param, strings.TrimPrefix(err.Error(), soundalike.ErrInvalidQuery.Error()+": "))
	}
	return id, nil
}
