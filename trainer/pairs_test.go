package trainer

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPairIndex(t *testing.T) {
	k := 0
	for j := 1; j < 60; j++ {
		for i := 0; i < j; i++ {
			if gi, gj := pairIndex(k); gi != i || gj != j {
				t.Fatalf("pairIndex(%d) = (%d, %d), want (%d, %d)", k, gi, gj, i, j)
			}
			k++
		}
	}
}

func TestUserPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sig := make([]uint64, 1000)
	for i := range sig {
		sig[i] = uint64(i)
	}
	sig[7] = sig[3] // track 7 is track 3 under another id
	tracks := func(n int) []uint32 {
		ts := make([]uint32, n)
		for i := range ts {
			ts[i] = uint32(i)
		}
		return ts
	}
	tests := []struct {
		name       string
		tracks     []uint32
		limit      int
		wantPairs  int
		wantUnique bool
	}{
		{"one track gives nothing", tracks(1), 10, 0, true},
		{"all pairs under the cap", tracks(5), 100, 10, true},
		{"duplicate song dropped", tracks(8), 100, 28 - 1, true},
		{"capped", tracks(100), 50, 50, true},
		{"cap equals total, duplicate dropped", tracks(10), 45, 44, true},
		{"a big user stays capped", tracks(1000), 200, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := userPairs(tt.tracks, tt.limit, sig, rng, nil)
			if tt.name == "capped" || tt.name == "a big user stays capped" {
				// the duplicate pair may or may not have been drawn
				if len(got) != tt.wantPairs && len(got) != tt.wantPairs-1 {
					t.Fatalf("userPairs = %d pairs, want %d (cap)", len(got), tt.wantPairs)
				}
			} else if len(got) != tt.wantPairs {
				t.Fatalf("userPairs = %d pairs, want %d", len(got), tt.wantPairs)
			}
			if len(got) > tt.limit {
				t.Fatalf("userPairs = %d pairs, more than the cap %d", len(got), tt.limit)
			}
			seen := map[pair]bool{}
			for _, p := range got {
				if p.A == p.B || sig[p.A] == sig[p.B] {
					t.Fatalf("self pair %v", p)
				}
				key := p
				if key.A > key.B {
					key.A, key.B = key.B, key.A
				}
				if seen[key] {
					t.Fatalf("pair %v drawn twice", p)
				}
				seen[key] = true
			}
		})
	}
}

// TestUserPairsUniform: with a cap, every pair is about equally likely.
func TestUserPairsUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sig := []uint64{0, 1, 2, 3, 4, 5}
	tracks := []uint32{0, 1, 2, 3, 4, 5} // 15 pairs
	counts := map[pair]int{}
	const rounds = 6000
	for range rounds {
		for _, p := range userPairs(tracks, 5, sig, rng, nil) {
			if p.A > p.B {
				p.A, p.B = p.B, p.A
			}
			counts[p]++
		}
	}
	if len(counts) != 15 {
		t.Fatalf("drew %d distinct pairs, want all 15", len(counts))
	}
	want := rounds * 5 / 15
	for p, c := range counts {
		if c < want*85/100 || c > want*115/100 {
			t.Fatalf("pair %v drawn %d times, want about %d", p, c, want)
		}
	}
}

func TestSyntheticUsers(t *testing.T) {
	tests := []struct {
		n, wantUsers, lo, hi int
	}{
		{3, 10, 3, 3},       // fewer than 5 tracks: each user has all of them
		{12, 10, 5, 12},     // n/5 = 2 → clamped to 10; sizes 5..min(20, 12)
		{100, 20, 5, 20},    // n/5 = 20
		{10_000, 50, 5, 20}, // n/5 = 2000 → clamped to 50
	}
	for _, tt := range tests {
		rng := rand.New(rand.NewPCG(uint64(tt.n), 0))
		users := syntheticUsers(tt.n, rng)
		if len(users) != tt.wantUsers {
			t.Fatalf("syntheticUsers(%d) = %d users, want %d", tt.n, len(users), tt.wantUsers)
		}
		for _, u := range users {
			if len(u) < tt.lo || len(u) > tt.hi {
				t.Fatalf("syntheticUsers(%d): a user has %d tracks, want %d..%d", tt.n, len(u), tt.lo, tt.hi)
			}
			seen := map[uint32]bool{}
			for _, tr := range u {
				if int(tr) >= tt.n || seen[tr] {
					t.Fatalf("syntheticUsers(%d): user %v repeats a track or is out of range", tt.n, u)
				}
				seen[tr] = true
			}
		}
	}
}

// userNames is n user names, "user-<first>" to "user-<first+n−1>".
func userNames(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user-%d", first+i)
	}
	return out
}

// sides maps each name to whether splitUsers held it out.
func sides(t *testing.T, names []string, fraction float64, seed uint64) map[string]bool {
	t.Helper()
	train, val := splitUsers(names, fraction, seed)
	if len(train)+len(val) != len(names) {
		t.Fatalf("splitUsers(%d names) = %d train + %d val", len(names), len(train), len(val))
	}
	out := map[string]bool{}
	for _, u := range train {
		out[names[u]] = false
	}
	for _, u := range val {
		if _, dup := out[names[u]]; dup {
			t.Fatalf("user %s is in both sets", names[u])
		}
		out[names[u]] = true
	}
	if len(out) != len(names) {
		t.Fatalf("splitUsers(%d names) placed %d distinct users", len(names), len(out))
	}
	return out
}

// TestSplitUsersKeepsSidesWhenUsersAreAdded: k users imported since a run
// move at most k of the earlier users to the other side, so two runs share
// nearly all the earlier validation users (train --promote auto compares
// on those).
func TestSplitUsersKeepsSidesWhenUsersAreAdded(t *testing.T) {
	for _, tt := range []struct{ before, added int }{{44, 3}, {1000, 50}, {10, 1}, {1, 1}, {2, 5}} {
		for seed := range uint64(20) {
			old := userNames(0, tt.before)
			// The new users sort among the old ones, as imported names do.
			grown := append(slices.Clone(old), userNames(100000, tt.added)...)
			slices.Sort(grown)
			was, now := sides(t, old, 0.2, seed), sides(t, grown, 0.2, seed)
			moved, kept := 0, 0
			for _, u := range old {
				if was[u] != now[u] {
					moved++
				} else if was[u] {
					kept++
				}
			}
			if moved > tt.added {
				t.Errorf("seed %d: %d users, then %d added: %d of the earlier users changed sides; want at most %d", seed, tt.before, tt.added, moved, tt.added)
			}
			// 44 users hold out 9 and 47 hold out 9: the new users
			// below the cut push as many earlier ones out.
			if tt.before == 44 && kept < 9-tt.added {
				t.Errorf("seed %d: 44 users, then 3 added: %d of the 9 earlier validation users still held out; want at least 6", seed, kept)
			}
		}
	}
}

// TestSplitUsersCount: the split holds out round(fraction·n) users, as
// --validation-split says, not a number that varies with the seed.
func TestSplitUsersCount(t *testing.T) {
	for _, n := range []int{5, 44, 377, 10000} {
		names := userNames(0, n)
		for _, f := range []float64{0.05, 0.2, 0.5, 0.9} {
			want := max(1, min(int(math.Round(f*float64(n))), n-1))
			for seed := range uint64(5) {
				if _, val := splitUsers(names, f, seed); len(val) != want {
					t.Errorf("splitUsers(%d users, %v, seed %d) held out %d; want %d", n, f, seed, len(val), want)
				}
			}
		}
	}
	// A larger fraction holds out the same users and more.
	names := userNames(0, 10000)
	a, b := sides(t, names, 0.1, 7), sides(t, names, 0.2, 7)
	for u, held := range a {
		if held && !b[u] {
			t.Fatalf("%s is held out at 0.1 and not at 0.2", u)
		}
	}
}

func TestSplitUsersDeterministic(t *testing.T) {
	names := userNames(0, 500)
	a, b := sides(t, names, 0.2, 3), sides(t, names, 0.2, 3)
	if !maps.Equal(a, b) {
		t.Fatal("splitUsers gave two splits for one seed")
	}
	if maps.Equal(a, sides(t, names, 0.2, 4)) {
		t.Error("seeds 3 and 4 split 500 users alike; want the seed to choose the split")
	}
	// A user's side follows its name, not its position among the names.
	shuffled := slices.Clone(names)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if !maps.Equal(a, sides(t, shuffled, 0.2, 3)) {
		t.Error("splitUsers split 500 users and the same users shuffled differently; want each user's side to follow its name")
	}
	// The keys are pinned: the split must not change with the Go version
	// or the process (a stored run's validation users are compared with a
	// later run's).
	if got := userKey(42, "user-1"); got != userKeyUser1Seed42 {
		t.Errorf("userKey(42, \"user-1\") = %v; want %v, as every earlier run computed", got, userKeyUser1Seed42)
	}
}

// userKeyUser1Seed42 is userKey(42, "user-1").
const userKeyUser1Seed42 = 0.4207533622662384

func TestSplitUsersSmall(t *testing.T) {
	for _, tt := range []struct {
		n          int
		fraction   float64
		train, val int
	}{{0, 0.2, 0, 0}, {1, 0.2, 1, 0}, {1, 0.99, 1, 0}, {2, 0.01, 1, 1}, {2, 0.99, 1, 1}, {3, 0.001, 2, 1}, {3, 0.999, 1, 2}} {
		train, val := splitUsers(userNames(0, tt.n), tt.fraction, 5)
		if len(train) != tt.train || len(val) != tt.val {
			t.Errorf("splitUsers(%d users, %v) = %d train, %d val; want %d, %d", tt.n, tt.fraction, len(train), len(val), tt.train, tt.val)
		}
	}
}

func TestGenreBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	// Users 0–3 are genre 0, users 4–7 genre 1, user 8 has none.
	group := []int{0, 0, 0, 0, 1, 1, 1, 1, -1}
	var perUser [][]pair
	total := 0
	for u := range group {
		var ps []pair
		for i := 0; i < 10+u; i++ {
			ps = append(ps, pair{uint32(u*100 + i), uint32(u*100 + i + 1)})
		}
		total += len(ps)
		perUser = append(perUser, ps)
	}
	const batch = 8
	out := genreBatches(perUser, group, batch, rng)
	if len(out) != total {
		t.Fatalf("genreBatches returned %d pairs, want all %d", len(out), total)
	}
	seen := map[pair]bool{}
	for _, p := range out {
		if seen[p] {
			t.Fatalf("pair %v twice", p)
		}
		seen[p] = true
	}
	// Most full batches hold one genre.
	pure, full := 0, len(out)/batch
	for b := 0; b < full; b++ {
		g := map[int]bool{}
		for _, p := range out[b*batch : (b+1)*batch] {
			g[group[p.A/100]] = true
		}
		if len(g) == 1 {
			pure++
		}
	}
	if pure < full-3 {
		t.Fatalf("%d of %d batches hold one genre, want all but the leftovers", pure, full)
	}
	groups := userGroups([][]uint32{{0, 1, 2}, {3}}, []uint64{1, 2, 2, 0})
	if groups[0] != 1 || groups[1] != -1 {
		t.Fatalf("userGroups = %v, want [1 -1]", groups)
	}
}
