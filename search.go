package soundalike

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/audotics/soundalike/index"
)

// MaxK is the largest number of results a query may ask for.
const MaxK = 1000

// Similar returns the k tracks that sound most like the track id, closest
// first. The track itself never appears, nor (unless opts.NoDedupe) another
// copy of its song or the same song twice. Scores are cosine similarities.
// The Results' Query is the catalogue's record of the track. A malformed
// query (checkSimilar) is refused before Similar waits for the snapshot.
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
	if err := ctx.Err(); err != nil {
		return Results{}, err // the caller's deadline passed while it waited
	}
	ns, err := s.search(ctx, at, k, opts, []uint32{node})
	if err != nil {
		return Results{}, err
	}
	return s.results(ns, s.cat.track(node)), nil
}

// checkSimilar reports what Similar refuses of a query without reading
// the catalogue: checkSearch's, and an id that no stored track id could
// be (a *TrackRefError). Whether the id names a track is the snapshot's
// to say.
func checkSimilar(id TrackID, k int, opts *SearchOptions) error {
	if err := checkSearch(k, opts); err != nil {
		return err
	}
	return checkRef("", 0, id)
}

// SimilarTo searches by a Query: seed tracks (the mean of their
// embeddings; the seeds are excluded), a track's features (cold start:
// embedded on the spot), or a raw vector of the model's dimension. A
// malformed query (CheckSimilarTo) is refused before SimilarTo waits for
// the snapshot.
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
	at, seeds, err := s.queryAround(&q)
	if err != nil {
		return Results{}, err
	}
	if err := ctx.Err(); err != nil {
		return Results{}, err // the caller's deadline passed while it waited
	}
	var ns []Neighbor
	if q.Track != nil {
		ns, err = s.searchFor(ctx, at, k, opts, q.Track)
	} else {
		ns, err = s.search(ctx, at, k, opts, seeds)
	}
	if err != nil {
		return Results{}, err
	}
	return s.results(ns, q.Track), nil
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

// queryAround returns where a Query searches and, for seed tracks, their
// nodes: one seed's own vector (and node), or the seeds' mean.
func (s *snapshot) queryAround(q *Query) (around, []uint32, error) {
	switch {
	case len(q.Tracks) == 1:
		node, err := s.resolveSeed(0, q.Tracks[0])
		if err != nil {
			return around{}, nil, err
		}
		at, err := s.aroundNode(node)
		return at, []uint32{node}, err
	case len(q.Tracks) > 0:
		v, seeds, err := s.meanOf(q.Tracks)
		return aroundVector(v), seeds, err
	case q.Track != nil:
		v, err := s.embed(q.Track)
		return aroundVector(v), nil, err
	}
	v, err := s.checkVector(q.Vector)
	return aroundVector(v), nil, err
}

// CheckSimilarTo reports what SimilarTo refuses of the query without
// reading the catalogue, as SimilarTo would report it: a k or option
// value out of range, a Query that gives not exactly one of tracks,
// features or vector, a vector no model could search for
// (checkVectorValues), a track whose features or metadata an import
// would refuse (checkQueryTrack), and a track
// reference (of Query.Tracks, SearchOptions.Exclude or Filter.IDs) that
// no stored id could be, a *TrackRefError naming it. SimilarTo checks this
// first, so a caller that runs several queries may check them all before
// it runs any. What needs the snapshot is left to SimilarTo: a seed that
// names no track (ErrNotFound), a vector not of the model's dimension, a
// track the model cannot embed.
func CheckSimilarTo(q Query, k int, opts *SearchOptions) error {
	if err := checkSearch(k, opts); err != nil {
		return err
	}
	if err := q.check(); err != nil {
		return err
	}
	switch {
	case q.Vector != nil:
		return checkVectorValues(q.Vector)
	case q.Track != nil:
		return checkQueryTrack(q.Track)
	}
	return checkRefs("Query.Tracks", q.Tracks)
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

// resolveSeed resolves Query.Tracks[i], naming it by its place as a
// request's JSON does (tracks[1]: track "x": track not found), as a
// RecommendQuery's examples are (positive[1]).
func (s *snapshot) resolveSeed(i int, id TrackID) (uint32, error) {
	node, err := s.resolve(id)
	if err != nil {
		return 0, fmt.Errorf("tracks[%d]: %w", i, err)
	}
	return node, nil
}

// meanOf returns the normalised mean of the seed tracks' vectors and their
// nodes. The references have been checked (CheckSimilarTo): one that
// names no track is ErrNotFound, named by its place (resolveSeed).
func (s *snapshot) meanOf(ids []TrackID) ([]float32, []uint32, error) {
	mean := make([]float32, s.model.Dim())
	seeds := make([]uint32, 0, len(ids))
	for i, id := range ids {
		node, err := s.resolveSeed(i, id)
		if err != nil {
			return nil, nil, err
		}
		v, err := s.vectorOf(node)
		if err != nil {
			return nil, nil, err
		}
		for i, x := range v {
			mean[i] += x
		}
		seeds = append(seeds, node)
	}
	if normalize(mean) == 0 {
		return nil, nil, fmt.Errorf("%w: the seed tracks' embeddings cancel out", ErrInvalidQuery)
	}
	return mean, seeds, nil
}

// checkVector returns a normalised copy of a query vector whose values
// passed checkVectorValues, or why the model cannot search for it: a
// dimension not its own.
func (s *snapshot) checkVector(vec []float32) ([]float32, error) {
	if dim := s.model.Dim(); len(vec) != dim {
		return nil, fmt.Errorf("%w: vector has %d values, the model's dimension is %d", ErrDimension, len(vec), dim)
	}
	v := slices.Clone(vec)
	normalize(v)
	return v, nil
}

// checkVectorValues reports a query vector no model could search for,
// whatever its dimension: an empty one (ErrDimension), or one
// ValidateVector refuses (ErrInvalidQuery).
func checkVectorValues(vec []float32) error {
	if len(vec) == 0 {
		return fmt.Errorf("%w: the vector is empty: give one of the model's dimension", ErrDimension)
	}
	if err := ValidateVector(vec); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidQuery, err)
	}
	return nil
}

// ValidateVector checks a query vector's values, whatever its dimension:
// not empty, no NaN or infinite value, not all zeros (a vector searches by
// its direction, which zeros lack), and not too short to normalise. The error
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
		return errors.New("vector: all zeros: give one with a value other than 0 (a vector searches by its direction)")
	case n < minNorm:
		return fmt.Errorf("vector: its length %.3g is too small to normalise: give one of length at least %.3g", n, minNorm)
	}
	return nil
}

// checkQueryTrack reports a track to search by (cold start) that an import
// would refuse (CheckTrack): features or metadata out of their ranges, a
// release date that is no date. Its id may be empty: it is searched by,
// not stored.
func checkQueryTrack(t *Track) error {
	q := *t
	if q.ID == "" {
		q.ID = "query"
	}
	if err := CheckTrack(&q); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidQuery, err)
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
	if t == nil {
		return nil, fmt.Errorf("embed: %w: track is nil", ErrInvalidQuery)
	}
	if err := checkQueryTrack(t); err != nil {
		return nil, err
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

// checkSearch reports what makes a search for k results under opts
// unanswerable: a bad k or option value, or a reference of Exclude or
// Filter.IDs that no stored track id could be (a *TrackRefError naming
// it). Every query's entry point calls it (in its own check of the
// query) before it waits for the snapshot, and nothing after it checks
// again: an attached engine's first load takes seconds at 1M tracks, and
// a Filter is compiled against the facets, which a freshly loaded
// snapshot is still building; a malformed query waits for neither, and
// gets its own error, not a failed load's. The references are checked
// here, on the options as the caller gave them, and not where the filter
// resolves them: RecommendQuery.User adds the user's history to Exclude,
// whose tracks may since have been deleted.
func checkSearch(k int, opts *SearchOptions) error {
	if err := checkK(k); err != nil {
		return err
	}
	if err := opts.check(k); err != nil {
		return err
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

func checkK(k int) error {
	if k < 1 || k > MaxK {
		return fmt.Errorf("%w: k = %d: want 1..%d", ErrInvalidQuery, k, MaxK)
	}
	return nil
}

// check reports every bad value of o for a search of k results in one
// ErrInvalidQuery, naming the fields as the HTTP API does.
func (o *SearchOptions) check(k int) error {
	if o == nil {
		return nil
	}
	var bad []string
	add := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	if o.EfSearch < 0 || o.EfSearch > index.MaxEf {
		add("ef_search = %d: want 0 (the index's) or 1..%d", o.EfSearch, index.MaxEf)
	}
	if !(o.Diversity >= 0 && o.Diversity <= 1) {
		add("diversity = %v: want 0..1", o.Diversity)
	}
	switch {
	case o.Offset < 0:
		add("offset = %d: want 0 or more", o.Offset)
	case o.Offset > MaxK:
		add("offset = %d: want 0..%d", o.Offset, MaxK)
	case k > MaxK-o.Offset && k <= MaxK: // a larger k is checkK's to refuse
		add("offset + k = %d: want at most %d", o.Offset+k, MaxK)
	}
	if o.MaxPerArtist < 0 {
		add("max_per_artist = %d: want 0 (no cap) or more", o.MaxPerArtist)
	}
	if t := o.ScoreThreshold; t != nil && !(*t >= -1 && *t <= 1) {
		add("score_threshold = %v: want -1..1", *t)
	}
	if o.Filter != nil {
		bad = append(bad, o.Filter.check()...)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidQuery, strings.Join(bad, "; "))
	}
	return nil
}

// check returns the filter's bad bounds, and its empty names: no track
// has an empty genre or artist, so one would keep (or drop) nothing.
func (f *Filter) check() []string {
	var bad []string
	bounds := func(name string, lo, hi *int, min, max int) {
		for _, b := range []struct {
			name string
			v    *int
		}{{name + "_min", lo}, {name + "_max", hi}} {
			if b.v != nil && (*b.v < min || *b.v > max) {
				bad = append(bad, fmt.Sprintf("%s = %d: want %d..%d", b.name, *b.v, min, max))
			}
		}
		if lo != nil && hi != nil && *lo > *hi {
			bad = append(bad, fmt.Sprintf("%s_min = %d is above %s_max = %d: want min ≤ max", name, *lo, name, *hi))
		}
	}
	bounds("year", f.YearMin, f.YearMax, 1, maxYear)
	bounds("popularity", f.PopularityMin, f.PopularityMax, 0, maxPopularity)
	for _, l := range [...]struct {
		name  string
		names []string
	}{{"genres", f.Genres}, {"artists", f.Artists}, {"exclude_artists", f.ExcludeArtists}} {
		if i := slices.Index(l.names, ""); i >= 0 {
			bad = append(bad, fmt.Sprintf("%s[%d] is empty: name one, or leave it out", l.name, i))
		}
	}
	return bad
}

// embed runs the model on t. A query's track has been checked
// (checkQueryTrack) before it gets here; a stored track is embedded as it
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

// searchFor searches for a track that is not (necessarily) in the
// catalogue, deduplicating against its song.
func (s *snapshot) searchFor(ctx context.Context, at around, k int, opts *SearchOptions, t *Track) ([]Neighbor, error) {
	f := s.newFilter(opts, nil)
	if t != nil && (opts == nil || !opts.NoDedupe) {
		f.addSong(songKeyOf(t), featKeyOf(&t.Features))
	}
	if t != nil && opts != nil && opts.ExcludeArtist {
		f.addArtists(t.Artists)
	}
	return s.run(ctx, at, k, opts, f)
}

// search searches around the seed nodes (at), excluding them, their songs
// (unless NoDedupe) and, with ExcludeArtist, their artists.
func (s *snapshot) search(ctx context.Context, at around, k int, opts *SearchOptions, seeds []uint32) ([]Neighbor, error) {
	return s.run(ctx, at, k, opts, s.newFilter(opts, seeds))
}

// maxDropped is how many excluded tracks and songs a search drops from its
// results (refine) rather than filtering them inside the index search
// (insideFilter).
const maxDropped = 64

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
	// excludedNodes are the seeds' and SearchOptions.Exclude's nodes,
	// sorted.
	excludedNodes []uint32
	// songs are the songs already taken (keySet.addSong): the seeds' and
	// the examples', and a cold-start query track's.
	songs   keySet
	artists map[uint64]bool // artist keys to drop
	cond    *condition      // the compiled SearchOptions.Filter; nil = none
}

func (s *snapshot) newFilter(opts *SearchOptions, seeds []uint32) *filter {
	f := &filter{s: s, dedupe: opts == nil || !opts.NoDedupe, excludedNodes: slices.Clone(seeds)}
	for _, n := range seeds {
		if f.dedupe {
			f.addSong(s.keys[n].song, s.keys[n].feat)
		}
		if opts != nil && opts.ExcludeArtist {
			f.addArtists(s.cat.track(n).Artists)
		}
	}
	if opts != nil {
		for _, id := range opts.Exclude {
			if n, err := s.resolve(id); err == nil {
				f.excludedNodes = append(f.excludedNodes, n)
			}
		}
		if opts.Filter != nil {
			f.cond = s.compileFilter(opts.Filter)
			if len(opts.Filter.ExcludeArtists) > 0 {
				f.addArtists(opts.Filter.ExcludeArtists)
			}
		}
	}
	slices.Sort(f.excludedNodes)
	f.excludedNodes = slices.Compact(f.excludedNodes)
	return f
}

func (f *filter) addSong(song, feat uint64) { f.songs.addSong(song, feat) }

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
// k and opts have been checked (checkSearch).
func (s *snapshot) run(ctx context.Context, at around, k int, opts *SearchOptions, f *filter) ([]Neighbor, error) {
	next, checked, err := s.candidatesFor(ctx, at, opts, f)
	if err != nil {
		return nil, err
	}
	return s.refine(ctx, next, checked, k, opts, f)
}

// candidatesFor chooses where the candidates of a search around at come
// from, and reports whether every candidate they yield has passed f.keep
// (refine's checked).
//
// A few excluded tracks (the seeds, their songs, a short Exclude list) are
// searched for like any other and dropped by refine: a filter inside the
// index runs for every candidate, a cache miss each in a large catalogue.
// Many exclusions (more than maxDropped, or artists, which can
// drop many tracks) go inside the search instead, which then keeps
// looking until the beam holds enough tracks that pass: widening the beam
// by each of them would let a long Exclude list buy a huge search. A
// Filter takes one of three paths (filter.go says which). Through a
// VectorSource the filter goes to the source as well, and keep checks what
// it returns.
func (s *snapshot) candidatesFor(ctx context.Context, at around, opts *SearchOptions, f *filter) (candidates, bool, error) {
	q := at.q
	ef := s.beam(opts)
	if f.cond != nil && s.graph != nil { // a vector source filters by itself
		p := f.cond.plan(s)
		scan := s.chooseScan(q, max(ef, 1), p, f.cond)
		if forceScan != nil {
			scan = p.complete && *forceScan
		}
		if scan {
			next, err := s.scan(q, p, f)
			return next, true, err
		}
		if forceScan == nil && f.cond.share(p) >= keptOnlyAbove {
			return s.filteredGraph(q, ef, p, f), true, nil
		}
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
// than maxDropped excluded tracks and songs; otherwise nil, and refine
// drops the few excluded tracks from the results.
func (f *filter) insideFilter() index.Filter {
	if f.cond != nil || f.artists != nil || len(f.excludedNodes)+f.songs.len() > maxDropped {
		return f.keep
	}
	return nil
}
