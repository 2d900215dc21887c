package soundalike

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"unsafe"

	"github.com/audotics/soundalike/index"
)

// MaxExamples is the most examples, positive and negative together, one
// RecommendQuery may give. More fail with ErrInvalidQuery.
const MaxExamples = 1000

// maxProbes is how many positives best_score searches around: the
// heaviest ones (ties: the first given). Each probe is an index search,
// so a history of 200 tracks costs maxProbes searches, not 200; the
// candidates they find are rescored against every example. 8 found the
// most of held-out users' other tracks (docs/quality.md).
const maxProbes = 8

// Recommend answers tracks like q's positive examples and unlike its
// negative ones, combined by q.Strategy (see StrategyAverage and
// StrategyBestScore). Every example's catalogue track is excluded from the
// results and, unless Options.NoDedupe, so are other copies of its song;
// with Options.ExcludeArtist, so are the examples' artists. At least one
// positive is required, and at most MaxExamples examples in all, and no
// example may be a negative as well as a positive (an
// *ExampleConflictError). Results name the strategy and the model that
// answered. A malformed query (a bad k, option, example or reference, an
// example given on both sides) is refused before Recommend waits for the
// snapshot; two references to one track in different forms, and a filter
// genre no track has, are refused once the snapshot is there.
func (e *Engine) Recommend(ctx context.Context, q RecommendQuery) (Results, error) {
	if err := checkCtx(ctx); err != nil {
		return Results{}, fmt.Errorf("recommend: %w", err)
	}
	strategy, err := q.check()
	if err != nil {
		return Results{}, err
	}
	s, err := e.ready(ctx)
	if err != nil {
		return Results{}, err
	}
	return s.recommend(ctx, &q, strategy)
}

// recommend is Recommend (and RecommendUser) of a checked query
// (RecommendQuery.check, which returned strategy) on one snapshot.
func (s *snapshot) recommend(ctx context.Context, q *RecommendQuery, strategy Strategy) (Results, error) {
	if q.User != "" {
		if err := s.takeUserExamples(q); err != nil {
			return Results{}, err
		}
	}
	pos, err := s.resolveExamples("positive", q.Positive)
	if err != nil {
		return Results{}, err
	}
	neg, err := s.resolveExamples("negative", q.Negative)
	if err != nil {
		return Results{}, err
	}
	// A user's history sums each track's interactions into one example,
	// and two tracks alike in it (copies of a song, both played and
	// skipped) are the user's data, not a malformed query.
	if q.User == "" {
		if err := checkResolvedOpposed(q, pos, neg); err != nil {
			return Results{}, err
		}
	}
	ns, err := s.searchExamples(ctx, pos, neg, strategy, q.K, &q.Options)
	if err != nil {
		return Results{}, err
	}
	res := s.results(ns, nil)
	res.Strategy = strategy
	return res, nil
}

// check reports what Recommend (and RecommendUser) refuses of q without
// reading the catalogue, and returns the query's strategy ("" read as
// StrategyAverage): CheckSearch's, examples beside a User, no positive
// example or more than MaxExamples, an unknown strategy, an example
// that is malformed (checkExamples), and one given on both sides
// (checkOpposed). With a User the examples come from
// the history once the snapshot is there (takeUserExamples), which
// refuses a history without a positive and takes at most
// UserHistoryCap of it, so only the examples' absence is judged here.
func (q *RecommendQuery) check() (Strategy, error) {
	if err := CheckSearch(q.K, &q.Options); err != nil {
		return "", err
	}
	if q.User != "" {
		if len(q.Positive) > 0 || len(q.Negative) > 0 {
			return "", fmt.Errorf("%w: a query by user %q takes its examples from the history: give no positive or negative examples", ErrInvalidQuery, q.User)
		}
	} else {
		if len(q.Positive) == 0 {
			return "", fmt.Errorf("%w: no positive example: give at least one track, vector or feature set to recommend from", ErrInvalidQuery)
		}
		if n := len(q.Positive) + len(q.Negative); n > MaxExamples {
			return "", fmt.Errorf("%w: %d examples (%d positive, %d negative): at most %d in all", ErrInvalidQuery, n, len(q.Positive), len(q.Negative), MaxExamples)
		}
	}
	strategy, err := ParseStrategy(string(q.Strategy))
	if err != nil {
		return "", err
	}
	if err := checkExamples("positive", "RecommendQuery.Positive", q.Positive); err != nil {
		return "", err
	}
	if err := checkExamples("negative", "RecommendQuery.Negative", q.Negative); err != nil {
		return "", err
	}
	if err := checkOpposed(q.Positive, q.Negative); err != nil {
		return "", err
	}
	return strategy, nil
}

// ExampleConflictError is a RecommendQuery that gives one example as both
// a positive and a negative: the negative at index Negative is the
// positive at index Positive. Recommend finds that without the catalogue
// when the two are the same track reference, vector or features, and
// once it has resolved them when two references name the same catalogue
// track (a Spotify URI and the bare id) or two examples come to the same
// unit vector (a vector and a scaled copy of it, two feature sets the
// model embeds alike). Such a query contradicts itself, asking for the
// example and away from it: its answer would depend on how the two
// weights and the other examples happen to balance (with one positive,
// 2v − v = v: the negative is silently ignored), so it is refused rather
// than guessed at, whatever the weights. It wraps ErrInvalidQuery. Its message names the examples as a RecommendQuery
// (and POST /recommend's body) places them, "negative[0]" and
// "positive[0]"; a caller that names them otherwise (the command line, by
// its flags) says it with the indexes.
type ExampleConflictError struct {
	Positive, Negative int
	what               string // what makes them one: `track "x" is also positive[0]`
}

func (e *ExampleConflictError) Error() string {
	return fmt.Sprintf("negative[%d]: %s: give each example on one side only", e.Negative, e.what)
}

func (e *ExampleConflictError) Unwrap() error { return ErrInvalidQuery }

// checkOpposed reports the first negative example that is also a
// positive one as given (an *ExampleConflictError): the same track
// reference, vector or features. Two references to one track in other
// forms, and examples the model embeds alike, are the snapshot's to find
// (checkResolvedOpposed).
func checkOpposed(pos, neg []Example) error {
	if len(neg) == 0 {
		return nil // the usual query: nothing to look up
	}
	// Up to MaxExamples a side: references and vectors are looked up,
	// not compared pair by pair; features examples are few.
	tracks := map[TrackID]int{}
	vectors := map[string]int{}
	var features []int
	for i := len(pos) - 1; i >= 0; i-- { // the first of equal positives is kept
		switch p := &pos[i]; {
		case p.Track != "":
			tracks[p.Track] = i
		case p.Vector != nil:
			vectors[vectorKey(p.Vector)] = i
		case p.Features != nil:
			features = append(features, i)
		}
	}
	slices.Reverse(features)
	for j := range neg {
		n := &neg[j]
		switch {
		case n.Track != "":
			if i, ok := tracks[n.Track]; ok {
				return &ExampleConflictError{Positive: i, Negative: j, what: fmt.Sprintf("track %q is also positive[%d]", clip(string(n.Track)), i)}
			}
		case n.Vector != nil:
			if i, ok := vectors[vectorKey(n.Vector)]; ok {
				return &ExampleConflictError{Positive: i, Negative: j, what: fmt.Sprintf("its vector is also positive[%d]'s", i)}
			}
		case n.Features != nil:
			for _, i := range features {
				if reflect.DeepEqual(pos[i].Features, n.Features) {
					return &ExampleConflictError{Positive: i, Negative: j, what: fmt.Sprintf("its features are also positive[%d]'s", i)}
				}
			}
		}
	}
	return nil
}

// vectorKey is v's bits as a map key: equal keys, equal vectors.
func vectorKey(v []float32) string {
	return unsafe.String((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*4)
}

// checkResolvedOpposed reports the first negative example that the
// snapshot resolved (resolveExamples) to a positive one, when
// checkOpposed found none as given: two references to the same catalogue
// track, or two examples normalised to the bit-identical unit vector (a
// vector and a scaled copy of it, two feature sets the model embeds
// alike). A vector near a stored track's is not caught: the index holds
// float16 vectors, so equality is not the test of the same place. pos and
// neg are the resolved Positive and Negative of q.
func checkResolvedOpposed(q *RecommendQuery, pos, neg []example) error {
	if len(neg) == 0 {
		return nil // the usual query: nothing to look up
	}
	nodes := map[uint32]int{}
	vectors := make(map[string]int, len(pos))
	for i := len(pos) - 1; i >= 0; i-- { // the first of equal positives is kept
		if pos[i].inCatalogue() {
			nodes[pos[i].at.node] = i
		}
		vectors[vectorKey(pos[i].at.q)] = i
	}
	for j := range neg {
		if i, ok := nodes[neg[j].at.node]; ok && neg[j].inCatalogue() {
			return &ExampleConflictError{Positive: i, Negative: j, what: fmt.Sprintf("track %q names the track of positive[%d] (%q)",
				clip(string(q.Negative[j].Track)), i, clip(string(q.Positive[i].Track)))}
		}
		if i, ok := vectors[vectorKey(neg[j].at.q)]; ok {
			return &ExampleConflictError{Positive: i, Negative: j, what: fmt.Sprintf("the model places it where positive[%d] is (the same vector)", i)}
		}
	}
	return nil
}

// A user's history gives at most UserHistoryCap examples: never more
// than a RecommendQuery may hold.
const _ uint = MaxExamples - UserHistoryCap

// checkExamples reports the first malformed example of one side (named
// by side in errors: "positive[2]: …"): one that gives not exactly one of
// a track, a vector or features, or whose weight is not a finite number
// ≥ 0, or whose vector no model could search for (checkVectorValues) or
// features are out of their ranges; or whose track reference no stored
// id could be, a *TrackRefError named by the side's option
// ("RecommendQuery.Positive[2]"). Whether the track is in the catalogue,
// and the vector or track fit the model, is the snapshot's to say
// (resolveExample).
func checkExamples(side, option string, exs []Example) error {
	for i := range exs {
		ex := &exs[i]
		given := 0
		for _, b := range []bool{ex.Track != "", ex.Vector != nil, ex.Features != nil} {
			if b {
				given++
			}
		}
		if given != 1 {
			return fmt.Errorf("%s[%d]: %w: give exactly one of a track, a vector or features (got %d)", side, i, ErrInvalidQuery, given)
		}
		if w := ex.Weight; math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return fmt.Errorf("%s[%d]: %w: weight %v: want a finite number ≥ 0 (0 means 1)", side, i, ErrInvalidQuery, w)
		}
		var err error
		switch {
		case ex.Track != "":
			if err := checkRef(option, i, ex.Track); err != nil {
				return err
			}
		case ex.Vector != nil:
			err = checkVectorValues(ex.Vector)
		case ex.Features != nil:
			err = CheckQueryTrack(ex.Features)
		}
		if err != nil {
			return fmt.Errorf("%s[%d]: %w", side, i, err)
		}
	}
	return nil
}

// example is a resolved Example: where a search around it looks (its
// unit vector, and its catalogue track's node if it has one), its weight,
// and what the results must not offer again.
type example struct {
	at   around
	w    float64
	cold *Track // the track a Features example describes
}

// inCatalogue reports whether the example is a catalogue track.
func (r *example) inCatalogue() bool { return r.at.node != noNode }

// resolveExamples resolves the checked examples (checkExamples) of one
// side, named by side in errors: "positive[2]: …".
func (s *snapshot) resolveExamples(side string, exs []Example) ([]example, error) {
	out := make([]example, len(exs))
	for i := range exs {
		if err := s.resolveExample(&exs[i], &out[i]); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", side, i, err)
		}
	}
	return out, nil
}

// resolveExample resolves a checked example: its track in the
// catalogue, or its vector or features for the model.
func (s *snapshot) resolveExample(ex *Example, r *example) error {
	r.w = ex.Weight
	if r.w == 0 {
		r.w = 1
	}
	switch {
	case ex.Track != "":
		node, err := s.resolve(ex.Track)
		if err != nil {
			return err
		}
		r.at, err = s.aroundNode(node)
		return err
	case ex.Features != nil:
		r.cold = ex.Features
		v, err := s.embed(ex.Features)
		r.at = aroundVector(v)
		return err
	}
	v, err := s.checkVector(ex.Vector)
	r.at = aroundVector(v)
	return err
}

// averageAround is where StrategyAverage searches: Qdrant's
// average_vector, avg⁺ + (avg⁺ − avg⁻), the weighted means of the
// positives and the negatives, normalised; avg⁺ alone when there are no
// negatives. One positive alone is its own average, and its search
// starts where Similar's of it does.
func averageAround(pos, neg []example) (around, error) {
	if len(pos) == 1 && len(neg) == 0 {
		return pos[0].at, nil
	}
	v := weightedMean(pos)
	if len(neg) > 0 {
		n := weightedMean(neg)
		for i := range v {
			v[i] = 2*v[i] - n[i]
		}
	}
	if normalize(v) == 0 {
		return around{}, fmt.Errorf("%w: the examples' vectors cancel out: their weighted mean has no direction to search in", ErrInvalidQuery)
	}
	return aroundVector(v), nil
}

// weightedMean is the mean of the examples' vectors weighted by their
// weights over the heaviest's (weightScales: so that no weight, however
// large, overflows), summed in float64: a SimilarTo's seed tracks are
// averaged here too, each of weight 1.
func weightedMean(exs []example) []float32 {
	var small [256]float64 // the sum for a model of up to 256 dimensions, without an allocation
	var sum []float64
	if d := len(exs[0].at.q); d <= len(small) {
		sum = small[:d]
	} else {
		sum = make([]float64, d)
	}
	top := heaviest(exs)
	var total float64
	for i := range exs {
		scale := float64(weightScale(exs[i].w, top))
		for j, x := range exs[i].at.q {
			sum[j] += scale * float64(x)
		}
		total += scale
	}
	out := make([]float32, len(sum))
	for j := range sum {
		out[j] = float32(sum[j] / total)
	}
	return out
}

// bestScoreSearch is StrategyBestScore: candidates from searches around
// the heaviest positives (probes), rescored against every example
// (bestScores), then the post-processing every search shares (refine),
// which asks for more candidates until the page is full or no probe has
// more. Each probe takes its candidates where a search around that
// positive alone would (candidatesFor), so that a Filter that keeps few
// tracks is answered by an exact scan of them, as for Similar, rather than
// by a graph search that wanders until it finds enough. k and opts have
// been checked (CheckSearch).
func (s *snapshot) bestScoreSearch(ctx context.Context, pos, neg []example, k int, opts *SearchOptions, f *filter) ([]Neighbor, error) {
	probes := probeOrder(pos)
	// room widens a request for n candidates with room for those closer
	// to a negative, which the rescoring ranks after the rest.
	room := func(n int) int {
		if len(neg) > 0 {
			n += n / 2
		}
		return n
	}
	// What each probe is first asked for (below), as far as a Filter's
	// choice of source reads it: refine's first request, whose candidates
	// a Filter's source has always checked.
	first := room(firstWant(k, opts, f, true))
	sources := make([]candidates, len(probes))
	checked := true // every source's candidates have passed f.keep
	for i, p := range probes {
		next, c, err := s.candidatesFor(ctx, pos[p].at, first, opts, f)
		if err != nil {
			return nil, err
		}
		sources[i], checked = next, checked && c
	}
	// Each probe yields at least its beam's worth of candidates (and room
	// for the exclusions refine drops when the search has not), whatever
	// the page: a search for fewer costs the same, and a candidate the
	// rescoring ranks high (one near another positive) may lie deep in a
	// probe's list, so that a candidate set grown with Offset+k would rank
	// the first results differently for each page. Pages whose Offset+k
	// needs more than that are slices of one another only as far as the
	// deeper lists agree.
	depth := s.beam(opts)
	if !checked {
		depth += f.dropCount()
	}
	next := func(n int) ([]index.Result, bool, error) {
		n = min(max(room(n), depth), s.indexLen())
		var cands []uint32
		exhausted := true // no probe has more
		for _, src := range sources {
			res, ex, err := src(n)
			if err != nil {
				return nil, false, err
			}
			for _, r := range res {
				cands = append(cands, r.ID)
			}
			exhausted = exhausted && ex
		}
		slices.Sort(cands)
		cands = slices.Compact(cands)
		return s.bestScores(cands, pos, neg), exhausted, nil
	}
	return s.refine(ctx, next, checked, k, opts, f)
}

// probeOrder returns the indexes of the positives to search around: the
// maxProbes heaviest, heaviest first (ties in the order given).
func probeOrder(pos []example) []int {
	idx := make([]int, len(pos))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case pos[a].w > pos[b].w:
			return -1
		case pos[a].w < pos[b].w:
			return 1
		}
		return 0
	})
	return idx[:min(len(idx), maxProbes)]
}

// bestScores is best_score's rescoring: Qdrant's semantics, with weights.
// A candidate's similarity to an example is scaled by the example's weight
// over its side's heaviest (equal weights leave it alone). A candidate
// whose best scaled similarity to a positive beats its best to a negative
// (or that has no negative) scores that positive similarity; any other
// ranks after all of those, scoring −(its best negative similarity).
// The result is ranked best first (ties by node, for a stable order).
//
// It takes candidate nodes and returns them ranked, so that it runs
// before the post-processing of ranked candidates (refine).
func (s *snapshot) bestScores(cands []uint32, pos, neg []example) []index.Result {
	posScale, negScale := weightScales(pos), weightScales(neg)
	out := make([]index.Result, 0, len(cands))
	var losers []index.Result // closer to a negative than to every positive
	for _, c := range cands {
		v, err := s.vectorOf(c)
		if err != nil {
			continue
		}
		bp := bestSim(v, pos, posScale)
		if len(neg) == 0 {
			out = append(out, index.Result{ID: c, Score: bp})
			continue
		}
		if bn := bestSim(v, neg, negScale); bp > bn {
			out = append(out, index.Result{ID: c, Score: bp})
		} else {
			losers = append(losers, index.Result{ID: c, Score: -bn})
		}
	}
	byScore := func(a, b index.Result) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return int(a.ID) - int(b.ID)
	}
	slices.SortFunc(out, byScore)
	slices.SortFunc(losers, byScore)
	return append(out, losers...)
}

// weightScales returns each example's weight over the heaviest's.
func weightScales(exs []example) []float32 {
	top := heaviest(exs)
	out := make([]float32, len(exs))
	for i := range exs {
		out[i] = weightScale(exs[i].w, top)
	}
	return out
}

// weightScale is an example's weight w over its side's heaviest, top:
// the one scale of an example's pull, in the average and in best_score.
func weightScale(w, top float64) float32 { return float32(w / top) }

// heaviest is the largest of the examples' weights.
func heaviest(exs []example) float64 {
	var top float64
	for i := range exs {
		top = max(top, exs[i].w)
	}
	return top
}

// bestSim is the highest scaled similarity of v to the examples.
func bestSim(v []float32, exs []example, scale []float32) float32 {
	best := float32(math.Inf(-1))
	for i := range exs {
		best = max(best, scale[i]*index.Dot(v, exs[i].at.q))
	}
	return best
}
