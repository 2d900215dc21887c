package trainer

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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

// distinctPairs is the number of pairs without a cap whose two tracks
// differ in signature: the pairs userPairs can draw.
func distinctPairs(users [][]uint32, sig []uint64) int {
	n := 0
	same := map[uint64]int{}
	for _, u := range users {
		clear(same)
		for _, t := range u {
			same[sig[t]]++
		}
		n += len(u) * (len(u) - 1) / 2
		for _, c := range same {
			n -= c * (c - 1) / 2
		}
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

// splitUsers holds out for validation the round(fraction·n) users with
// the lowest keys (userKey of seed and name; ties, which 53-bit keys all
// but never have, by name) and returns the indices into names of the
// training and validation users, each in index order. Of two or more
// users at least one is held out and one trained on; a single user is
// trained on.
//
// A user's key depends on the seed and its name alone, so the users of
// two runs with the same seed and fraction stand in one order and each
// run's cut falls somewhere in it: k users imported since an earlier run
// move at most k of the earlier users across the cut (at 0.2, 44 users
// then 3 more: the cut stays at 9, and each new user below it pushes one
// earlier user out), and the two runs' validation users overlap in all
// the others (train --promote auto compares models on those).
func splitUsers(names []string, fraction float64, seed uint64) (train, val []int) {
	n := len(names)
	keys := make([]float64, n)
	order := make([]int, n)
	for i, name := range names {
		keys[i], order[i] = userKey(seed, name), i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(keys[a], keys[b]); c != 0 {
			return c
		}
		return strings.Compare(names[a], names[b])
	})
	nv := 0
	if n >= 2 {
		nv = max(1, min(int(math.Round(fraction*float64(n))), n-1))
	}
	val, train = slices.Clone(order[:nv]), slices.Clone(order[nv:])
	slices.Sort(val)
	slices.Sort(train)
	return train, val
}

// userKey maps a seed and a user name to a number in [0, 1), uniform and
// the same in every process and Go version: FNV-64a of the seed (8 bytes,
// little-endian) and the name, then mixed (the SplitMix64 finaliser), since
// FNV alone leaves the top bits of names that differ only in their last
// byte ("user-1", "user-2") nearly equal. The top 53 bits make the number.
func userKey(seed uint64, name string) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(name))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// genreBatches reorders pairs so that most batches hold pairs of users of
// one genre: their in-batch negatives are then tracks of the same genre
// from other users, harder to tell apart than random ones. Pairs are taken
// per user from perUser (each user's pairs, in order); group[u] is user u's
// genre (−1 = unknown). Leftovers that do not fill a batch of one genre are
// mixed into the last batches. The batch order is shuffled.
func genreBatches(perUser [][]pair, group []int, batch int, rng *rand.Rand) []pair {
	byGroup := map[int][]pair{}
	var keys []int
	for u, ps := range perUser {
		g := group[u]
		if _, ok := byGroup[g]; !ok {
			keys = append(keys, g)
		}
		byGroup[g] = append(byGroup[g], ps...)
	}
	slices.Sort(keys)
	var batches [][]pair
	var rest []pair
	for _, g := range keys {
		ps := byGroup[g]
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		if g < 0 {
			rest = append(rest, ps...)
			continue
		}
		n := len(ps) / batch * batch
		for i := 0; i < n; i += batch {
			batches = append(batches, ps[i:i+batch])
		}
		rest = append(rest, ps[n:]...)
	}
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	for i := 0; i+batch <= len(rest); i += batch {
		batches = append(batches, rest[i:i+batch])
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	out := make([]pair, 0, len(batches)*batch+batch)
	for _, b := range batches {
		out = append(out, b...)
	}
	return append(out, rest[len(rest)/batch*batch:]...)
}

// userGroups gives each user the genre most of its tracks carry (ties to
// the genre seen first), or −1 when none of its tracks has a genre.
func userGroups(users [][]uint32, genres []uint64) []int {
	out := make([]int, len(users))
	for u, ts := range users {
		var counts [64]int
		best, bestN := -1, 0
		for _, t := range ts {
			for g := 0; g < 64; g++ {
				if genres[t]&(1<<g) != 0 {
					counts[g]++
					if counts[g] > bestN {
						best, bestN = g, counts[g]
					}
				}
			}
		}
		out[u] = best
	}
	return out
}
