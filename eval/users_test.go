package eval

import (
	"math"
	"slices"
	"testing"
)

func TestSplitUsers(t *testing.T) {
	users := [][]uint32{{1, 2, 3, 4, 5}, {9}, {6, 7}, {10, 11, 12, 13}}
	a, b := SplitUsers(users, 3), SplitUsers(users, 3)
	if len(a) != 3 || a[0].User != 0 || a[1].User != 2 || a[2].User != 3 {
		t.Fatalf("splits %+v: want users 0, 2 and 3 (user 1 has one track)", a)
	}
	for i, sp := range a {
		if !slices.Equal(sp.Seeds, b[i].Seeds) || !slices.Equal(sp.Held, b[i].Held) {
			t.Errorf("user %d: two splits with one seed differ: %v/%v and %v/%v", sp.User, sp.Seeds, sp.Held, b[i].Seeds, b[i].Held)
		}
		n := len(users[sp.User])
		if len(sp.Seeds) != n/2 || len(sp.Held) != n-n/2 {
			t.Errorf("user %d: %d seeds and %d held of %d", sp.User, len(sp.Seeds), len(sp.Held), n)
		}
		all := slices.Sorted(slices.Values(append(slices.Clone(sp.Seeds), sp.Held...)))
		if !slices.Equal(all, slices.Sorted(slices.Values(users[sp.User]))) {
			t.Errorf("user %d: seeds and held %v are not the user's tracks %v", sp.User, all, users[sp.User])
		}
	}
	// Another seed shuffles otherwise (for some user, of 5 tracks).
	differ := false
	for s := uint64(4); s < 10 && !differ; s++ {
		differ = !slices.Equal(SplitUsers(users, s)[0].Seeds, a[0].Seeds)
	}
	if !differ {
		t.Error("every seed splits user 0 the same way")
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestScoreUsersHandMade(t *testing.T) {
	splits := []UserSplit{
		{User: 0, Seeds: []uint32{1, 2}, Held: []uint32{3, 4, 5}},
		{User: 1, Seeds: []uint32{6}, Held: []uint32{7}},
	}
	// User 0: 2 hits of 4 (a seed is no hit); user 1: 1 hit of 4.
	answers := map[uint32][]uint32{1: {3, 1, 9, 5}, 6: {8, 7}}
	s, err := ScoreUsers(splits, 4, func(seeds []uint32, k int) ([]uint32, error) {
		if k != 4 {
			t.Errorf("k = %d, want 4", k)
		}
		return answers[seeds[0]], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// precision (2/4 + 1/4)/2; recall (2/3 + 1/1)/2
	if !near(s.Precision, 0.375) || !near(s.Recall, (2.0/3+1)/2) {
		t.Errorf("scores %+v, want precision 0.375, recall %.4f", s, (2.0/3+1)/2)
	}

	// Single seed: user 0's seeds 1 (answers 3,4: 2 hits) and 2 (answers
	// 9: none), each told the other; user 1's seed 6 (answers 7).
	single := map[uint32][]uint32{1: {3, 4}, 2: {9}, 6: {7}}
	s, err = ScoreSingleSeed(splits, 2, func(seed uint32, others []uint32, k int) ([]uint32, error) {
		want := map[uint32][]uint32{1: {2}, 2: {1}, 6: {}}[seed]
		if !slices.Equal(others, want) {
			t.Errorf("seed %d: others %v, want %v", seed, others, want)
		}
		return single[seed], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// user 0: precision (1 + 0)/2, recall (1 + 0)/2; user 1: 1/2 and 1/1
	if !near(s.Precision, (0.5+0.5)/2) || !near(s.Recall, (0.5+1)/2) {
		t.Errorf("single seed %+v, want precision 0.5, recall 0.75", s)
	}
}
