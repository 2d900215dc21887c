// Package eval measures how well track vectors find tracks that belong
// together: for held-out users (playlists), each of a user's tracks is a
// query, every other catalogue track is ranked by exact cosine, and the
// top k are scored against the user's other tracks. It reports the same
// for three baselines, the eleven original features standardised
// (raw_features), the same with the query's artists' tracks first
// (same_artist) and random vectors, plus the spread of the vectors (mean
// cosine of random pairs), which exposes collapsed embeddings.
package eval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
)

// Scores are means over the queries.
type Scores struct {
	// Precision is the mean fraction of a query's top k that are the
	// user's other tracks.
	Precision float64 `json:"precision"`
	// Recall is |top k ∩ the user's other tracks| / min(k, n−1), where n
	// is the user's track count.
	Recall float64 `json:"recall"`
	// GenrePrecision is the mean fraction of the top k sharing a genre with
	// the query, over queries whose genres are known (neighbours with no
	// known genre count as misses); 0 when no query has genres.
	GenrePrecision float64 `json:"genre_precision"`
	// PrecisionCrossArtist and RecallCrossArtist are Precision and Recall
	// when every track sharing an artist with the query is removed before
	// taking the top k (what a user sees with exclude_artist=true); the
	// recall's denominator counts only the user's other tracks by other
	// artists, and queries with none are left out of its mean. Both are 0
	// when the artists are not given.
	PrecisionCrossArtist float64 `json:"precision_cross_artist"`
	RecallCrossArtist    float64 `json:"recall_cross_artist"`
}

// Labels are what the neighbours of a query are judged by beside the
// held-out user's tracks. A nil field turns its metrics off.
type Labels struct {
	Genres  []uint64   // per track, see GenreSets: genre precision
	Artists [][]uint32 // per track, see ArtistSets: cross-artist metrics
	// SameArtistFirst ranks the tracks sharing an artist with the query
	// before all others (exact cosine inside each group): the same_artist
	// baseline. It needs Artists.
	SameArtistFirst bool
}

// Query is one held-out track: User indexes the users slice, Track the
// catalogue.
type Query struct {
	User  int
	Track uint32
}

// Sample returns up to max queries (every held-out track of a user with at
// least two tracks when max ≤ 0 or there are fewer), chosen with seed.
func Sample(users [][]uint32, max int, seed uint64) []Query {
	var all []Query
	for u, ts := range users {
		if len(ts) < 2 {
			continue
		}
		for _, t := range ts {
			all = append(all, Query{User: u, Track: t})
		}
	}
	if max <= 0 || len(all) <= max {
		return all
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	all = all[:max]
	slices.SortFunc(all, func(a, b Query) int {
		if a.User != b.User {
			return a.User - b.User
		}
		return int(a.Track) - int(b.Track)
	})
	return all
}

// Score ranks, for each query, every other catalogue vector by dot product
// (cosine, since vectors are unit length; vecs holds n vectors of dim one
// after another) and averages the scores of the top k. genres, when not
// nil, holds each catalogue track's genre bit set (0 = unknown; see
// GenreSets). The queries are spread over GOMAXPROCS goroutines; the result
// does not depend on how. It returns an error, before any work, when dim
// or k is below 1, vecs is not whole vectors, a query or user names a
// track or user that is not there, or genres is not one per vector.
func Score(vecs []float32, dim int, users [][]uint32, queries []Query, genres []uint64, k int) (Scores, error) {
	return ScoreLabels(vecs, dim, users, queries, &Labels{Genres: genres}, k)
}

// queryScore is one query's figures; the has fields say which count.
type queryScore struct {
	p, r, g, pc, rc float64
	hasG, hasRC     bool
}

// ScoreLabels is Score with the labels lab (nil: none); a non-nil
// Genres or Artists must hold one entry per vector.
func ScoreLabels(vecs []float32, dim int, users [][]uint32, queries []Query, lab *Labels, k int) (Scores, error) {
	if lab == nil {
		lab = &Labels{}
	}
	if err := checkScoreArgs(len(vecs), dim, users, queries, lab, k); err != nil {
		return Scores{}, err
	}
	sets := make([]map[uint32]bool, len(users))
	for u, ts := range users {
		sets[u] = make(map[uint32]bool, len(ts))
		for _, t := range ts {
			sets[u][t] = true
		}
	}
	out := make([]queryScore, len(queries))
	// Each worker takes batches of queries, the catalogue read once per
	// batch; a batch is at most 256 queries (their rankings), a multiple
	// of four, and small enough that every worker gets one.
	workers := max(1, min(runtime.GOMAXPROCS(0), len(queries)))
	batch := min(256, ((len(queries)+workers-1)/workers+3)&^3)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := newTopK4(vecs, dim, k, lab, tileRows, hasAVX)
			rs := make([]ranking, batch)
			for b := w * batch; b < len(queries); b += workers * batch {
				qs := queries[b:min(b+batch, len(queries))]
				tk.rank(qs, rs[:len(qs)])
				for i, q := range qs {
					out[b+i] = scoreQuery(q, sets[q.User], rs[i].top, rs[i].cross, lab, k)
				}
			}
		}()
	}
	wg.Wait()
	return meanScores(out), nil
}

// checkScoreArgs reports the first argument of ScoreLabels that would
// index outside the vectors, users or labels, or make no ranking. It runs
// before the workers start, so that bad input is an error and not a panic
// in a goroutine the caller cannot recover.
func checkScoreArgs(nvals, dim int, users [][]uint32, queries []Query, lab *Labels, k int) error {
	if dim < 1 {
		return fmt.Errorf("eval: dim = %d: want ≥ 1", dim)
	}
	if nvals%dim != 0 {
		return fmt.Errorf("eval: %d values are not whole vectors of dim %d", nvals, dim)
	}
	if k < 1 {
		return fmt.Errorf("eval: k = %d: want ≥ 1 neighbours a query", k)
	}
	n := nvals / dim
	if err := checkUsers(users, n); err != nil {
		return err
	}
	for i, q := range queries {
		if q.User < 0 || q.User >= len(users) {
			return fmt.Errorf("eval: query %d: user %d: want an index below the %d users", i, q.User, len(users))
		}
		if int64(q.Track) >= int64(n) {
			return fmt.Errorf("eval: query %d: track %d: want an index below the %d vectors", i, q.Track, n)
		}
	}
	if lab.Genres != nil && len(lab.Genres) != n {
		return fmt.Errorf("eval: Labels.Genres has %d entries: want one per vector, %d", len(lab.Genres), n)
	}
	if lab.Artists != nil && len(lab.Artists) != n {
		return fmt.Errorf("eval: Labels.Artists has %d entries: want one per vector, %d", len(lab.Artists), n)
	}
	if lab.SameArtistFirst && lab.Artists == nil {
		return fmt.Errorf("eval: Labels.SameArtistFirst needs Labels.Artists")
	}
	return nil
}

// checkUsers reports the first user track that is not an index into a
// catalogue of n tracks.
func checkUsers(users [][]uint32, n int) error {
	for u, ts := range users {
		for _, t := range ts {
			if int64(t) >= int64(n) {
				return fmt.Errorf("eval: user %d: track index %d is outside the catalogue: want an index below its %d tracks", u, t, n)
			}
		}
	}
	return nil
}

// scoreQuery scores one query's top k (and its cross-artist top k).
func scoreQuery(q Query, set map[uint32]bool, top, cross []hit, lab *Labels, k int) queryScore {
	others := len(set)
	if set[q.Track] {
		others--
	}
	hits, ghits := 0, 0
	for _, h := range top {
		if set[h.id] && h.id != q.Track {
			hits++
		}
		if lab.Genres != nil && lab.Genres[q.Track]&lab.Genres[h.id] != 0 {
			ghits++
		}
	}
	r := queryScore{p: float64(hits) / float64(k)}
	if d := min(k, others); d > 0 {
		r.r = float64(hits) / float64(d)
	}
	if lab.Genres != nil && lab.Genres[q.Track] != 0 {
		r.g, r.hasG = float64(ghits)/float64(k), true
	}
	if lab.Artists == nil {
		return r
	}
	chits, cothers := 0, 0
	for _, h := range cross {
		if set[h.id] {
			chits++
		}
	}
	for t := range set {
		if t != q.Track && !shareArtist(lab.Artists[q.Track], lab.Artists[t]) {
			cothers++
		}
	}
	r.pc = float64(chits) / float64(k)
	if d := min(k, cothers); d > 0 {
		r.rc, r.hasRC = float64(chits)/float64(d), true
	}
	return r
}

func meanScores(out []queryScore) Scores {
	var s Scores
	ng, nrc := 0, 0
	for _, r := range out {
		s.Precision += r.p
		s.Recall += r.r
		s.PrecisionCrossArtist += r.pc
		if r.hasG {
			s.GenrePrecision += r.g
			ng++
		}
		if r.hasRC {
			s.RecallCrossArtist += r.rc
			nrc++
		}
	}
	if n := float64(len(out)); n > 0 {
		s.Precision /= n
		s.Recall /= n
		s.PrecisionCrossArtist /= n
	}
	if ng > 0 {
		s.GenrePrecision /= float64(ng)
	}
	if nrc > 0 {
		s.RecallCrossArtist /= float64(nrc)
	}
	return s
}

// shareArtist reports whether two tracks' artist id lists meet.
func shareArtist(a, b []uint32) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// ArtistSets maps each track's artists (by embedder.Key of the name) to
// small ids; a track with no artist gets an empty list.
func ArtistSets(tracks []soundalike.Track) [][]uint32 {
	ids := map[string]uint32{}
	out := make([][]uint32, len(tracks))
	for i := range tracks {
		for _, a := range tracks[i].Artists {
			k := embedder.Key(a)
			if k == "" {
				continue
			}
			id, ok := ids[k]
			if !ok {
				id = uint32(len(ids))
				ids[k] = id
			}
			out[i] = append(out[i], id)
		}
	}
	return out
}

type hit struct {
	id    uint32
	score float32
}

// topK returns the k vectors closest to vector q (q excluded), best first;
// ties go to the lower index.
func topK(vecs []float32, dim int, q uint32, k int, top []hit) []hit {
	n := len(vecs) / dim
	qv := vecs[int(q)*dim : int(q+1)*dim]
	worst := float32(math.Inf(-1))
	for i := 0; i < n; i++ {
		if uint32(i) == q {
			continue
		}
		s := dot(qv, vecs[i*dim:(i+1)*dim])
		if len(top) == k && s <= worst {
			continue
		}
		top = insertHit(top, k, hit{uint32(i), s})
		worst = top[len(top)-1].score
	}
	return top
}

// ranking is one query's running top k, and its cross-artist top k
// (empty without artists), each with the score a vector must beat to
// enter it once full.
type ranking struct {
	top, cross    []hit
	worst, cworst float32
}

// reset empties the ranking for a top k of a catalogue of n vectors; it
// never holds more than n, however large k is.
func (r *ranking) reset(k, n int) {
	if c := min(k, n); cap(r.top) < c {
		r.top, r.cross = make([]hit, 0, c), make([]hit, 0, c)
	}
	r.top, r.cross = r.top[:0], r.cross[:0]
	r.worst, r.cworst = float32(math.Inf(-1)), float32(math.Inf(-1))
}

// tileRows is how many catalogue vectors topK4 ranks for a batch of
// queries before it moves on: their blocked copy (256 KiB at 64
// dimensions) is read once per group of four queries while it is in
// cache, and a worker's copy stays this size whatever the catalogue's.
const tileRows = 1024

// topK4 finds the top k of four queries at once: by score (plus
// sameArtistBonus for tracks sharing an artist when SameArtistFirst), and,
// when the artists are known, the cross-artist top k without them. It
// ranks the catalogue a tile at a time: block copies a tile for the AVX
// kernel, then run ranks it for each group of four queries, whose
// rankings carry over from tile to tile.
type topK4 struct {
	vecs []float32
	dim  int
	k    int
	lab  *Labels
	tile int  // vectors a tile
	avx  bool // whether block copies tiles for the AVX kernel

	// The tile: vectors [from, to), the first of them in blocks of eight
	// for the AVX kernel (element j of a block's eight at 8·j).
	from, to int
	blocks   []float32

	// The run's queries, their artists and rankings.
	q  [4]uint32
	qa [4][]uint32
	r  [4]*ranking
}

// sameArtistBonus lifts a same-artist track above every other: cosines
// lie in [−1, 1].
const sameArtistBonus = 4

// newTopK4 ranks vecs (n vectors of dim) tiles of tile vectors at a time,
// with the AVX kernel when avx.
func newTopK4(vecs []float32, dim, k int, lab *Labels, tile int, avx bool) *topK4 {
	return &topK4{vecs: vecs, dim: dim, k: k, lab: lab, tile: tile, avx: avx}
}

// rank sets rs[i] to the rankings of queries qs[i]: every tile of the
// catalogue in order, each for every group of four queries. A group short
// of four repeats its last query into a spare ranking.
func (t *topK4) rank(qs []Query, rs []ranking) {
	n := len(t.vecs) / t.dim
	for i := range rs {
		rs[i].reset(t.k, n)
	}
	var spare ranking
	spare.reset(t.k, n)
	for from := 0; from < n; from += t.tile {
		t.block(from, min(n, from+t.tile))
		for g := 0; g < len(qs); g += 4 {
			var ids [4]uint32
			var r [4]*ranking
			for i := range 4 {
				if g+i < len(qs) {
					ids[i], r[i] = qs[g+i].Track, &rs[g+i]
				} else {
					ids[i], r[i] = ids[i-1], &spare
				}
			}
			t.run(ids, r)
		}
	}
}

// block makes [from, to) the tile and, with AVX, copies its first
// vectors, rounded down to eight, into blocks.
func (t *topK4) block(from, to int) {
	t.from, t.to, t.blocks = from, to, t.blocks[:0]
	m := (to - from) &^ 7
	if !t.avx || m == 0 {
		return
	}
	dim := t.dim
	t.blocks = slices.Grow(t.blocks, m*dim)[:m*dim]
	for v := 0; v < m; v++ {
		blk, lane := v/8, v%8
		for j, x := range t.vecs[(from+v)*dim : (from+v+1)*dim] {
			t.blocks[(blk*dim+j)*8+lane] = x
		}
	}
}

// run ranks the tile for the four queries q (which may repeat) into the
// rankings r.
func (t *topK4) run(q [4]uint32, r [4]*ranking) {
	vecs, dim := t.vecs, t.dim
	q0 := vecs[int(q[0])*dim : int(q[0]+1)*dim]
	q1 := vecs[int(q[1])*dim : int(q[1]+1)*dim][:len(q0)]
	q2 := vecs[int(q[2])*dim : int(q[2]+1)*dim][:len(q0)]
	q3 := vecs[int(q[3])*dim : int(q[3]+1)*dim][:len(q0)]
	t.q, t.r = q, r
	for i := range q {
		t.qa[i] = nil
		if t.lab.Artists != nil {
			t.qa[i] = t.lab.Artists[q[i]]
		}
	}
	// The blocked vectors eight at a time, then the rest one at a time:
	// both sum each product from zero in the order of the elements.
	done := t.from + len(t.blocks)/dim
	var sc [32]float32
	for b := t.from; b < done; b += 8 {
		off := (b - t.from) * dim
		dot4x8(t.blocks[off:off+8*dim], q0, q1, q2, q3, &sc)
		for l := range 8 {
			t.consider(b+l, [4]float32{sc[l], sc[8+l], sc[16+l], sc[24+l]})
		}
	}
	for i := done; i < t.to; i++ {
		v := vecs[i*dim : (i+1)*dim][:len(q0)]
		// Four scalars, not an array: the compiler keeps them in
		// registers, where an array's sums would go through memory at
		// every element. The sums are the same float32s either way.
		var s0, s1, s2, s3 float32
		for j, x := range v {
			s0 += q0[j] * x
			s1 += q1[j] * x
			s2 += q2[j] * x
			s3 += q3[j] * x
		}
		t.consider(i, [4]float32{s0, s1, s2, s3})
	}
}

// consider ranks catalogue vector i, of scores s for the four queries.
func (t *topK4) consider(i int, s [4]float32) {
	arts, k := t.lab.Artists, t.k
	for j := 0; j < 4; j++ {
		if uint32(i) == t.q[j] {
			continue
		}
		r := t.r[j]
		sc, shared := s[j], false
		if arts != nil && len(t.qa[j]) > 0 {
			shared = shareArtist(t.qa[j], arts[i])
		}
		if arts != nil && !shared && (len(r.cross) < k || sc > r.cworst) {
			r.cross = insertHit(r.cross, k, hit{uint32(i), sc})
			r.cworst = r.cross[len(r.cross)-1].score
		}
		if shared && t.lab.SameArtistFirst {
			sc += sameArtistBonus
		}
		if len(r.top) == k && sc <= r.worst {
			continue
		}
		r.top = insertHit(r.top, k, hit{uint32(i), sc})
		r.worst = r.top[len(r.top)-1].score
	}
}

// insertHit inserts h into top (sorted by score, best first, at most k
// long); an equal score goes after the ones already there.
func insertHit(top []hit, k int, h hit) []hit {
	j := len(top)
	if len(top) < k {
		top = append(top, hit{})
	} else {
		j = k - 1
	}
	for j > 0 && top[j-1].score < h.score {
		top[j] = top[j-1]
		j--
	}
	top[j] = h
	return top
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 4 {
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
		a, b = a[4:], b[4:]
	}
	for i := range a {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// MeanPairwiseCosine is the mean dot product of pairs random distinct
// vectors (chosen with seed): near 0 for well spread unit vectors, near 1
// when the embeddings have collapsed to one point; 0 when there are fewer
// than two vectors or pairs is 0. It returns an error when dim is below 1,
// vecs is not whole vectors or pairs is negative.
func MeanPairwiseCosine(vecs []float32, dim, pairs int, seed uint64) (float64, error) {
	if dim < 1 || len(vecs)%dim != 0 {
		return 0, fmt.Errorf("eval: %d values are not whole vectors of dim %d (want dim ≥ 1)", len(vecs), dim)
	}
	if pairs < 0 {
		return 0, fmt.Errorf("eval: pairs = %d: want ≥ 0", pairs)
	}
	n := len(vecs) / dim
	if n < 2 || pairs == 0 {
		return 0, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0xc05))
	var sum float64
	for p := 0; p < pairs; p++ {
		i := rng.IntN(n)
		j := rng.IntN(n - 1)
		if j >= i {
			j++
		}
		sum += float64(dot(vecs[i*dim:(i+1)*dim], vecs[j*dim:(j+1)*dim]))
	}
	return sum / float64(pairs), nil
}

// GenreSets maps each track's genres to a bit set (at most 64 distinct
// genres are told apart; further ones share bits).
func GenreSets(tracks []soundalike.Track) []uint64 {
	ids := map[string]uint{}
	out := make([]uint64, len(tracks))
	for i := range tracks {
		for _, g := range tracks[i].Genres {
			id, ok := ids[g]
			if !ok {
				id = uint(len(ids))
				ids[g] = id
			}
			out[i] |= 1 << (id % 64)
		}
	}
	return out
}

// RawFeatures returns the raw_features baseline vectors: each track's
// eleven Spotify features standardised over the catalogue (zero mean, unit
// variance, a zero std treated as 1), as the original did, then scaled to
// unit length so that a dot product is their cosine.
func RawFeatures(tracks []soundalike.Track) []float32 {
	const d = soundalike.NumFeatures
	rows := make([]float32, 0, len(tracks)*d)
	for i := range tracks {
		for _, v := range tracks[i].Features.Values() {
			rows = append(rows, float32(v))
		}
	}
	if len(tracks) == 0 {
		return rows
	}
	mean, std := embedder.FitStandardization(rows, d)
	for r := 0; r < len(tracks); r++ {
		v := rows[r*d : (r+1)*d]
		for j := range v {
			v[j] = (v[j] - mean[j]) / std[j]
		}
		normalize(v)
	}
	return rows
}

// Random returns n random unit vectors of dim, from seed. It returns an
// error when n is negative, dim is below 1 or n·dim values would not fit
// in a slice.
func Random(n, dim int, seed uint64) ([]float32, error) {
	if n < 0 || dim < 1 || n > math.MaxInt32/dim {
		return nil, fmt.Errorf("eval: %d random vectors of dim %d: want n ≥ 0, dim ≥ 1 and n·dim ≤ %d", n, dim, math.MaxInt32)
	}
	rng := rand.New(rand.NewPCG(seed, 0x4a4d))
	out := make([]float32, n*dim)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	for r := 0; r < n; r++ {
		normalize(out[r*dim : (r+1)*dim])
	}
	return out, nil
}

func normalize(v []float32) {
	var ss float64
	for _, e := range v {
		ss += float64(e) * float64(e)
	}
	if ss == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(ss))
	for j := range v {
		v[j] *= inv
	}
}

// Embed returns the model's embeddings of every track, one after another.
// It returns an error naming the track when the model reads an input
// soundalike.RawInputs does not know or cannot normalise a track's
// embedding (embedder.ErrDegenerate).
func Embed(m *embedder.Model, tracks []soundalike.Track) ([]float32, error) {
	if m == nil || m.Dim() == 0 {
		return nil, errors.New("eval: the model is nil or empty: want one from trainer.Train or Engine.LoadModel")
	}
	names := m.Inputs()
	raw := make([]float32, 0, len(tracks)*len(names))
	var err error
	for i := range tracks {
		if raw, err = appendRaw(&tracks[i], names, raw); err != nil {
			return nil, fmt.Errorf("eval: track %s: %w", tracks[i].ID, err)
		}
	}
	vecs, err := m.EmbedBatch(raw, nil)
	var bad *embedder.DegenerateError
	if errors.As(err, &bad) {
		return nil, fmt.Errorf("eval: track %s: %w", tracks[bad.Track].ID, embedder.ErrDegenerate)
	}
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return vecs, nil
}

func appendRaw(t *soundalike.Track, names []string, raw []float32) ([]float32, error) {
	var buf [32]float32
	v, err := soundalike.RawInputs(t, names, buf[:0])
	return append(raw, v...), err
}
