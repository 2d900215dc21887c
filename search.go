package soundalike

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/audotics/soundalike/index"
)

// MaxK is the largest number of results a query may ask for.
const MaxK = 1000

// Similar returns the k tracks that sound most like the track id, closest
// first. The track itself never appears, nor (unless opts.NoDedupe) another
// copy of its song or the same song twice. Scores are cosine similarities.
// The Results' Query is the catalogue's record of the track. A malformed
// query (a bad id, k or option) is refused before Similar waits for the
// snapshot.
func (e *Engine) Similar(ctx context.Context, id TrackID, k int, opts *SearchOptions) (Results, error) {
	if err := checkCtx(ctx); err != nil {
		return Results{}, fmt.Errorf("similar: %w", err)
	}
	if err := checkSimilar(id, k, opts); err != nil {
		return Results{}, err
	}
	s, err := e.ready(ctx)
	if err != nil {
		return Results{}, err
	}
	node, err := s.resolve(id)
	if err != nil {
		return Results{}, err
	}
	at, err := s.aroundNode(node)
	if err != nil {
		return Results{}, err
	}
	pos := [1]example{{at: at, w: 1}}
	ns, err := s.searchExamples(ctx, pos[:], nil, StrategyAverage, k, opts)
	if err != nil {
		return Results{}, err
	}
	return s.results(ns, s.cat.track(node)), nil
}

// checkSimilar reports what Similar refuses of a query without reading
// the catalogue: CheckSearch's, and an id that no stored track id could
// be (a *TrackRefError). Whether the id names a track is the snapshot's
// to say.
func checkSimilar(id TrackID, k int, opts *SearchOptions) error {
	if err := CheckSearch(k, opts); err != nil {
		return err
	}
	return checkRef("", 0, id)
}

// SimilarTo searches by a Query: seed tracks (the mean of their
// embeddings; the seeds are excluded), a track's features (cold start:
// embedded on the spot), or a raw vector of the model's dimension. It is
// Recommend's average of the same examples as positives (queryExamples),
// with the same results. A malformed query (CheckSimilarTo) is refused
// before SimilarTo waits for the snapshot.
func (e *Engine) SimilarTo(ctx context.Context, q Query, k int, opts *SearchOptions) (Results, error) {
	if err := checkCtx(ctx); err != nil {
		return Results{}, fmt.Errorf("similar to: %w", err)
	}
	if err := CheckSimilarTo(q, k, opts); err != nil {
		return Results{}, err
	}
	s, err := e.ready(ctx)
	if err != nil {
		return Results{}, err
	}
	var few [8]example // a query's usual seeds, without an allocation
	pos, err := s.queryExamples(few[:0], &q)
	if err != nil {
		return Results{}, err
	}
	ns, err := s.searchExamples(ctx, pos, nil, StrategyAverage, k, opts)
	if err != nil {
		return Results{}, err
	}
	return s.results(ns, q.Track), nil
}

// queryExamples resolves a checked Query (CheckSimilarTo) into the
// positive examples it searches around, appended to dst: its seed tracks,
// named by their place in errors as a request's JSON names them
// ("tracks[1]: track "x" is not in the catalogue …"), or its one track to embed (a
// Features example) or vector.
func (s *snapshot) queryExamples(dst []example, q *Query) ([]example, error) {
	if len(q.Tracks) == 0 {
		dst = append(dst, example{})
		return dst, s.resolveExample(&Example{Features: q.Track, Vector: q.Vector}, &dst[len(dst)-1])
	}
	for i, id := range q.Tracks {
		dst = append(dst, example{})
		if err := s.resolveExample(&Example{Track: id}, &dst[len(dst)-1]); err != nil {
			return nil, fmt.Errorf("tracks[%d]: %w", i, err)
		}
	}
	return dst, nil
}

// searchExamples is the search every query runs once its examples are
// resolved (Similar's track, SimilarTo's Query, Recommend's positives and
// negatives): it excludes what the examples rule out (newFilter), then
// searches around their average (averageAround: one catalogue track alone
// is searched from its own node) or, for StrategyBestScore, around the
// heaviest positives (bestScoreSearch). k and opts have been checked
// (CheckSearch).
func (s *snapshot) searchExamples(ctx context.Context, pos, neg []example, strategy Strategy, k int, opts *SearchOptions) ([]Neighbor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // the caller's deadline passed while it waited
	}
	f, err := s.newFilter(opts, pos, neg)
	if err != nil {
		return nil, err
	}
	if strategy == StrategyBestScore {
		return s.bestScoreSearch(ctx, pos, neg, k, opts, f)
	}
	at, err := averageAround(pos, neg)
	if err != nil {
		return nil, err
	}
	return s.run(ctx, at, k, opts, f)
}

// around is where a search looks: the unit vector q and, when q is a
// catalogue track's own vector, that track's node, where the index search
// starts (index.HNSW.SearchFrom: the descent through the upper layers
// would only lead there); noNode otherwise.
type around struct {
	q    []float32
	node uint32
}

// noNode is the node of a search around a vector that is no catalogue
// track's own: the index search descends from its entry point.
const noNode uint32 = math.MaxUint32

// aroundVector is a search around q, no catalogue track's own vector.
func aroundVector(q []float32) around { return around{q: q, node: noNode} }

// aroundNode is a search around catalogue track node's own vector.
func (s *snapshot) aroundNode(node uint32) (around, error) {
	q, err := s.vectorOf(node)
	return around{q: q, node: node}, err
}

// CheckSimilarTo reports what SimilarTo refuses of the query without
// reading the catalogue, as SimilarTo would report it: a k or option
// value out of range, a Query that gives not exactly one of tracks,
// features or vector, a vector no model could search for (not finite, or
// of no length), a track whose features or metadata an import would
// refuse, and a track
// reference (of Query.Tracks, SearchOptions.Exclude or Filter.IDs) that
// no stored id could be, a *TrackRefError naming it. SimilarTo checks this
// first, so a caller that runs several queries may check them all before
// it runs any. What needs the snapshot is left to SimilarTo: a seed that
// names no track (ErrNotFound), a vector not of the model's dimension, a
// track the model cannot embed.
func CheckSimilarTo(q Query, k int, opts *SearchOptions) error {
	if err := CheckSearch(k, opts); err != nil {
		return err
	}
	if err := q.check(); err != nil {
		return err
	}
	switch {
	case q.Vector != nil:
		return checkVectorValues(q.Vector)
	case q.Track != nil:
		return CheckQueryTrack(q.Track)
	}
	return CheckSeeds(q.Tracks)
}

// check reports a Query that does not give exactly one thing to search by.
func (q *Query) check() error {
	given := 0
	for _, b := range []bool{len(q.Tracks) > 0, q.Track != nil, q.Vector != nil} {
		if b {
			given++
		}
	}
	if given != 1 {
		return fmt.Errorf("%w: give exactly one of tracks, features or vector (got %d)", ErrInvalidQuery, given)
	}
	return nil
}

// results wraps a search's neighbours with the snapshot's context.
func (s *snapshot) results(ns []Neighbor, query *Track) Results {
	return Results{Model: s.modelInfo.Version, Generation: s.gen, Query: query, Neighbors: ns}
}

// checkVector returns a normalised copy of a query vector whose values
// passed checkVectorValues, or why the model cannot search for it: a
// dimension not its own.
func (s *snapshot) checkVector(vec []float32) ([]float32, error) {
	if dim := s.model.Dim(); len(vec) != dim {
		return nil, dimensionError{len(vec), dim}
	}
	v := slices.Clone(vec)
	normalize(v)
	return v, nil
}

// dimensionError is the ErrDimension of a query vector of n values where
// the model's dimension is dim. It names the vector as ValidateVector's
// errors do ("vector: …"), for a caller to put the field's place before.
type dimensionError struct{ n, dim int }

func (e dimensionError) Error() string {
	values := "values"
	if e.n == 1 {
		values = "value"
	}
	return fmt.Sprintf("vector: %d %s, want the model's dimension, %d", e.n, values, e.dim)
}

func (e dimensionError) Is(target error) bool { return target == ErrDimension }

// checkVectorValues reports a query vector no model could search for,
// whatever its dimension: what ValidateVector refuses, wrapping
// ErrDimension for an empty vector (no model has dimension 0) and
// ErrInvalidQuery for its values.
func checkVectorValues(vec []float32) error {
	err := ValidateVector(vec)
	switch {
	case err == nil:
		return nil
	case len(vec) == 0:
		return fmt.Errorf("%w: %v", ErrDimension, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidQuery, err)
}

// ValidateVector checks a query vector's values, whatever its dimension:
// not empty, no NaN or infinite value, not all zeros (a vector searches by
// its direction, which zeros lack), and not too short to normalise. The
// values are float32s: a caller that converts from float64 (a JSON body)
// passes values below about 1e-45 in magnitude on as zeros, and the
// refusal of an all-zero vector says so. The error
// names the vector ("vector: …", "vector[3]: …") and says what would be
// accepted, as ValidateFeature names a feature: a caller that took the
// vector from a field of its own puts the field's place before it
// ("positive[0]." + the error). Whether the dimension is the model's is
// the search's to say (ErrDimension).
func ValidateVector(vec []float32) error {
	if len(vec) == 0 {
		return errors.New("vector: empty: give one of the model's dimension")
	}
	for i, x := range vec {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("vector[%d]: %v is not a finite number", i, x)
		}
	}
	switch n := vectorLength(vec); {
	case n == 0:
		return errors.New("vector: all zeros as float32 (a value below about 1e-45 in magnitude rounds to 0): " +
			"give one with a value other than 0 (a vector searches by its direction)")
	case n < minNorm:
		return fmt.Errorf("vector: its length %.3g is too small to normalise: give one of length at least %.3g", n, minNorm)
	}
	return nil
}

// minNorm is the shortest vector normalize can scale to unit length: the
// reciprocal of a shorter one's length overflows float32, and its values
// would become infinite.
const minNorm = 1 / math.MaxFloat32

// Embed returns the current model's embedding of a track's features and
// metadata (a unit vector). It does not need the track to be stored.
func (e *Engine) Embed(t *Track) (Embedding, error) {
	if err := CheckQueryTrack(t); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	s, err := e.current()
	if err != nil {
		return nil, err
	}
	if s.model == nil {
		return nil, ErrNoModel
	}
	return s.embed(t)
}

// CheckSearch reports what Similar, SimilarTo, Recommend and
// RecommendUser refuse of a search for k results under opts without
// reading the catalogue, as they would report it: every bad value of k
// and of the options, each an *OptionError naming it (joined with
// errors.Join when there are several), else the first reference of
// SearchOptions.Exclude or Filter.IDs that no stored track id could be, a
// *TrackRefError naming it. Both wrap ErrInvalidQuery. A caller that names
// k and the options otherwise (the server, by its query parameters and
// JSON fields) checks with it before it accepts a search, and renames the
// options through the errors' Option.
//
// Every query's entry point calls it (in its own check of the query)
// before it waits for the snapshot, and nothing after it checks again: an
// attached engine's first load takes seconds at 1M tracks, and a Filter
// is compiled against the facets, which a freshly loaded snapshot is
// still building; a malformed query waits for neither, and gets its own
// error, not a failed load's. The references are checked here, on the
// options as the caller gave them, and not where the filter resolves
// them: RecommendQuery.User adds the user's history to Exclude, whose
// tracks may since have been deleted. It allocates nothing for a search
// it passes.
func CheckSearch(k int, opts *SearchOptions) error {
	bad := opts.check(k, checkK(k, nil))
	if len(bad) > 0 {
		return errors.Join(bad...)
	}
	if opts == nil {
		return nil
	}
	if err := checkRefs("SearchOptions.Exclude", opts.Exclude); err != nil {
		return err
	}
	if opts.Filter != nil {
		return checkRefs("SearchOptions.Filter.IDs", opts.Filter.IDs)
	}
	return nil
}

// checkK appends to bad the error of a k outside 1..MaxK.
func checkK(k int, bad []error) []error {
	if k < 1 || k > MaxK {
		bad = append(bad, outside("k", -1, k, 1, MaxK, ""))
	}
	return bad
}

// outside returns the OptionError of a value v of option (entry -1: the
// option itself) outside lo..hi; note, when not "", says more of what is
// accepted: "0: no cap".
func outside[T int | float64](option string, entry int, v, lo, hi T, note string) *OptionError {
	return optionError(option, entry, "", func(string, string) string {
		if note != "" {
			return fmt.Sprintf("%v is outside %v..%v (%s)", v, lo, hi, note)
		}
		return fmt.Sprintf("%v is outside %v..%v", v, lo, hi)
	})
}

// check appends to bad every bad value of o for a search of k results,
// each an *OptionError naming the option by its Go path.
func (o *SearchOptions) check(k int, bad []error) []error {
	if o == nil {
		return bad
	}
	if o.EfSearch < 0 || o.EfSearch > index.MaxEf {
		bad = append(bad, outside("SearchOptions.EfSearch", -1, o.EfSearch, 0, index.MaxEf, "0: the index's own"))
	}
	if !(o.Diversity >= 0 && o.Diversity <= 1) {
		bad = append(bad, outside("SearchOptions.Diversity", -1, o.Diversity, 0, 1, ""))
	}
	// A page starts at most at the MaxK-th result, and ends there
	// (offset + k ≤ MaxK); a k out of range is checkK's to refuse.
	switch offset := o.Offset; {
	case offset < 0 || offset > MaxK-1:
		bad = append(bad, outside("SearchOptions.Offset", -1, offset, 0, MaxK-1, ""))
	case k > MaxK-offset && k >= 1 && k <= MaxK:
		bad = append(bad, optionError("SearchOptions.Offset", -1, "k", func(name, kName string) string {
			return fmt.Sprintf("%d with %s %d asks for results %d to %d: want %s + %s ≤ %d",
				offset, kName, k, offset+1, offset+k, name, kName, MaxK)
		}))
	}
	if o.MaxPerArtist < 0 || o.MaxPerArtist > MaxK {
		bad = append(bad, outside("SearchOptions.MaxPerArtist", -1, o.MaxPerArtist, 0, MaxK, "0: no cap"))
	}
	if t := o.ScoreThreshold; t != nil && !(*t >= -1 && *t <= 1) {
		bad = append(bad, outside("SearchOptions.ScoreThreshold", -1, *t, -1, 1, ""))
	}
	if o.Filter != nil {
		bad = o.Filter.check(bad)
	}
	return bad
}

// check appends to bad the filter's bounds out of range or the wrong way
// round, and its empty names: no track has an empty genre or artist, so
// one would keep (or drop) nothing.
func (f *Filter) check(bad []error) []error {
	bounds := func(min, max string, lo, hi *int, from, to int) {
		if lo != nil && (*lo < from || *lo > to) {
			bad = append(bad, outside(min, -1, *lo, from, to, ""))
		}
		if hi != nil && (*hi < from || *hi > to) {
			bad = append(bad, outside(max, -1, *hi, from, to, ""))
		}
		if lo != nil && hi != nil && *lo > *hi {
			l, h := *lo, *hi
			bad = append(bad, optionError(min, -1, max, func(min, max string) string {
				return fmt.Sprintf("%d is above %s %d: want %s ≤ %s", l, max, h, min, max)
			}))
		}
	}
	bounds("SearchOptions.Filter.YearMin", "SearchOptions.Filter.YearMax", f.YearMin, f.YearMax, 1, maxYear)
	bounds("SearchOptions.Filter.PopularityMin", "SearchOptions.Filter.PopularityMax", f.PopularityMin, f.PopularityMax, 0, maxPopularity)
	for _, l := range [...]struct {
		option string
		names  []string
	}{
		{"SearchOptions.Filter.Genres", f.Genres},
		{"SearchOptions.Filter.Artists", f.Artists},
		{"SearchOptions.Filter.ExcludeArtists", f.ExcludeArtists},
	} {
		if i := slices.Index(l.names, ""); i >= 0 {
			bad = append(bad, optionError(l.option, i, "", func(string, string) string {
				return "empty: name one, or leave it out"
			}))
		}
	}
	return bad
}

// embed runs the model on t. A query's track has been checked
// (CheckQueryTrack) before it gets here; a stored track is embedded as it
// is, since a rule added to CheckTrack since its import must not make a
// query by it a bad request.
func (s *snapshot) embed(t *Track) ([]float32, error) {
	raw, err := RawInputs(t, s.model.Inputs(), nil)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", s.modelInfo.Version, err)
	}
	v, err := s.model.Embed(raw, nil)
	if err != nil {
		return nil, fmt.Errorf("model %s cannot embed the track: %w", s.modelInfo.Version, err)
	}
	return v, nil
}

// vectorOf returns the indexed vector of a node, or embeds the track when
// it was imported after the last reindex. Served through a source, it
// embeds the track and rounds the vector as the index that published it
// stored it (index.Stored), so that a query asks the source for the very
// vector it holds.
func (s *snapshot) vectorOf(node uint32) ([]float32, error) {
	if v, ok := s.storedVector(node); ok {
		return v, nil
	}
	v, err := s.embed(s.cat.track(node))
	if err != nil || s.graph != nil {
		return v, err
	}
	if v, err = index.Stored(v); err != nil {
		return nil, fmt.Errorf("%w: track %s: %v", ErrInvalidQuery, s.cat.id(node), err)
	}
	return v, nil
}

// normalize scales v to unit length and returns its length before; a
// vector of length 0 is left as it is. A vector shorter than minNorm
// comes out infinite: callers given a vector from outside check it first.
func normalize(v []float32) float64 {
	n := vectorLength(v)
	if n == 0 {
		return 0
	}
	inv := float32(1 / n)
	for i := range v {
		v[i] *= inv
	}
	return n
}

// vectorLength is v's Euclidean length, summed in float64 so that it neither
// overflows nor underflows for any float32 values.
func vectorLength(v []float32) float64 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	return math.Sqrt(n)
}

// keySet is a set of song and feature keys: a slice scanned for the usual
// handful, a map once it holds more than smallKeys. The zero value is
// empty.
type keySet struct {
	small []uint64
	big   map[uint64]bool
}

const smallKeys = 64

func (s *keySet) len() int { return len(s.small) + len(s.big) }

func (s *keySet) has(k uint64) bool {
	if s.big != nil {
		return s.big[k]
	}
	return slices.Contains(s.small, k)
}

func (s *keySet) add(k uint64) {
	switch {
	case s.big != nil:
		s.big[k] = true
	case len(s.small) < smallKeys:
		s.small = append(s.small, k)
	default:
		s.big = make(map[uint64]bool, 2*smallKeys)
		for _, x := range s.small {
			s.big[x] = true
		}
		s.big[k] = true
		s.small = nil
	}
}

func (s *keySet) reset() {
	clear(s.big)
	s.small = s.small[:0]
}

// filter is what one query lets through: the condition of its Filter
// (meetsCondition), and the tracks it rules out whatever the Filter
// (excludes); keep tests both. keep runs for every candidate the index
// considers (hundreds a query at 1M), so it reads one 16-byte entry of
// the node's keys, and with a Filter one of its facets, and compares with
// a few values: no maps unless artists are excluded or asked for.
type filter struct {
	s      *snapshot
	dedupe bool
	// excludedNodes are the examples' catalogue tracks' (a Similar's
	// track, a SimilarTo's seeds) and SearchOptions.Exclude's nodes,
	// sorted.
	excludedNodes []uint32
	// songs are the songs already taken (keySet.addSong): the examples'
	// catalogue tracks' and those their Features describe (a cold-start
	// query track).
	songs   keySet
	artists map[uint64]bool // artist keys to drop
	cond    *condition      // the compiled SearchOptions.Filter; nil = none
}

// newFilter is what a query of the examples pos and neg lets through
// under opts: it excludes the examples' catalogue tracks; unless
// NoDedupe, their songs and the songs of the tracks Features examples
// describe; with ExcludeArtist, the artists of both; and what opts
// excludes (Exclude, Filter.ExcludeArtists) or filters (Filter). It
// fails when the Filter names what the catalogue lacks (compileFilter).
func (s *snapshot) newFilter(opts *SearchOptions, pos, neg []example) (*filter, error) {
	f := &filter{s: s, dedupe: opts == nil || !opts.NoDedupe}
	excludeArtist := opts != nil && opts.ExcludeArtist
	for _, ex := range [2][]example{pos, neg} {
		for i := range ex {
			node, t := ex[i].at.node, ex[i].cold
			switch {
			case ex[i].inCatalogue():
				f.excludedNodes = append(f.excludedNodes, node)
				if f.dedupe {
					f.songs.addSong(s.keys[node].song, s.keys[node].feat)
				}
				if excludeArtist {
					f.addArtists(s.cat.track(node).Artists)
				}
			case t != nil:
				if f.dedupe {
					f.songs.addSong(songKeyOf(t), featKeyOf(&t.Features))
				}
				if excludeArtist {
					f.addArtists(t.Artists)
				}
			}
		}
	}
	if opts != nil {
		for _, id := range opts.Exclude {
			if n, ok := s.lookup(id); ok {
				f.excludedNodes = append(f.excludedNodes, n)
			}
		}
		if opts.Filter != nil {
			var err error
			if f.cond, err = s.compileFilter(opts.Filter); err != nil {
				return nil, err
			}
			if len(opts.Filter.ExcludeArtists) > 0 {
				f.addArtists(opts.Filter.ExcludeArtists)
			}
		}
	}
	slices.Sort(f.excludedNodes)
	f.excludedNodes = slices.Compact(f.excludedNodes)
	return f, nil
}

// addSong adds a track's song: its song key (when it has one) and its
// feature key, salted so that the two kinds never match each other.
func (s *keySet) addSong(song, feat uint64) {
	if song != 0 {
		s.add(song)
	}
	s.add(feat ^ featSalt)
}

// hasSong reports whether a track with these keys is of a song in s: its
// song key or its feature key is (see addSong).
func (s *keySet) hasSong(song, feat uint64) bool {
	return (song != 0 && s.has(song)) || s.has(feat^featSalt)
}

// featSalt keeps feature keys and song keys apart in one set.
const featSalt = 0x9e3779b97f4a7c15

func (f *filter) addArtists(as []string) {
	if f.artists == nil {
		f.artists = make(map[uint64]bool)
	}
	for _, a := range as {
		if k := artistKeyOf(a); k != 0 {
			f.artists[k] = true
		}
	}
}

// keep reports whether the search may return node n: it meets the
// Filter's condition and the query does not exclude it. It is the
// index.Filter of a search that filters inside the index (insideFilter).
func (f *filter) keep(n uint32) bool {
	// The condition first: its columns are small, and at a low
	// selectivity it drops most nodes before their keys are read.
	return f.meetsCondition(n) && !f.excludes(n)
}

// meetsCondition reports whether node n is below the catalogue's length
// and meets the condition of SearchOptions.Filter (true without one),
// reading only the facets' columns, not the node's keys: it does not test
// that n holds a track (excludes does).
func (f *filter) meetsCondition(n uint32) bool {
	return int(n) < len(f.s.keys) && (f.cond == nil || f.cond.match(f.s, n))
}

// excludes reports whether the query rules node n (below the catalogue's
// length) out, whatever its Filter: n holds no track (deleted since the
// index was built), is a seed or in SearchOptions.Exclude, has the song or
// the features of a seed (unless NoDedupe), or is by an excluded artist.
// It reads the node's keys, a cache miss a node.
func (f *filter) excludes(n uint32) bool {
	k := f.s.keys[n]
	// !s.cat.holdsTrack(n), on the entry read anyway: a node without a track
	// has feature key 0 (nodeKeys), and reading its catalogue location
	// would cost a second miss.
	if k.feat == 0 {
		return true
	}
	if f.songs.hasSong(k.song, k.feat) {
		return true
	}
	if len(f.excludedNodes) > 0 {
		if _, found := slices.BinarySearch(f.excludedNodes, n); found {
			return true
		}
	}
	if f.artists != nil {
		for _, a := range f.s.artistKey[f.s.artistOff[n]:f.s.artistOff[n+1]] {
			if f.artists[a] {
				return true
			}
		}
	}
	return false
}

// candidates is a ranked list of candidates, best first: a call returns
// the best n (fewer when there are no more) and whether there are none
// beyond them. The ranking is stable: the best n of a longer call begin
// with the best of a shorter one, as far as the source is exact.
type candidates func(n int) (rs []index.Result, exhausted bool, err error)

// run answers a search in two phases: candidates from the index (or, for
// a filter that keeps few tracks, an exact scan of them), then refine.
// k and opts have been checked (CheckSearch).
func (s *snapshot) run(ctx context.Context, at around, k int, opts *SearchOptions, f *filter) ([]Neighbor, error) {
	// Only a Filter's choice of source reads refine's first request, and
	// a Filter's candidates are always checked.
	next, checked, err := s.candidatesFor(ctx, at, firstWant(k, opts, f, true), opts, f)
	if err != nil {
		return nil, err
	}
	return s.refine(ctx, next, checked, k, opts, f)
}

// source is where the candidates of a search come from (sourceFor).
type source uint8

const (
	fromIndex source = iota // the index search, with f.keep inside it or not (insideFilter)
	fromScan                // an exact scan of the Filter's matches (scan)
	fromKept                // a graph search through kept tracks only (keptGraph)
)

// sourceFor chooses where the candidates of a search around at under opts
// come from, for a search that first asks for first candidates: its beam
// is the wider of its ef and first (the index widens it to the number
// asked for), and a graph search's cost grows with its beam (graphCost),
// so a deep page can make the exact scan the cheaper. Without a Filter, or
// through a VectorSource (which filters by itself): fromIndex. With one,
// chooseSource chooses (filter.go says how). p is the Filter's plan, which
// fromScan and fromKept read; near are the kept nodes nearest at that
// chooseSource found, where fromKept starts.
func (s *snapshot) sourceFor(at around, first int, opts *SearchOptions, f *filter) (src source, p scanPlan, near []uint32) {
	if f.cond == nil || s.graph == nil {
		return fromIndex, p, nil
	}
	p = f.cond.plan(s)
	if forceScan != nil {
		if p.complete && *forceScan {
			return fromScan, p, nil
		}
		return fromIndex, p, nil
	}
	src, near = s.chooseSource(at, max(s.beam(opts), first, 1), p, f.cond)
	return src, p, near
}

// sourceChosen, when set (by tests only), is told each choice of
// sourceFor that a search acts on.
var sourceChosen func(source)

// candidatesFor returns the candidates of a search around at from where
// sourceFor chooses (first is how many the search first asks for), and
// reports whether every candidate they yield has passed f.keep (refine's
// checked).
//
// A few excluded tracks (the examples, their songs, a short Exclude list)
// are searched for like any other and dropped by refine: a filter inside
// the index runs for every candidate, a cache miss each in a large
// catalogue. Many exclusions (more than maxDropped, or artists, which can
// drop many tracks) go inside the search instead, which then keeps
// looking until the beam holds enough tracks that pass: widening the beam
// by each of them would let a long Exclude list buy a huge search. Through
// a VectorSource the filter goes to the source as well, and keep checks
// what it returns.
func (s *snapshot) candidatesFor(ctx context.Context, at around, first int, opts *SearchOptions, f *filter) (candidates, bool, error) {
	ef := s.beam(opts)
	src, p, near := s.sourceFor(at, first, opts, f)
	if sourceChosen != nil {
		sourceChosen(src)
	}
	switch src {
	case fromScan:
		next, err := s.scan(at.q, p, f)
		return next, true, err
	case fromKept:
		return s.keptGraph(at.q, ef, p, f, near), true, nil
	}
	inside := f.insideFilter()
	return func(n int) ([]index.Result, bool, error) {
		n = min(n, s.indexLen())
		// The index widens the beam to n when that is larger.
		res, err := s.nearest(ctx, at, n, inside, ef, opts) // vectorsource.go
		if err != nil {
			return nil, false, err
		}
		return res, len(res) < n || n >= s.indexLen(), nil
	}, inside != nil, nil
}

// beam is the beam width of a search under opts: its EfSearch, or the
// index's own (as last reindexed) when it sets none.
func (s *snapshot) beam(opts *SearchOptions) int {
	if opts != nil && opts.EfSearch != 0 {
		return opts.EfSearch
	}
	return s.indexMeta.Params.EfSearch
}

// insideFilter is the filter a search of the index applies itself (see
// candidatesFor): f.keep when f has a condition, excluded artists or more
// than maxDropped exclusions (dropCount); otherwise nil, and refine drops
// the few excluded tracks from the results.
func (f *filter) insideFilter() index.Filter {
	if f.cond != nil || f.artists != nil || f.dropCount() > maxDropped {
		return f.keep
	}
	return nil
}
