package storage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestPendingMatchesMap drives the write buffer's hash table with random
// lookups and inserts (growing from empty and from a reserve) against a
// map, then checks the sorted entries.
func TestPendingMatchesMap(t *testing.T) {
	for _, reserve := range []int{0, 100, 50_000} {
		var p pending[int]
		p.reserve(reserve)
		want := map[string]int{}
		rng := rand.New(rand.NewPCG(3, uint64(reserve)))
		for i := range 30_000 {
			if i == 5_000 {
				p.reserve(reserve) // with entries in the table
				if (p.n+reserve)*4 > len(p.slots)*3 {
					t.Fatalf("reserve(%d) with %d entries left %d slots", reserve, p.n, len(p.slots))
				}
			}
			k := fmt.Sprintf("k%d", rng.IntN(20_000))
			v := p.get(k)
			w, ok := want[k]
			if (v != nil) != ok || ok && *v != w {
				t.Fatalf("reserve %d, op %d: get(%s) = %v, map has %d %v", reserve, i, k, v, w, ok)
			}
			switch {
			case v != nil:
				*v = i
			case rng.IntN(4) == 0:
				// A miss not followed by an insert of that key: the
				// next add of another key must not use its slot.
				continue
			default:
				p.add(k, i)
			}
			want[k] = i
		}
		if p.n != len(want) {
			t.Fatalf("reserve %d: %d entries, map has %d", reserve, p.n, len(want))
		}
		ents := p.sorted()
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, e := range ents {
			if e.key != keys[i] || e.val != want[e.key] {
				t.Fatalf("reserve %d: sorted[%d] = %s %d, want %s %d", reserve, i, e.key, e.val, keys[i], want[keys[i]])
			}
		}
		if !slices.IsSortedFunc(ents, func(a, b pendEntry[int]) int { return strings.Compare(a.key, b.key) }) {
			t.Fatal("not sorted")
		}
	}
}
