package trainer

import (
	"math"
	"math/rand/v2"
)

// pair is two catalogue indices that belong together: A is the anchor, B
// the positive.
type pair struct{ A, B uint32 }

// pairIndex maps k in [0, m(m−1)/2) to the k-th pair (i, j), i < j, in the
// order (0,1), (0,2), (1,2), (0,3), …
func pairIndex(k int) (i, j int) {
	j = int((1 + math.Sqrt(1+8*float64(k))) / 2)
	for j*(j-1)/2 > k {
		j--
	}
	for (j+1)*j/2 <= k {
		j++
	}
	return k - j*(j-1)/2, j
}

// userPairs appends to dst pairs of one user's tracks: all of them when the
// user has at most limit, else limit pairs drawn uniformly without
// replacement (Floyd's algorithm). A pair of two tracks with the same
// signature (the same song under two ids: identical features) is a self
// pair in disguise and is dropped, as are self pairs. The orientation of
// each pair is random.
func userPairs(tracks []uint32, limit int, sig []uint64, rng *rand.Rand, dst []pair) []pair {
	m := len(tracks)
	if m < 2 {
		return dst
	}
	total := m * (m - 1) / 2
	add := func(k int) {
		i, j := pairIndex(k)
		a, b := tracks[i], tracks[j]
		if a == b || sig[a] == sig[b] {
			return
		}
		if rng.IntN(2) == 1 {
			a, b = b, a
		}
		dst = append(dst, pair{a, b})
	}
	if total <= limit {
		for k := 0; k < total; k++ {
			add(k)
		}
		return dst
	}
	chosen := make(map[int]struct{}, limit)
	for j := total - limit; j < total; j++ {
		t := rng.IntN(j + 1)
		if _, dup := chosen[t]; dup {
			t = j
		}
		chosen[t] = struct{}{}
		add(t)
	}
	return dst
}

// samplePairs draws the pairs of every user in users and shuffles them.
func samplePairs(users [][]uint32, limit int, sig []uint64, rng *rand.Rand) []pair {
	var out []pair
	for _, u := range users {
		out = userPairs(u, limit, sig, rng, out)
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// possiblePairs is the number of pairs without a cap.
func possiblePairs(users [][]uint32) int {
	n := 0
	for _, u := range users {
		n += len(u) * (len(u) - 1) / 2
	}
	return n
}

// syntheticUsers is the original fallback when there are no interactions:
// one user per 5 tracks, clamped to 10..50 users, each with 5..min(20, n)
// distinct random tracks (all n when n < 5). The model then learns nothing
// real.
func syntheticUsers(n int, rng *rand.Rand) [][]uint32 {
	count := min(max(n/5, 10), 50)
	hi := min(20, n)
	lo := min(5, hi)
	users := make([][]uint32, count)
	for u := range users {
		size := lo + rng.IntN(hi-lo+1)
		perm := rng.Perm(n)[:size]
		ts := make([]uint32, size)
		for i, p := range perm {
			ts[i] = uint32(p)
		}
		users[u] = ts
	}
	return users
}

// splitUsers puts a seeded random fraction of the users (at least one, and
// at least one left for training) into validation. It returns the indices
// of the training and validation users.
func splitUsers(n int, fraction float64, rng *rand.Rand) (train, val []int) {
	perm := rng.Perm(n)
	nv := int(math.Round(fraction * float64(n)))
	nv = max(1, min(nv, n-1))
	if n < 2 {
		nv = 0
	}
	val = append(val, perm[:nv]...)
	train = append(train, perm[nv:]...)
	return train, val
}
