package soundalike

import (
	"slices"
	"testing"

	"github.com/audotics/soundalike/index"
)

// TestRefineKeepsEveryScoreOverTheThreshold: best_score ranks its losers
// after all its winners whatever their scores, so a loser can score above
// a winner; a score threshold keeps every candidate that passes it, not
// only those before the first that fails.
func TestRefineKeepsEveryScoreOverTheThreshold(t *testing.T) {
	ts := []Track{{ID: "a", Name: "a"}, {ID: "b", Name: "b"}, {ID: "c", Name: "c"}}
	s := &snapshot{cat: *catalogOf(ts)}
	// As bestScores ranks them: the winners a and c by score, then the
	// loser b, scoring −(its best similarity to a negative).
	rs := []index.Result{{ID: 0, Score: 0.3}, {ID: 2, Score: 0.05}, {ID: 1, Score: 0.2}}
	asked := 0
	next := func(n int) ([]index.Result, bool, error) {
		asked++
		return rs, false, nil
	}
	threshold := 0.1
	got, err := s.refine(t.Context(), next, true, 10, &SearchOptions{ScoreThreshold: &threshold}, &filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []TrackID
	for _, n := range got {
		ids = append(ids, n.ID)
	}
	if want := []TrackID{"a", "b"}; !slices.Equal(ids, want) {
		t.Errorf("results %v, want %v: every candidate scoring at least %v", ids, want, threshold)
	}
	if asked != 1 {
		t.Errorf("asked for candidates %d times, want 1: a score below the threshold ends the search's growth", asked)
	}
}
