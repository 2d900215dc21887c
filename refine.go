package soundalike

import (
	"context"
	"math"

	"github.com/audotics/soundalike/index"
)

// mmrWindow is how many of the best remaining candidates MMR chooses
// among at each step. It is a constant, not a multiple of k, so that
// result i never depends on k or Offset: pages of one query agree.
const mmrWindow = 50

// refine is the post-processing every search shares, whatever ranked its
// candidates (the index, an exact scan, or another scorer such as
// Recommend's best score): from next's ranked candidates it drops those
// the filter rejects (unless checked: every candidate next yields has
// passed f.keep), later copies of a song (unless NoDedupe) and those
// scoring below ScoreThreshold; then it chooses results in rank order, or
// by MMR when Diversity > 0, skipping tracks by an artist who has
// MaxPerArtist results already; and it returns choices Offset to
// Offset+k-1. It asks next for more candidates until the page is full or
// next has no more.
//
// Result i depends only on the candidates ranked above about i+mmrWindow,
// and the number of candidates asked for depends only on Offset+k, so the
// page at Offset is exactly that slice of the results of a query for
// Offset+k from 0. k and opts have been checked (CheckSearch).
func (s *snapshot) refine(ctx context.Context, next candidates, checked bool, k int, opts *SearchOptions, f *filter) ([]Neighbor, error) {
	var o SearchOptions
	if opts != nil {
		o = *opts
	}
	end := o.Offset + k
	want := firstWant(k, opts, f, checked)
	var (
		seen keySet // the pool's songs (keySet.addSong)
		pool []index.Result
	)
	for {
		// The request's deadline ends a search between its rounds.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rs, exhausted, err := next(want)
		if err != nil {
			return nil, err
		}
		if cap(pool) < len(rs) {
			pool = make([]index.Result, 0, len(rs))
		}
		pool = pool[:0]
		seen.reset()
		if !checked || f.dedupe {
			s.prefetchKeys(rs)
		}
		for _, r := range rs {
			// Compared as the float32 scores are, so that a threshold
			// copied from a result's printed score keeps that result.
			// A score below the threshold ends the search's growth: the
			// candidates come ranked by score, and none further would
			// pass, except under best_score, whose losers follow all of
			// its winners whatever their scores (bestScores). So the rest
			// of this round's candidates are still checked.
			if o.ScoreThreshold != nil && r.Score < float32(*o.ScoreThreshold) {
				exhausted = true
				continue
			}
			if !checked && !f.keep(r.ID) {
				continue
			}
			if f.dedupe {
				k := s.keys[r.ID]
				if seen.hasSong(k.song, k.feat) {
					continue
				}
				seen.addSong(k.song, k.feat)
			}
			pool = append(pool, r)
		}
		ch := chooser{s: s, lambda: o.Diversity, maxPerArtist: o.MaxPerArtist}
		picked, complete := ch.choose(pool, end, exhausted)
		if complete {
			picked = picked[min(o.Offset, len(picked)):]
			s.cat.prefetch(pool, picked)
			out := make([]Neighbor, 0, len(picked))
			for _, i := range picked {
				r := pool[i]
				t := s.cat.track(r.ID)
				out = append(out, Neighbor{ID: t.ID, Score: r.Score, Track: *t})
			}
			return out, nil
		}
		want *= 2
	}
}

// firstWant is how many candidates refine first asks for, for a page of
// k under opts: Offset+k, with room for later copies of a song among them
// (unless NoDedupe), for the exclusions refine drops itself when its
// candidates are not checked (dropCount), and for MMR's window. The
// sources of a Filter's candidates size their first search by it
// (sourceFor).
func firstWant(k int, opts *SearchOptions, f *filter, checked bool) int {
	end, diversity := k, 0.0
	if opts != nil {
		end, diversity = opts.Offset+k, opts.Diversity
	}
	want := end
	if f.dedupe {
		want += end/4 + 2 // room for duplicates among the results
	}
	if !checked {
		want += f.dropCount()
	}
	if diversity > 0 {
		want += mmrWindow
	}
	return want
}

// chooser picks results from a pool of candidates, best first: in rank
// order, or by maximal marginal relevance, under a per-artist cap.
type chooser struct {
	s            *snapshot
	lambda       float64 // MMR's λ (SearchOptions.Diversity); 0 = rank order
	maxPerArtist int     // 0 = no cap
	perArtist    map[uint64]int
}

// choose picks up to n of pool, returning their indexes in the order
// chosen, and whether the choice is final: n were chosen, or the pool
// holds every candidate there is (exhausted), or no choice would change
// with more candidates.
func (c *chooser) choose(pool []index.Result, n int, exhausted bool) ([]int, bool) {
	if c.lambda > 0 {
		return c.mmr(pool, n, exhausted)
	}
	picked := make([]int, 0, n)
	for i := 0; i < len(pool) && len(picked) < n; i++ {
		if c.capped(pool[i].ID) {
			continue
		}
		c.take(pool[i].ID)
		picked = append(picked, i)
	}
	return picked, len(picked) == n || exhausted
}

// mmr chooses by maximal marginal relevance (Carbonell & Goldstein): at
// each step, among the mmrWindow best remaining candidates, the one that
// maximises (1−λ)·score − λ·(its greatest similarity to a result chosen
// already), ties to the better ranked. Similarity is the cosine of the
// embeddings.
func (c *chooser) mmr(pool []index.Result, n int, exhausted bool) ([]int, bool) {
	var (
		picked = make([]int, 0, n)
		out    = make([]bool, len(pool)) // chosen, or capped
		vecs   = make([][]float32, len(pool))
		maxSim = make([]float32, len(pool))
		upto   = make([]int, len(pool)) // picked[:upto[i]] are in maxSim[i]
		window []int
	)
	// vec is candidate i's embedding, read once; nil when it has none
	// to compare (as bestScores, MMR then skips the candidate).
	vec := func(i int) []float32 {
		if vecs[i] == nil {
			vecs[i], _ = c.s.vectorOf(pool[i].ID)
		}
		return vecs[i]
	}
	for len(picked) < n {
		window = window[:0]
		for i := 0; i < len(pool) && len(window) < mmrWindow; i++ {
			if out[i] {
				continue
			}
			if c.capped(pool[i].ID) || vec(i) == nil {
				out[i] = true
				continue
			}
			window = append(window, i)
		}
		if len(window) < mmrWindow && !exhausted {
			return picked, false // the window reaches past the pool
		}
		if len(window) == 0 {
			break
		}
		best, bestScore := -1, math.Inf(-1)
		for _, i := range window {
			for _, j := range picked[upto[i]:] {
				if d := index.Dot(vecs[i], vecs[j]); upto[i] == 0 || d > maxSim[i] {
					maxSim[i] = d
				}
				upto[i]++
			}
			m := (1 - c.lambda) * float64(pool[i].Score)
			if len(picked) > 0 {
				m -= c.lambda * float64(maxSim[i])
			}
			if m > bestScore {
				best, bestScore = i, m
			}
		}
		out[best] = true
		c.take(pool[best].ID)
		picked = append(picked, best)
	}
	return picked, true
}

// capped reports whether one of node's artists has maxPerArtist results.
func (c *chooser) capped(node uint32) bool {
	if c.maxPerArtist == 0 {
		return false
	}
	for _, a := range c.s.artistKey[c.s.artistOff[node]:c.s.artistOff[node+1]] {
		if c.perArtist[a] >= c.maxPerArtist {
			return true
		}
	}
	return false
}

// take counts a chosen result against its artists' caps.
func (c *chooser) take(node uint32) {
	if c.maxPerArtist == 0 {
		return
	}
	if c.perArtist == nil {
		c.perArtist = make(map[uint64]int)
	}
	for _, a := range c.s.artistKey[c.s.artistOff[node]:c.s.artistOff[node+1]] {
		c.perArtist[a]++
	}
}
