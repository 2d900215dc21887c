package eval

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/audotics/soundalike/internal/words"
)

// User mode measures recommendation from a history rather than from one
// track: each held-out user's tracks are split in two with a fixed seeded
// shuffle, a recommender is given one half (the seeds) and asked for k
// tracks, and the hits are counted among the other half (held).

// UserSplit is one held-out user split in two. User indexes the users
// slice; Seeds and Held are catalogue indices.
type UserSplit struct {
	User        int
	Seeds, Held []uint32
}

// SplitUsers splits every user with at least two tracks: a shuffle seeded
// by seed and the user's index, then the first half (rounded down) are
// the seeds, the rest held out. The split of one user does not depend on
// the others.
func SplitUsers(users [][]uint32, seed uint64) []UserSplit {
	var out []UserSplit
	for u, ts := range users {
		if len(ts) < 2 {
			continue
		}
		ts = slices.Clone(ts)
		rng := rand.New(rand.NewPCG(seed, uint64(u)))
		rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		half := len(ts) / 2
		out = append(out, UserSplit{User: u, Seeds: ts[:half], Held: ts[half:]})
	}
	return out
}

// Recommender answers k tracks (catalogue indices, best first) for seed
// tracks. It may answer fewer; a seed among the answers is no hit.
type Recommender func(seeds []uint32, k int) ([]uint32, error)

// UserScores are means over the users.
type UserScores struct {
	// Precision is the mean fraction of the k answers that are held-out
	// tracks of the user.
	Precision float64 `json:"precision"`
	// Recall is hits / min(k, held), averaged.
	Recall float64 `json:"recall"`
}

// ScoreUsers asks rec for k tracks from each split's seeds and scores
// them against its held-out half. It returns an error, before calling rec,
// when k is below 1, rec is nil or a split has no seed or no held-out
// track (as SplitUsers never makes).
func ScoreUsers(splits []UserSplit, k int, rec Recommender) (UserScores, error) {
	if err := checkUserArgs(splits, k, rec == nil, "rec"); err != nil {
		return UserScores{}, err
	}
	var s UserScores
	for _, sp := range splits {
		got, err := rec(sp.Seeds, k)
		if err != nil {
			return UserScores{}, fmt.Errorf("user %d: %w", sp.User, err)
		}
		p, r := hitRates(got, sp.Held, k)
		s.Precision += p
		s.Recall += r
	}
	return s.mean(len(splits)), nil
}

// ScoreSingleSeed is the single-seed baseline: for each seed track of a
// split, similar (one track's k nearest, as Similar answers, the seed's
// fellow seeds left out) is scored against the held-out half; a user's
// figure is the mean over their seeds. It refuses what ScoreUsers refuses.
func ScoreSingleSeed(splits []UserSplit, k int, similar func(seed uint32, others []uint32, k int) ([]uint32, error)) (UserScores, error) {
	if err := checkUserArgs(splits, k, similar == nil, "similar"); err != nil {
		return UserScores{}, err
	}
	var s UserScores
	for _, sp := range splits {
		var up, ur float64
		for i, seed := range sp.Seeds {
			others := slices.Delete(slices.Clone(sp.Seeds), i, i+1)
			got, err := similar(seed, others, k)
			if err != nil {
				return UserScores{}, fmt.Errorf("user %d, seed %d: %w", sp.User, seed, err)
			}
			p, r := hitRates(got, sp.Held, k)
			up += p
			ur += r
		}
		s.Precision += up / float64(len(sp.Seeds))
		s.Recall += ur / float64(len(sp.Seeds))
	}
	return s.mean(len(splits)), nil
}

// checkUserArgs reports why ScoreUsers or ScoreSingleSeed cannot score:
// the rates divide by k, the seeds and the held-out tracks.
func checkUserArgs(splits []UserSplit, k int, nilFunc bool, funcName string) error {
	if k < 1 {
		return fmt.Errorf("eval: k = %d: want ≥ 1 tracks a user", k)
	}
	if nilFunc {
		return fmt.Errorf("eval: %s is nil: want a function that answers tracks", funcName)
	}
	for i, sp := range splits {
		if len(sp.Seeds) == 0 || len(sp.Held) == 0 {
			return fmt.Errorf("eval: split %d (user %d) has %d seeds and %d held-out tracks: want at least one of each", i, sp.User, len(sp.Seeds), len(sp.Held))
		}
	}
	return nil
}

// hitRates returns the precision and recall of got (at most k answers are
// counted) against held.
func hitRates(got, held []uint32, k int) (p, r float64) {
	hits := 0
	for _, t := range got[:min(len(got), k)] {
		if slices.Contains(held, t) {
			hits++
		}
	}
	return float64(hits) / float64(k), float64(hits) / float64(min(k, len(held)))
}

func (s UserScores) mean(n int) UserScores {
	if n == 0 {
		return s
	}
	return UserScores{Precision: s.Precision / float64(n), Recall: s.Recall / float64(n)}
}

// UserReport is what `soundalike eval --mode user --json` prints.
type UserReport struct {
	K     int `json:"k"`
	Users int `json:"users"`
	// Average and BestScore are Recommend with the seeds as positive
	// examples, by each strategy; SingleSeed is the single-seed baseline
	// (ScoreSingleSeed).
	Average    UserScores `json:"average"`
	BestScore  UserScores `json:"best_score"`
	SingleSeed UserScores `json:"single_seed"`
}

// String formats a user report as a small table.
func (r UserReport) String() string {
	s := fmt.Sprintf("k=%d, %s, each seeded with half their tracks\n%-12s %9s %9s\n", r.K, words.Count(r.Users, "user"), "", "precision", "recall")
	for _, row := range []struct {
		name string
		s    UserScores
	}{{"average", r.Average}, {"best_score", r.BestScore}, {"single_seed", r.SingleSeed}} {
		s += fmt.Sprintf("%-12s %9.4f %9.4f\n", row.name, row.s.Precision, row.s.Recall)
	}
	return s
}
