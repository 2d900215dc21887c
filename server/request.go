package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
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

// searchParams are the query parameters parseSearchParams reads: the
// search options of GET /similar and GET /users/{id}/recommend.
var searchParams = []string{"exclude", "exclude_artist", "dedupe", "offset", "score_threshold", "genre",
	"year_min", "year_max", "popularity_min", "popularity_max", "max_per_artist", "diversity", "fields"}

// repeatable are the list parameters that may be given more than once
// (their values add up): besides comma-separated, and id (GET /tracks and
// GET /map), whose every value is one whole reference.
var repeatable = []string{"exclude", "genre", "fields", "ids", "id"}

var getSimilarParams = append([]string{"track", "k"}, searchParams...)

// similarParams is a parsed GET /similar query.
type similarParams struct {
	track  soundalike.TrackID
	k      int
	opts   *soundalike.SearchOptions
	fields fieldSet
}

// parseSimilarQuery parses and checks GET /similar's query string.
func parseSimilarQuery(q url.Values) (similarParams, error) {
	p := similarParams{k: DefaultK}
	if err := checkParams(q, getSimilarParams); err != nil {
		return p, err
	}
	id := q.Get("track")
	if id == "" {
		return p, badRequest("missing query parameter track: give %s, e.g. /similar?track=ID", soundalike.TrackRefForms)
	}
	p.track = soundalike.TrackID(id)
	if s, ok := given(q, "k"); ok {
		k, err := wholeNumber("k", s, kSpan)
		if err != nil {
			return p, err
		}
		p.k = k
	}
	var err error
	if p.opts, p.fields, err = parseSearchParams(q); err != nil {
		return p, err
	}
	return p, checkSearch(p.k, p.opts, asParams, "")
}

// checkParams refuses parameters not in known, and parameters given more
// than once that are not repeatable.
func checkParams(q url.Values, known []string) error {
	for name, vs := range q {
		if !slices.Contains(known, name) {
			return badRequest("unknown query parameter %s: accepted are %s", quoteShort(name), strings.Join(known, ", "))
		}
		if len(vs) > 1 && !slices.Contains(repeatable, name) {
			return badRequest("query parameter %s is given %d times: give it once", name, len(vs))
		}
	}
	return nil
}

// checkNoParams refuses a query string on endpoint, which takes no
// parameters (GET /tracks/{id}, GET /model), naming the first parameter
// given: a client that sends one believes it does something. (The
// probes, /metrics, /openapi.json and the explorer's files take none
// either but ignore what they are given: see Server.)
func checkNoParams(r *http.Request, endpoint string) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := queryOf(r)
	if err != nil || len(q) == 0 {
		return err
	}
	name := slices.Sorted(maps.Keys(q))[0]
	return badRequest("unknown query parameter %s: %s takes no query parameters", quoteShort(name), endpoint)
}

// parseSearchParams parses the search options of a GET query (the
// parameters in searchParams; it ignores others, which the caller
// checks): exclusions, dedupe, the filter, paging, diversity and the
// result fields. A value that is no number, or no boolean, gets a 400
// naming the parameter and what is accepted; the caller checks the
// values with k (checkSearch).
func parseSearchParams(q url.Values) (*soundalike.SearchOptions, fieldSet, error) {
	opts := &soundalike.SearchOptions{}
	exclude, err := listParam(q, "exclude", trackRefs)
	if err != nil {
		return nil, 0, err
	}
	opts.Exclude = trackIDs(exclude)
	if opts.ExcludeArtist, err = parseBool(q, "exclude_artist", false); err != nil {
		return nil, 0, err
	}
	dedupe, err := parseBool(q, "dedupe", true)
	if err != nil {
		return nil, 0, err
	}
	opts.NoDedupe = !dedupe
	var flt soundalike.Filter
	if flt.Genres, err = listParam(q, "genre", "genres"); err != nil {
		return nil, 0, err
	}
	for _, b := range []struct {
		name string
		dst  **int
		span span
	}{
		{"year_min", &flt.YearMin, yearSpan}, {"year_max", &flt.YearMax, yearSpan},
		{"popularity_min", &flt.PopularityMin, popularitySpan}, {"popularity_max", &flt.PopularityMax, popularitySpan},
	} {
		if *b.dst, err = intParam(q, b.name, b.span); err != nil {
			return nil, 0, err
		}
	}
	if len(flt.Genres) > 0 || flt.YearMin != nil || flt.YearMax != nil || flt.PopularityMin != nil || flt.PopularityMax != nil {
		opts.Filter = &flt
	}
	if v, err := intParam(q, "offset", offsetSpan); err != nil {
		return nil, 0, err
	} else if v != nil {
		opts.Offset = *v
	}
	if v, err := intParam(q, "max_per_artist", maxPerArtistSpan); err != nil {
		return nil, 0, err
	} else if v != nil {
		opts.MaxPerArtist = *v
	}
	if opts.ScoreThreshold, err = floatParam(q, "score_threshold", scoreSpan); err != nil {
		return nil, 0, err
	}
	if v, err := floatParam(q, "diversity", diversitySpan); err != nil {
		return nil, 0, err
	} else if v != nil {
		opts.Diversity = *v
	}
	names, err := listParam(q, "fields", "fields ("+fieldNames+")")
	if err != nil {
		return nil, 0, err
	}
	fields, err := parseFields("fields", names)
	if err != nil {
		return nil, 0, err
	}
	return opts, fields, nil
}

// trackRefs is what a list parameter of track references (exclude, ids)
// holds, as listParam's refusal of an empty entry says it.
const trackRefs = "track references (" + soundalike.TrackRefForms + ")"

// trackIDs returns a request's list of track references as the engine
// takes them, each as given (the engine judges them: see refError), in
// order: nil for none, as a list left out.
func trackIDs(refs []string) []soundalike.TrackID {
	if len(refs) == 0 {
		return nil
	}
	ids := make([]soundalike.TrackID, len(refs))
	for i, r := range refs {
		ids[i] = soundalike.TrackID(r)
	}
	return ids
}

// listParam returns the entries of the list parameter name (exclude,
// genre, fields, ids): its values split at commas, in order over all its
// occurrences, each entry trimmed of spaces. Every comma-separated
// parameter of the API is read with it, so that an entry's index is the
// same everywhere: the one listParam's refusals name, and the one the
// engine's refusal of an entry names (a track reference of exclude, a
// genre no track has: runError), since no entry is dropped before it.
//
// A value that is blank (empty or spaces) gives no entry: an HTML form
// sends a text input left empty as "genre=", meaning none. An empty entry
// in a value that holds others ("a,,b", a comma leading or trailing) is a
// 400 naming the parameter and the entry's index (exclude[1]) and saying
// that the parameter takes comma-separated of, as an empty element of a
// JSON list is: dropping it would hide a client's mistake, a list joined
// with an empty item.
func listParam(q url.Values, name, of string) ([]string, error) {
	var out []string
	for _, v := range q[name] {
		if strings.TrimSpace(v) == "" {
			continue
		}
		for x := range strings.SplitSeq(v, ",") {
			if x = strings.TrimSpace(x); x == "" {
				return nil, badRequest("%s[%d]: empty entry: %s takes comma-separated %s, none empty", name, len(out), name, of)
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// span is the range of a number parameter or field, both ends included.
type span struct{ lo, hi float64 }

// String writes the bounds in full ("0..2147483647"), as %v would not
// from a million on.
func (r span) String() string {
	return strconv.FormatFloat(r.lo, 'f', -1, 64) + ".." + strconv.FormatFloat(r.hi, 'f', -1, 64)
}

func (r span) holds(v float64) bool { return v >= r.lo && v <= r.hi }

// The ranges of the numbers a request gives, as the server names them
// where it refuses a value before there is one to check: a parameter that
// is no number (wholeNumber, floatParam), a number of more digits than
// any value holds (those and decoding's numberRange). A search's values
// are checked by the library (checkSearch), whose errors name the same
// ranges (TestSpansAreTheLibrarys keeps them equal); the server checks
// releaseYearSpan itself.
var (
	kSpan            = span{1, MaxK}
	offsetSpan       = span{0, MaxK - 1}
	maxPerArtistSpan = span{0, MaxK}
	scoreSpan        = span{-1, 1}
	diversitySpan    = span{0, 1}
	yearSpan         = span{1, 9999}
	popularitySpan   = span{0, 100}
	releaseYearSpan  = span{1000, 9999}
	// A user's history is not capped: its offset takes any int32.
	historyLimitSpan  = span{1, MaxHistoryLimit}
	historyOffsetSpan = span{0, math.MaxInt32}
)

// parseWhole parses s, the value of parameter name, as a whole number in
// r: a 400 naming the parameter and r otherwise, saying whether s is no
// whole number or one outside r (however many digits it has).
func parseWhole(name, s string, r span) (int, error) {
	v, err := wholeNumber(name, s, r)
	if err == nil && !r.holds(float64(v)) {
		return 0, badRequest("%s: %d is outside %v", name, v, r)
	}
	return v, err
}

// wholeNumber parses s, the value of parameter name, as a whole number,
// whatever its range: a 400 naming the parameter and r, the range it
// takes, when s is no whole number or has more digits than any int. A
// search's k and options are checked by the library (checkSearch).
func wholeNumber(name, s string, r span) (int, error) {
	v, err := strconv.Atoi(s)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, badRequest("%s: %s is outside %v", name, quoteShort(s), r)
	case err != nil:
		return 0, badRequest("%s: %s is not a whole number: want %v", name, quoteShort(s), r)
	}
	return v, nil
}

// given returns the value of the optional query parameter name and
// whether it is given. A blank value (empty or spaces) is none, as it is
// for a list parameter (listParam): an HTML form sends a text input left
// empty as "k=", meaning the default. Every optional parameter is read
// with it, so that a blank value means the same for each.
func given(q url.Values, name string) (string, bool) {
	vs := q[name]
	if len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
		return "", false
	}
	return vs[0], true
}

// intParam parses an optional whole-number parameter of the search
// options, which takes r (wholeNumber).
func intParam(q url.Values, name string, r span) (*int, error) {
	s, ok := given(q, name)
	if !ok {
		return nil, nil
	}
	v, err := wholeNumber(name, s, r)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// floatParam parses an optional number parameter of the search options,
// which takes r: a 400 naming the parameter and r when it is no number
// (NaN is none) or beyond any float64. Its range is the library's to
// check (checkSearch).
func floatParam(q url.Values, name string, r span) (*float64, error) {
	s, ok := given(q, name)
	if !ok {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return nil, badRequest("%s: %s is outside %v", name, quoteShort(s), r)
	case err != nil || math.IsNaN(v):
		return nil, badRequest("%s: %s is not a number: want %v", name, quoteShort(s), r)
	}
	return &v, nil
}

// fieldSet is what a response adds to each result besides its id, name,
// artists and score.
type fieldSet uint8

const (
	fieldMetadata fieldSet = 1 << iota // album, release_date, popularity, genres
	fieldFeatures                      // the eleven Spotify features
)

const fieldNames = "metadata, features"

// parseFields parses the entries of the fields parameter (or JSON field)
// param, naming a bad one by its index: fields[1].
func parseFields(param string, vs []string) (fieldSet, error) {
	var fs fieldSet
	for i, v := range vs {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "metadata":
			fs |= fieldMetadata
		case "features":
			fs |= fieldFeatures
		default:
			return 0, badRequest("%s[%d]: %s is not a field: accepted are %s", param, i, quoteShort(v), fieldNames)
		}
	}
	return fs, nil
}

// booleans is what a boolean parameter takes, as its refusal names it:
// strconv.ParseBool's words, which clients may rely on (1 and 0 above
// all), the other cases of true and false too (TRUE, False).
const booleans = "want true or false (also 1, 0, t, f)"

// parseBool parses the optional boolean parameter name (def when not
// given): a 400 naming it and what it takes otherwise.
func parseBool(q url.Values, name string, def bool) (bool, error) {
	s, ok := given(q, name)
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return def, badRequest("%s: %s is not a boolean: %s", name, quoteShort(s), booleans)
	}
	return v, nil
}

// searchBody is the search options of a POST body: POST /similar (and
// each query of /similar/batch) and POST /recommend embed it.
type searchBody struct {
	Exclude        []string    `json:"exclude" accepts:"an array of track references (strings)"`
	ExcludeArtist  bool        `json:"exclude_artist"`
	Dedupe         *bool       `json:"dedupe"`
	Filter         *filterBody `json:"filter"`
	Offset         *int        `json:"offset"`
	ScoreThreshold *float64    `json:"score_threshold"`
	MaxPerArtist   *int        `json:"max_per_artist"`
	Diversity      *float64    `json:"diversity"`
	Fields         []string    `json:"fields"`
}

// filterBody is a searchBody's filter.
type filterBody struct {
	Genres         []string `json:"genres"`
	YearMin        *int     `json:"year_min"`
	YearMax        *int     `json:"year_max"`
	PopularityMin  *int     `json:"popularity_min"`
	PopularityMax  *int     `json:"popularity_max"`
	Artists        []string `json:"artists"`
	ExcludeArtists []string `json:"exclude_artists"`
	IDs            []string `json:"ids" accepts:"an array of track references (strings)"`
}

// options returns b's search options and result fields. A bad entry of
// fields gets a 400 naming it and what is accepted; the caller checks
// the options' values with k (checkSearch).
func (b *searchBody) options() (*soundalike.SearchOptions, fieldSet, error) {
	opts := &soundalike.SearchOptions{Exclude: trackIDs(b.Exclude), ExcludeArtist: b.ExcludeArtist, NoDedupe: b.Dedupe != nil && !*b.Dedupe}
	if f := b.Filter; f != nil {
		opts.Filter = &soundalike.Filter{Genres: f.Genres, Artists: f.Artists, ExcludeArtists: f.ExcludeArtists, IDs: trackIDs(f.IDs),
			YearMin: f.YearMin, YearMax: f.YearMax, PopularityMin: f.PopularityMin, PopularityMax: f.PopularityMax}
	}
	if b.Offset != nil {
		opts.Offset = *b.Offset
	}
	if b.MaxPerArtist != nil {
		opts.MaxPerArtist = *b.MaxPerArtist
	}
	opts.ScoreThreshold = b.ScoreThreshold
	if b.Diversity != nil {
		opts.Diversity = *b.Diversity
	}
	fields, err := parseFields("fields", b.Fields)
	if err != nil {
		return nil, 0, err
	}
	return opts, fields, nil
}

// similarRequest is the body of POST /similar and of each query of POST
// /similar/batch.
type similarRequest struct {
	Tracks   []string         `json:"tracks" accepts:"an array of track references (strings)"`
	Features *featuresRequest `json:"features"`
	Vector   []float64        `json:"vector"`
	K        *int             `json:"k"`
	searchBody
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

// track builds the query track from f and checks it as the engine will:
// what only the JSON shows here (every feature given, each raw value,
// before a whole-number feature is stored as an int; release_date or
// release_year, not both; a release_year of four digits), then the rest
// with soundalike.CheckQueryTrack, the engine's check of a query's track
// (popularity, duration_ms, release_date, name, artists). A refusal
// names the field as the body does, features.duration_ms.
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
		t.DurationMS = *f.DurationMS
	}
	if f.Popularity != nil {
		t.Popularity = *f.Popularity
	}
	switch {
	case f.ReleaseDate != nil && f.ReleaseYear != nil:
		return nil, badRequest("features: give release_date or release_year, not both")
	case f.ReleaseDate != nil:
		t.ReleaseDate = *f.ReleaseDate
	case f.ReleaseYear != nil:
		if !releaseYearSpan.holds(float64(*f.ReleaseYear)) {
			return nil, badRequest("features.release_year: %d is not a four-digit year: want %v", *f.ReleaseYear, releaseYearSpan)
		}
		t.ReleaseDate = strconv.Itoa(*f.ReleaseYear)
	}
	if err := soundalike.CheckQueryTrack(t); err != nil {
		if fe, ok := errors.AsType[*soundalike.FieldError](err); ok {
			return nil, badRequest("features.%v", fe)
		}
		return nil, badRequest("features: %v", err)
	}
	return t, nil
}

// similarQuery is a checked POST /similar query.
type similarQuery struct {
	q      soundalike.Query
	k      int
	opts   *soundalike.SearchOptions
	fields fieldSet
}

// decodeSimilarRequest reads and checks a POST /similar body of at most
// limit bytes.
func decodeSimilarRequest(w http.ResponseWriter, r *http.Request, limit int64, dim modelDim) (similarQuery, error) {
	var req similarRequest
	if err := decodeBody(w, r, limit, &req); err != nil {
		return similarQuery{}, err
	}
	return req.query(dim, "")
}

// query checks req and builds the query it asks for, as far as that needs
// no catalogue: each part with the engine's own check of it, where it
// reads the part, so that a refusal names the field as the body spells
// it (the options with checkSearch, features with
// soundalike.CheckQueryTrack, a vector with soundalike.ValidateVector,
// the seeds with soundalike.CheckSeeds), and every query of a batch is
// checked before any runs. soundalike.CheckSimilarTo is those checks and
// the rule of exactly one; SimilarTo makes it again on every call, which
// is cheap. What needs the catalogue, a seed that names no track or a
// vector not of the model's dimension, is left to the search. Every
// refusal names the body's fields at the body's place in its request, at.
func (req *similarRequest) query(dim modelDim, at place) (similarQuery, error) {
	sq := similarQuery{k: DefaultK}
	if req.K != nil {
		sq.k = *req.K
	}
	var err error
	if sq.opts, sq.fields, err = req.options(); err != nil {
		return sq, at.in(err)
	}
	// checkSearch names every field at its place itself: a value judged
	// against another's names both there.
	if err := checkSearch(sq.k, sq.opts, asFields, at); err != nil {
		return sq, err
	}
	if err := req.searchBy(&sq.q, dim); err != nil {
		return sq, at.in(err)
	}
	return sq, nil
}

// searchBy checks what req searches by, its tracks, features or vector,
// and sets q to it.
func (req *similarRequest) searchBy(q *soundalike.Query, dim modelDim) error {
	var err error
	// A field is given when present, empty or not ("tracks": [] is given
	// and refused, as "vector": [] is): each given field is checked, in
	// the order tracks, features, vector, before the rule of exactly one.
	var given []string
	if req.Tracks != nil {
		given = append(given, "tracks")
		if len(req.Tracks) == 0 {
			return badRequest("tracks: empty: give 1..%d track references", MaxSeeds)
		}
		// Their number first: CheckSeeds looks at each seed, and a body
		// may hold hundreds of thousands.
		if err := checkSeeds(len(req.Tracks)); err != nil {
			return err
		}
		q.Tracks = trackIDs(req.Tracks)
	}
	if req.Features != nil {
		given = append(given, "features")
		t, err := req.Features.track()
		if err != nil {
			return err
		}
		q.Track = t
	}
	if req.Vector != nil {
		given = append(given, "vector")
		if q.Vector, err = vector32(place(""), req.Vector, dim); err != nil {
			return err
		}
	}
	switch len(given) {
	case 0:
		return badRequest("nothing to search by: give exactly one of tracks (seed track ids), features (a track's eleven Spotify features) or vector (the model's dimension)")
	case 1:
	default:
		return badRequest("give exactly one of tracks, features or vector, not %s", strings.Join(given, " and "))
	}
	return refError(soundalike.CheckSeeds(q.Tracks), "")
}

// modelDim looks up the dimension of the model being served
// (Searcher.Model), which the 400 for an empty vector states as what
// would be accepted; ok is false when there is no model to tell it (a
// search would fail on that anyway). Only that refusal calls it: the
// lookup waits for the engine's first load.
type modelDim func() (dim int, ok bool)

// modelDim is the lookup of the dimension of the model srv serves, under
// ctx.
func (srv *Server) modelDim(ctx context.Context) modelDim {
	return func() (int, bool) {
		m, err := srv.s.Model(ctx)
		return m.Dim, err == nil && m.Dim > 0
	}
}

// maxBadValues is the most values of a vector that its 400 names one by
// one (vector32), after the count of all that are bad.
const maxBadValues = 3

// vector32 converts the vector field of the JSON object at at
// (at.name("vector"): "vector", "positive[0].vector") to the float32s the
// engine searches by, refusing what soundalike.ValidateVector refuses and
// a value beyond float32: the 400 for several such values says how many
// and names the first maxBadValues, each at its index ("vector[3]: …"),
// so that a client fixing its input sees the extent of it, and stays
// short whatever the vector. A vector is given when its field is present, as
// the engine's Query counts a non-nil Vector: "vector": [] is an empty
// vector, refused, not a vector left out, with the model's dimension
// (dim) as what would be accepted.
func vector32(at place, vs []float64, dim modelDim) ([]float32, error) {
	if len(vs) == 0 {
		if n, ok := dim(); ok {
			return nil, badRequest("%s: empty: give a vector of %d numbers (the model's dimension)", at.name("vector"), n)
		}
		return nil, badRequest("%s: empty: give a vector of the model's dimension (GET /model's dim)", at.name("vector"))
	}
	vec := make([]float32, len(vs))
	bad, nbad := []string(nil), 0
	for i, v := range vs {
		f := float32(v)
		if math.IsNaN(v) || math.IsInf(float64(f), 0) {
			if nbad < maxBadValues {
				bad = append(bad, fmt.Sprintf("%s: %v is not a finite 32-bit float", at.name(fmt.Sprintf("vector[%d]", i)), v))
			}
			nbad++
		}
		vec[i] = f
	}
	if nbad > 0 {
		want := fmt.Sprintf("want each within ±%v", float32(math.MaxFloat32))
		if nbad == 1 {
			bad[0] += " (" + want + ")"
		} else {
			// How many, then the first few: a client fixing its input
			// sees the extent, and the message stays short whatever the
			// vector.
			bad = slices.Insert(bad, 0, fmt.Sprintf("%s: %d of %d values are not finite 32-bit floats (%s)",
				at.name("vector"), nbad, len(vs), want))
		}
		return nil, badFields(bad)
	}
	if err := soundalike.ValidateVector(vec); err != nil {
		// Its message begins with the field it names: "vector: …",
		// "vector[3]: …".
		return nil, at.in(badRequest("%v", err))
	}
	return vec, nil
}

// MaxBatch is the most queries one POST /similar/batch may hold.
const MaxBatch = 100

// batchRequest is the body of POST /similar/batch.
type batchRequest struct {
	Queries []json.RawMessage `json:"queries" accepts:"an array of query objects, each a POST /similar body"`
}

// decodeBatchRequest reads and checks a POST /similar/batch body: every
// query is checked before any runs, as POST /similar checks its body
// (similarRequest.query: as far as it can be without the catalogue), and
// a bad one gets the 400 the same body gets from POST /similar, its
// message naming its fields at the query's place (place): "queries[2].tracks[1]: …".
// What only the catalogue can judge, a track not found, is left to the
// run.
func decodeBatchRequest(w http.ResponseWriter, r *http.Request, limit int64, dim modelDim) ([]similarQuery, error) {
	var req batchRequest
	if err := decodeBody(w, r, limit, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Queries == nil:
		return nil, badRequest("queries: missing: send {\"queries\": [a POST /similar body, ...]}")
	case len(req.Queries) == 0 || len(req.Queries) > MaxBatch:
		return nil, badRequest("queries: %d queries: want 1..%d", len(req.Queries), MaxBatch)
	}
	qs := make([]similarQuery, len(req.Queries))
	for i, raw := range req.Queries {
		var sr similarRequest
		err := decodeValue(raw, &sr)
		if err == nil {
			qs[i], err = sr.query(dim, queryPlace(i))
		} else {
			err = queryPlace(i).in(err)
		}
		if err != nil {
			return nil, err
		}
	}
	return qs, nil
}

// place is where a JSON object sits in its request body, what every
// field a refusal of it names is prefixed with: "" for POST /similar's
// own body, "queries[3]" for a batch's query (queryPlace), "positive[2]"
// for a POST /recommend example (parseExamples).
type place string

// queryPlace is the place of a batch's query i.
func queryPlace(i int) place { return place(fmt.Sprintf("queries[%d]", i)) }

// name returns the body's field name (as a message names it: "k",
// "filter.year_max", "tracks[1]") at p: "queries[3].filter.year_max".
func (p place) name(field string) string {
	if p == "" {
		return field
	}
	return string(p) + "." + field
}

// in prefixes each message of err, which names the body's fields as POST
// /similar's own body would, with p: "queries[3].k: …" (or
// "queries[3].tracks[1]: …") when the message begins with a field's name,
// else "queries[3]: …", keeping its status. Only the message's head is
// prefixed: a message that names a second field is written at its place
// (checkSearch).
func (p place) in(err error) error {
	if p == "" || err == nil {
		return err
	}
	if he, ok := errors.AsType[*httpError](err); ok {
		parts := make([]string, len(he.parts))
		for j, part := range he.parts {
			parts[j] = p.prefix(part)
		}
		return &httpError{status: he.status, parts: parts}
	}
	msg := p.prefix(err.Error())
	return fmt.Errorf("%s%w", msg[:len(msg)-len(err.Error())], err)
}

// prefix prefixes msg, which names the body's fields as POST /similar's
// own body would, with p (in).
func (p place) prefix(msg string) string {
	if p == "" {
		return msg
	}
	sep := ": "
	if j := strings.IndexAny(msg, ":[. "); j > 0 && msg[j] != ' ' {
		sep = "."
	}
	return string(p) + sep + msg
}

// pathID unescapes a track reference from the path's escaped segment,
// once: an id holding "%" arrives as "%25".
func pathID(raw string) (soundalike.TrackID, error) {
	if raw == "" {
		return "", badRequest("track id in the path is empty: give /tracks/{id} with %s", soundalike.TrackRefForms)
	}
	id, err := url.PathUnescape(raw)
	if err != nil {
		return "", badRequest("track id %s in the path is not a valid escaped path segment (escape %% as %%25)", quoteShort(raw))
	}
	return soundalike.TrackID(id), nil
}

// The server passes track references on as given, and the engine judges
// them: it looks a reference up as a stored id first, so that a track
// whose id has spaces around it or the form of another reference (a
// Spotify URI, a link to another site) is found by it too, which only the
// catalogue can tell. One that names no track, whatever its form, is
// ignored in exclude and filter.ids and is a 404 elsewhere (the engine's
// soundalike.ErrNotFound, whose message says what a Spotify reference must
// be when it looks like one). Only a reference that no stored id could be
// (empty, over soundalike.MaxKeyLen bytes, holding a NUL byte) fails the
// query with a soundalike.TrackRefError naming the engine's option;
// refError renames it as the request gave it.

// requestForm is how a request spells the engine's options: as a GET's
// query parameters or as a POST body's JSON fields.
type requestForm uint8

const (
	asParams requestForm = iota // year_min
	asFields                    // filter.year_min
)

// optionNames are the request's names of the engine's k and options, and
// of its lists of track references (soundalike.OptionError's and
// TrackRefError's Option), in each requestForm; "" where that form has
// none. The one table of them: every 400 about an option the engine
// refused, before a search or as it ran, names it through here
// (requestError, refError, runError).
var optionNames = map[string][2]string{
	"k":                                   {"k", "k"},
	"SearchOptions.Exclude":               {"exclude", "exclude"},
	"SearchOptions.Offset":                {"offset", "offset"},
	"SearchOptions.MaxPerArtist":          {"max_per_artist", "max_per_artist"},
	"SearchOptions.ScoreThreshold":        {"score_threshold", "score_threshold"},
	"SearchOptions.Diversity":             {"diversity", "diversity"},
	"SearchOptions.Filter.Genres":         {"genre", "filter.genres"},
	"SearchOptions.Filter.YearMin":        {"year_min", "filter.year_min"},
	"SearchOptions.Filter.YearMax":        {"year_max", "filter.year_max"},
	"SearchOptions.Filter.PopularityMin":  {"popularity_min", "filter.popularity_min"},
	"SearchOptions.Filter.PopularityMax":  {"popularity_max", "filter.popularity_max"},
	"SearchOptions.Filter.Artists":        {"", "filter.artists"},
	"SearchOptions.Filter.ExcludeArtists": {"", "filter.exclude_artists"},
	"SearchOptions.Filter.IDs":            {"", "filter.ids"},
	"Query.Tracks":                        {"", "tracks"},
	"RecommendQuery.Positive":             {"", "positive"},
	"RecommendQuery.Negative":             {"", "negative"},
}

// name returns the request's name of the engine's option in form f, and
// whether the request has one.
func (f requestForm) name(option string) (string, bool) {
	name := optionNames[option][f]
	return name, name != ""
}

// checkSearch checks a search of k results under opts, as parsed from a
// request of form f, with the engine's own check (soundalike.CheckSearch)
// before the server admits it: a bad value of k or of an option, a list
// of exclude or filter.ids longer than the limits allow (checkLists), or a
// reference of exclude or filter.ids that no stored id could be, is a 400
// naming it as the request does (requestError), at the body's place in
// its request, at ("" but in a batch). It allocates nothing for a search
// it passes.
func checkSearch(k int, opts *soundalike.SearchOptions, f requestForm, at place) error {
	// The lists' lengths first: CheckSearch looks at each reference, and
	// a body may hold hundreds of thousands.
	if opts != nil {
		if err := checkLists(opts); err != nil {
			return at.in(err)
		}
	}
	if err := soundalike.CheckSearch(k, opts); err != nil {
		return f.requestError(err, at, "")
	}
	return nil
}

// requestError turns the engine's refusal of a search's k or options (one
// or more soundalike.OptionError, joined) or of a reference in its lists
// (a soundalike.TrackRefError; one of the call's own track, Option "", is
// named track) into a 400 that names each as a request of form f gives
// it, and says what is wrong and what is accepted:
// "year_min: 2020 is above year_max 2010: want year_min ≤ year_max",
// several joined with "; ". Each name is at the body's place at, the
// first and the one it is judged against alike:
// "queries[0].filter.year_min: 2020 is above queries[0].filter.year_max 2010: …".
// They are named so wherever they sit in err's tree (named): a Searcher
// may wrap the engine's error, or join it with others, and then the rest
// of the message is kept ("shard 2: genre[0]: …"), each joined error
// that names no option at at's prefix, and the status is the one statusOf
// gives err. An error naming an option the request cannot give passes
// unchanged but for at's prefix, as refError passes one.
func (f requestForm) requestError(err error, at place, track string) error {
	parts := joined(err)
	msgs := make([]string, len(parts))
	bare := true // every part is an OptionError or a TrackRefError itself
	for i, e := range parts {
		msg, found, ok := f.named(e, at, track)
		if !ok {
			return at.in(err)
		}
		if !found {
			msg = at.prefix(msg)
		}
		msgs[i] = msg
		switch e.(type) {
		case *soundalike.OptionError, *soundalike.TrackRefError:
		default:
			bare = false
		}
	}
	if bare {
		return badFields(msgs)
	}
	return &renamedError{msg: strings.Join(msgs, "; "), err: err}
}

// named returns e's message with each soundalike.OptionError and
// TrackRefError in its tree named as a request of form f gives its option
// (requestError), at at; found says whether there was one, and ok is
// false when one names an option the request cannot give. A wrapper's own
// words are kept: the message of each error it wraps is renamed where its
// own message holds it, as fmt.Errorf's %w and errors.Join's do.
func (f requestForm) named(e error, at place, track string) (msg string, found, ok bool) {
	switch e := e.(type) {
	case *soundalike.OptionError:
		ok = true
		msg = e.Named(func(option string) string {
			name, known := f.name(option)
			ok = ok && known
			return at.name(name)
		})
		return msg, true, ok
	case *soundalike.TrackRefError:
		msg, ok = f.refMessage(e, at, track)
		return msg, true, ok
	}
	var inner []error
	switch u := e.(type) {
	case interface{ Unwrap() error }:
		if w := u.Unwrap(); w != nil {
			inner = []error{w}
		}
	case interface{ Unwrap() []error }:
		inner = u.Unwrap()
	}
	msg = e.Error()
	olds, news := make([]string, len(inner)), make([]string, len(inner))
	for i, w := range inner {
		wmsg, wfound, wok := f.named(w, at, track)
		if !wok {
			return msg, found, false
		}
		olds[i], news[i] = w.Error(), wmsg
		found = found || wfound
	}
	if !found {
		return msg, false, true
	}
	if len(inner) > 1 && msg == strings.Join(olds, "\n") {
		// errors.Join's message: joined as the request's parts are.
		return strings.Join(news, "; "), true, true
	}
	found = false
	for i, old := range olds {
		if news[i] != old && strings.Contains(msg, old) {
			msg, found = strings.Replace(msg, old, news[i], 1), true
		}
	}
	return msg, found, true
}

// joined returns the errors err joins (errors.Join), or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// renamedError is err under a message that names its options as the
// request gave them (requestError): statusOf finds in it what it finds in
// err, and answers with its message where it answers with err's.
type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// runError turns what the engine refused of a query as it ran, with the
// catalogue, into the 400 that names it as a request of form f gave it,
// at the body's place at ("" but in a batch): an option only the
// catalogue can judge (a soundalike.OptionError: a filter genre no track
// has, genre[0] or filter.genres[0]), however the Searcher wrapped or
// joined it, as checkSearch names those refused before (requestError), a
// track reference as refError names it, track being the call's own.
// Other errors (a track not found, no index) pass unchanged but for at's
// prefix: statusOf gives their status.
func (f requestForm) runError(err error, at place, track string) error {
	if _, ok := errors.AsType[*soundalike.OptionError](err); ok {
		return f.requestError(err, at, track)
	}
	return at.in(refError(err, track))
}

// refError turns the engine's refusal of a track reference (a
// soundalike.TrackRefError) into a 400 that names the reference as the
// request gave it, and says what is wrong and what is accepted: track
// names the call's own track (Option ""), and a list's entry is named
// with its index, a JSON body's list item (exclude[2]) and a list
// parameter's entry alike: listParam drops no entry, so the engine's
// index is the entry's over all the parameter's occurrences. The list is
// named as a body's field (optionNames): the only list a GET gives,
// exclude, is spelled alike, and checkSearch refused its references
// before the search ran. Other errors pass unchanged.
func refError(err error, track string) error {
	re, ok := errors.AsType[*soundalike.TrackRefError](err)
	if !ok {
		return err
	}
	msg, ok := asFields.refMessage(re, "", track)
	if !ok {
		return err // a reference the request did not give: the engine's message names it
	}
	return badRequest("%s", msg)
}

// refMessage is the one wording of the engine's refusal re of a track
// reference, named as a request of form f gave it, at the body's place
// at: "exclude[2]: …", "queries[1].tracks[0]: …", or track's own name for
// the call's own track (Option ""), then the engine's reason. ok is false
// when the request gave no such reference (an option form f cannot give,
// or the call's own track where track is ""): the engine's message names
// it then.
func (f requestForm) refMessage(re *soundalike.TrackRefError, at place, track string) (msg string, ok bool) {
	name, ok := track, track != ""
	if re.Option != "" {
		var list string
		list, ok = f.name(re.Option)
		name = fmt.Sprintf("%s[%d]", list, re.Index)
	}
	return at.name(name) + ": " + re.Reason, ok
}
