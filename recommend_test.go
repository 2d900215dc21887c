package soundalike_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
)

func trackEx(id soundalike.TrackID, w float64) soundalike.Example {
	return soundalike.Example{Track: id, Weight: w}
}

// TestRecommendOnePositiveIsSimilar: with one positive track, both
// strategies answer what Similar does (the strategies differ only in how
// they combine examples).
func TestRecommendOnePositiveIsSimilar(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "r.db"), 600)
	for _, tr := range tracks[2:22] {
		want, err := eng.Similar(ctx, tr.ID, 20, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []soundalike.Strategy{"", soundalike.StrategyAverage, soundalike.StrategyBestScore} {
			got, err := eng.Recommend(ctx, soundalike.RecommendQuery{Positive: []soundalike.Example{trackEx(tr.ID, 0)}, Strategy: st, K: 20})
			if err != nil {
				t.Fatal(err)
			}
			wantSt := st
			if st == "" {
				wantSt = soundalike.StrategyAverage
			}
			if got.Strategy != wantSt || got.Model != want.Model || got.Model == "" {
				t.Errorf("%s: strategy %q model %q, want %q and %q", st, got.Strategy, got.Model, wantSt, want.Model)
			}
			if !slices.Equal(ids(got.Neighbors), ids(want.Neighbors)) {
				t.Errorf("%s %s:\n got %v\nwant %v", st, tr.ID, ids(got.Neighbors), ids(want.Neighbors))
			}
		}
	}
}

// exact is the brute-force answer of a strategy over the whole catalogue,
// from the documented formulas: the examples' tracks left out.
func exact(t *testing.T, eng *soundalike.Engine, tracks []*soundalike.Track, st soundalike.Strategy, pos, neg []soundalike.TrackID, wpos []float64) []soundalike.TrackID {
	t.Helper()
	vec := map[soundalike.TrackID][]float32{}
	for _, tr := range tracks {
		v, err := eng.Embed(tr)
		if err != nil {
			t.Fatal(err)
		}
		vec[tr.ID] = v
	}
	dotp := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	type scored struct {
		id    soundalike.TrackID
		group int
		score float64
	}
	var all []scored
	switch st {
	case soundalike.StrategyAverage:
		q := make([]float64, len(vec[pos[0]]))
		var total float64
		for i, id := range pos {
			for j, x := range vec[id] {
				q[j] += 2 * wpos[i] * float64(x)
			}
			total += wpos[i]
		}
		for j := range q {
			q[j] /= total
		}
		for _, id := range neg {
			for j, x := range vec[id] {
				q[j] -= float64(x) / float64(len(neg))
			}
		}
		qv := make([]float32, len(q))
		for j := range q {
			qv[j] = float32(q[j])
		}
		for _, tr := range tracks {
			all = append(all, scored{tr.ID, 0, dotp(vec[tr.ID], qv)})
		}
	case soundalike.StrategyBestScore:
		top := slices.Max(wpos)
		for _, tr := range tracks {
			bp, bn := math.Inf(-1), math.Inf(-1)
			for i, id := range pos {
				bp = max(bp, wpos[i]/top*dotp(vec[tr.ID], vec[id]))
			}
			for _, id := range neg {
				bn = max(bn, dotp(vec[tr.ID], vec[id]))
			}
			if bp > bn {
				all = append(all, scored{tr.ID, 0, bp})
			} else {
				all = append(all, scored{tr.ID, 1, -bn})
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].group != all[j].group {
			return all[i].group < all[j].group
		}
		return all[i].score > all[j].score
	})
	var out []soundalike.TrackID
	for _, s := range all {
		if !slices.Contains(pos, s.id) && !slices.Contains(neg, s.id) {
			out = append(out, s.id)
		}
	}
	return out
}

// TestRecommendAgainstBruteForce: both strategies, with weights and
// negatives, find the exact answer's top 20 (recall ≥ 0.9 over the
// queries: the index is approximate), never offer an example, and rank
// closest first.
func TestRecommendAgainstBruteForce(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "b.db"), 600)
	const k = 20
	for _, st := range []soundalike.Strategy{soundalike.StrategyAverage, soundalike.StrategyBestScore} {
		hits, total := 0, 0
		for q := range 30 {
			base := 2 + 17*q
			pos := []soundalike.TrackID{tracks[base].ID, tracks[base+5].ID, tracks[base+11].ID}
			neg := []soundalike.TrackID{tracks[base+3].ID}
			w := []float64{1, 2, 0.5}
			if q%2 == 0 {
				neg = nil
			}
			rq := soundalike.RecommendQuery{Strategy: st, K: k, Options: soundalike.SearchOptions{NoDedupe: true}}
			for i, id := range pos {
				rq.Positive = append(rq.Positive, trackEx(id, w[i]))
			}
			for _, id := range neg {
				rq.Negative = append(rq.Negative, trackEx(id, 0))
			}
			got, err := eng.Recommend(ctx, rq)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Neighbors) != k {
				t.Fatalf("%s: %d results, want %d", st, len(got.Neighbors), k)
			}
			want := exact(t, eng, tracks, st, pos, neg, w)[:k]
			for i, n := range got.Neighbors {
				if slices.Contains(pos, n.ID) || slices.Contains(neg, n.ID) {
					t.Errorf("%s: result %s is an example", st, n.ID)
				}
				if i > 0 && st == soundalike.StrategyAverage && got.Neighbors[i-1].Score < n.Score {
					t.Errorf("%s: results not ranked by score", st)
				}
				if slices.Contains(want, n.ID) {
					hits++
				}
			}
			total += k
		}
		if r := float64(hits) / float64(total); r < 0.9 {
			t.Errorf("%s: recall@%d against brute force = %.3f, want ≥ 0.9", st, k, r)
		}
	}
}

// TestRecommendBestScoreNegatives: a candidate closer to a negative than
// to every positive ranks after all the others. With the positive's
// nearest neighbour as the negative, the tracks nearer that neighbour come
// last (or not at all), and every score before them is a positive
// similarity.
func TestRecommendBestScoreNegatives(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "n.db"), 600)
	p := tracks[10]
	sim, err := eng.Similar(ctx, p.ID, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := sim.Neighbors[0].ID
	got, err := eng.Recommend(ctx, soundalike.RecommendQuery{
		Positive: []soundalike.Example{trackEx(p.ID, 0)}, Negative: []soundalike.Example{trackEx(n, 0)},
		Strategy: soundalike.StrategyBestScore, K: 50,
	})
	if err != nil {
		t.Fatal(err)
	}
	pv, _ := eng.Embed(p)
	nt, _ := eng.Track(ctx, n)
	nv, _ := eng.Embed(nt)
	lost := false
	for _, r := range got.Neighbors {
		rt, _ := eng.Track(ctx, r.ID)
		rv, _ := eng.Embed(rt)
		var sp, sn float32
		for i := range rv {
			sp += rv[i] * pv[i]
			sn += rv[i] * nv[i]
		}
		closerToNeg := sn >= sp
		if closerToNeg {
			lost = true
			if math.Abs(float64(r.Score+sn)) > 1e-3 { // the index scores its half-precision vectors
				t.Errorf("%s is closer to the negative: score %v, want −%v", r.ID, r.Score, sn)
			}
		} else {
			if lost {
				t.Errorf("%s, closer to the positive, ranks after one closer to the negative", r.ID)
			}
			if math.Abs(float64(r.Score-sp)) > 1e-3 {
				t.Errorf("%s: score %v, want its similarity to the positive %v", r.ID, r.Score, sp)
			}
		}
		if r.ID == n || r.ID == p.ID {
			t.Errorf("an example (%s) is among the results", r.ID)
		}
	}
}

// TestRecommendDedupesExamples: an example's other copies (t9000 is
// t0000's duplicate) are never offered, unless NoDedupe.
func TestRecommendDedupesExamples(t *testing.T) {
	ctx := t.Context()
	eng, _ := fixture(t, filepath.Join(t.TempDir(), "d.db"), 300)
	for _, st := range []soundalike.Strategy{soundalike.StrategyAverage, soundalike.StrategyBestScore} {
		q := soundalike.RecommendQuery{Positive: []soundalike.Example{trackEx("t0000", 0)}, Strategy: st, K: 10}
		got, err := eng.Recommend(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids(got.Neighbors), "t9000") {
			t.Errorf("%s: the example's duplicate t9000 is offered: %v", st, ids(got.Neighbors))
		}
		q.Options.NoDedupe = true
		got, err = eng.Recommend(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got.Neighbors)[0] != "t9000" {
			t.Errorf("%s with NoDedupe: first result %s, want the identical t9000", st, got.Neighbors[0].ID)
		}
	}
}

// TestRecommendExampleKinds: a vector example and a features example of a
// catalogue track answer as the track does, except that they do not
// exclude the track itself (a vector names no track; features dedupe
// against their song, which is the track's).
func TestRecommendExampleKinds(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "k.db"), 300)
	tr := tracks[40]
	v, err := eng.Embed(tr)
	if err != nil {
		t.Fatal(err)
	}
	byTrack, err := eng.Recommend(ctx, soundalike.RecommendQuery{Positive: []soundalike.Example{trackEx(tr.ID, 0)}, K: 10})
	if err != nil {
		t.Fatal(err)
	}
	byVec, err := eng.Recommend(ctx, soundalike.RecommendQuery{Positive: []soundalike.Example{{Vector: v}}, K: 11})
	if err != nil {
		t.Fatal(err)
	}
	if byVec.Neighbors[0].ID != tr.ID || !slices.Equal(ids(byVec.Neighbors[1:]), ids(byTrack.Neighbors)) {
		t.Errorf("by vector = %v, want %s then %v", ids(byVec.Neighbors), tr.ID, ids(byTrack.Neighbors))
	}
	byFeat, err := eng.Recommend(ctx, soundalike.RecommendQuery{Positive: []soundalike.Example{{Features: tr}}, K: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(byFeat.Neighbors), ids(byTrack.Neighbors)) {
		t.Errorf("by features = %v, want %v", ids(byFeat.Neighbors), ids(byTrack.Neighbors))
	}
}

func TestRecommendRefuses(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "e.db"), 50)
	ok := trackEx(tracks[3].ID, 0)
	unit, minus := make([]float32, 16), make([]float32, 16)
	unit[0], minus[0] = 1, -1
	many := make([]soundalike.Example, soundalike.MaxExamples+1)
	for i := range many {
		many[i] = ok
	}
	for _, c := range []struct {
		name string
		q    soundalike.RecommendQuery
		is   error
		says string
	}{
		{"no positive", soundalike.RecommendQuery{Negative: []soundalike.Example{ok}, K: 5}, soundalike.ErrInvalidQuery, "positive"},
		{"k", soundalike.RecommendQuery{Positive: []soundalike.Example{ok}, K: 0}, soundalike.ErrInvalidQuery, "k: 0 is outside 1..1000"},
		{"strategy", soundalike.RecommendQuery{Positive: []soundalike.Example{ok}, K: 5, Strategy: "best"}, soundalike.ErrInvalidQuery, `"best_score"`},
		{"too many", soundalike.RecommendQuery{Positive: many, K: 5}, soundalike.ErrInvalidQuery, "at most 1000"},
		{"negative weight", soundalike.RecommendQuery{Positive: []soundalike.Example{ok, trackEx(tracks[4].ID, -1)}, K: 5}, soundalike.ErrInvalidQuery, "positive[1]: invalid query: weight -1"},
		{"NaN weight", soundalike.RecommendQuery{Positive: []soundalike.Example{ok}, Negative: []soundalike.Example{trackEx(tracks[4].ID, math.NaN())}, K: 5}, soundalike.ErrInvalidQuery, "negative[0]"},
		{"two kinds", soundalike.RecommendQuery{Positive: []soundalike.Example{{Track: tracks[3].ID, Vector: []float32{1}}}, K: 5}, soundalike.ErrInvalidQuery, "exactly one"},
		{"empty", soundalike.RecommendQuery{Positive: []soundalike.Example{{}}, K: 5}, soundalike.ErrInvalidQuery, "exactly one"},
		{"unknown", soundalike.RecommendQuery{Positive: []soundalike.Example{ok}, Negative: []soundalike.Example{trackEx("nope", 0)}, K: 5}, soundalike.ErrNotFound, `negative[0]: track "nope"`},
		{"dimension", soundalike.RecommendQuery{Positive: []soundalike.Example{{Vector: []float32{1, 2}}}, K: 5}, soundalike.ErrDimension, "positive[0]"},
		{"zero vector", soundalike.RecommendQuery{Positive: []soundalike.Example{{Vector: make([]float32, 16)}}, K: 5}, soundalike.ErrInvalidQuery, "all zeros"},
		{"cancel", soundalike.RecommendQuery{Positive: []soundalike.Example{{Vector: unit}, {Vector: minus}}, K: 5}, soundalike.ErrInvalidQuery, "cancel out"},
	} {
		_, err := eng.Recommend(ctx, c.q)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %v, want %v saying %q", c.name, err, c.is, c.says)
		}
	}
}

// TestRecommendHugeWeights: weights count relative to each other, so
// weights near the float64 limit answer as equal weights do.
func TestRecommendHugeWeights(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "w.db"), 200)
	for _, st := range []soundalike.Strategy{soundalike.StrategyAverage, soundalike.StrategyBestScore} {
		q := soundalike.RecommendQuery{Positive: []soundalike.Example{trackEx(tracks[5].ID, 1e308), trackEx(tracks[9].ID, 1e308)},
			Negative: []soundalike.Example{trackEx(tracks[7].ID, math.MaxFloat64)}, Strategy: st, K: 10}
		huge, err := eng.Recommend(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, exs := range [][]soundalike.Example{q.Positive, q.Negative} {
			for i := range exs {
				exs[i].Weight = 0
			}
		}
		equal, err := eng.Recommend(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(huge.Neighbors), ids(equal.Neighbors)) {
			t.Errorf("%s: huge weights %v, equal weights %v", st, ids(huge.Neighbors), ids(equal.Neighbors))
		}
	}
}

// TestParseStrategy: the one check of a strategy's name, which the
// server and the command use too: "" is average; another name is an
// ErrInvalidQuery that quotes it on one short line.
func TestParseStrategy(t *testing.T) {
	for name, want := range map[string]soundalike.Strategy{"": soundalike.StrategyAverage, "average": soundalike.StrategyAverage, "best_score": soundalike.StrategyBestScore} {
		if st, err := soundalike.ParseStrategy(name); st != want || err != nil {
			t.Errorf("ParseStrategy(%q) = %q, %v; want %q", name, st, err, want)
		}
	}
	for _, name := range []string{"max", "Average", " average", strings.Repeat("x", 10000) + "\n\x1b[2J"} {
		_, err := soundalike.ParseStrategy(name)
		if !errors.Is(err, soundalike.ErrInvalidQuery) || !strings.Contains(err.Error(), `want "average" or "best_score"`) ||
			len(err.Error()) > 200 || strings.ContainsAny(err.Error(), "\n\x1b") {
			t.Errorf("ParseStrategy(%.20q…) = %.300q, want a one-line ErrInvalidQuery naming the strategies", name, err)
		}
	}
}

// TestRecommendBestScorePages: best_score's results for k are the first k
// of those for a larger k, and a page at an offset is that slice of them,
// with more positives than it searches around (maxProbes): a candidate
// that a probe finds deep in its list, near another positive, must rank
// the same whatever the page asks for.
func TestRecommendBestScorePages(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "p.db"), 600)
	for q := range 20 {
		rq := soundalike.RecommendQuery{Strategy: soundalike.StrategyBestScore}
		for i := range 12 { // the first 8 are searched around (equal weights)
			rq.Positive = append(rq.Positive, trackEx(tracks[(q*29+i*47)%600].ID, 1))
		}
		page := func(k, offset int) []soundalike.TrackID {
			r := rq
			r.K, r.Options.Offset = k, offset
			got, err := eng.Recommend(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return ids(got.Neighbors)
		}
		long := page(40, 0)
		if first, second := page(4, 0), page(4, 4); !slices.Equal(first, long[:4]) || !slices.Equal(second, long[4:8]) {
			t.Fatalf("query %d: k 4 gives %v and k 4 at offset 4 %v, want the slices of k 40's %v", q, first, second, long[:8])
		}
	}
}

// TestRecommendRefusesExampleOnBothSides: an example given as a positive
// and a negative is refused, naming both, where the two are one only as
// the catalogue and the model read them: a Spotify URI and the bare id
// of a track, a vector and a scaled copy, features that differ only in
// what the model does not read. Under average the pair would answer as
// the positive alone.
func TestRecommendRefusesExampleOnBothSides(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "b.db"), 50)
	id := tracks[3].ID
	v, err := eng.Embed(tracks[7])
	if err != nil {
		t.Fatal(err)
	}
	twice := make([]float32, len(v))
	for i := range v {
		twice[i] = 2 * v[i]
	}
	renamed := *tracks[9]
	renamed.ID = "not in the catalogue"
	other := trackEx(tracks[20].ID, 0)
	for _, c := range []struct {
		name               string
		pos, neg           []soundalike.Example
		positive, negative int
		says               string
	}{
		{"a URI and the bare id", []soundalike.Example{other, {Track: "spotify:track:" + id}}, []soundalike.Example{{Track: id}},
			1, 0, fmt.Sprintf("negative[0]: track %q names the track of positive[1] (\"spotify:track:%s\"): give each example on one side only", id, id)},
		{"a vector and twice it", []soundalike.Example{{Vector: v}}, []soundalike.Example{other, {Vector: twice}},
			0, 1, "negative[1]: the model places it where positive[0] is (the same vector)"},
		{"features under another id", []soundalike.Example{other, {Features: tracks[9]}}, []soundalike.Example{{Features: &renamed}},
			1, 0, "negative[0]: the model places it where positive[1] is"},
	} {
		for _, st := range soundalike.Strategies() {
			_, err := eng.Recommend(ctx, soundalike.RecommendQuery{Positive: c.pos, Negative: c.neg, Strategy: st, K: 5})
			ce, ok := errors.AsType[*soundalike.ExampleConflictError](err)
			if !errors.Is(err, soundalike.ErrInvalidQuery) || !ok || ce.Positive != c.positive || ce.Negative != c.negative || !strings.Contains(err.Error(), c.says) {
				t.Errorf("%s, %s: Recommend = %v, want an ExampleConflictError of positive[%d] and negative[%d] saying %q", c.name, st, err, c.positive, c.negative, c.says)
			}
		}
	}
	// Two different tracks on either side still answer.
	if _, err := eng.Recommend(ctx, soundalike.RecommendQuery{Positive: []soundalike.Example{{Track: id}}, Negative: []soundalike.Example{other}, K: 5}); err != nil {
		t.Errorf("Recommend(positive %s, negative %s) = %v, want results", id, other.Track, err)
	}
}
