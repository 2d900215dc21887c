package trainer

import (
	"math/rand/v2"
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

func TestSplitUsers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	train, val := splitUsers(100, 0.2, rng)
	if len(val) != 20 || len(train) != 80 {
		t.Fatalf("splitUsers(100, 0.2) = %d train, %d val; want 80, 20", len(train), len(val))
	}
	seen := map[int]bool{}
	for _, u := range append(train, val...) {
		if seen[u] {
			t.Fatalf("user %d is in both sets", u)
		}
		seen[u] = true
	}
	train, val = splitUsers(2, 0.01, rng)
	if len(val) != 1 || len(train) != 1 {
		t.Fatalf("splitUsers(2, 0.01) = %d train, %d val; want 1, 1", len(train), len(val))
	}
}
