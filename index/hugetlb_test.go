package index

import (
	"bytes"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audotics/soundalike/internal/hugepages"
	"github.com/audotics/soundalike/internal/hugepages/pooltest"
)

// writtenSmallGraph is smallGraph with its stream.
func writtenSmallGraph(t testing.TB) (*HNSW, []float32, []byte) {
	t.Helper()
	g, queries := smallGraph(t)
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return g, queries, buf.Bytes()
}

// readPool reads b with layer 0 on the hugetlb pool and fails t unless it
// went there.
func readPool(t testing.TB, b []byte) *HNSW {
	t.Helper()
	u, err := ReadUnchecked(bytes.NewReader(b), &ReadOptions{HugeTLB: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.PoolError(); err != nil {
		t.Fatalf("layer 0 not on the pool: %v", err)
	}
	g, err := u.Check()
	if err != nil {
		t.Fatal(err)
	}
	if st := g.Stats(); st.PoolBytes == 0 || st.PoolBytes > st.MemoryBytes {
		t.Fatalf("Stats.PoolBytes %d of MemoryBytes %d: want layer 0's bytes", st.PoolBytes, st.MemoryBytes)
	}
	return g
}

func TestReadHugeTLB(t *testing.T) {
	pooltest.Require(t, 2)
	_, queries, written := writtenSmallGraph(t)
	onHeap, err := Read(bytes.NewReader(written))
	if err != nil {
		t.Fatal(err)
	}
	if st := onHeap.Stats(); st.PoolBytes != 0 {
		t.Fatalf("read without HugeTLB: PoolBytes %d, want 0", st.PoolBytes)
	}
	pooltest.Settle(t)
	held := pooltest.Held(t)
	pooled := readPool(t, written)
	if got := pooltest.Held(t) - held; got < hugepages.Size {
		t.Fatalf("the process maps %d more bytes of hugetlb pages after the read, want at least one page", got)
	}

	const dim, k = 8, 10
	want := searchAll(t, onHeap, queries, dim, k)
	if diff := cmp.Diff(want, searchAll(t, pooled, queries, dim, k)); diff != "" {
		t.Fatalf("searches of the index on the pool differ from the heap's (-heap +pool):\n%s", diff)
	}
	for id := range uint32(300) {
		a, okA := onHeap.Vector(id)
		b, okB := pooled.Vector(id)
		if okA != okB || !slices.Equal(a, b) {
			t.Fatalf("Vector(%d): pool %v %v, heap %v %v", id, b, okB, a, okA)
		}
	}

	// A write moves layer 0 to the heap: the pool's mapping is exactly
	// the layer read.
	v := clustered(1, dim, 5, 1234)
	if err := pooled.Add(5000, v); err != nil {
		t.Fatal(err)
	}
	if st := pooled.Stats(); st.PoolBytes != 0 {
		t.Errorf("after Add: PoolBytes %d, want 0 (layer 0 grown onto the heap)", st.PoolBytes)
	}
	rs, err := pooled.Search(v, 1, nil)
	if err != nil || len(rs) != 1 || rs[0].ID != 5000 {
		t.Errorf("Search for the added vector = %v, %v; want id 5000 first", rs, err)
	}
	if diff := cmp.Diff(want, searchAll(t, onHeap, queries, dim, k)); diff != "" {
		t.Fatalf("the heap index changed:\n%s", diff)
	}
}

// The pool's pages go back once the index is unreachable.
func TestHugeTLBFreedWhenUnreachable(t *testing.T) {
	pooltest.Require(t, 2)
	_, _, written := writtenSmallGraph(t)
	pooltest.Settle(t)
	held := pooltest.Held(t)
	pooled := readPool(t, written)
	if pooltest.Held(t) <= held {
		t.Fatal("the read mapped no hugetlb pages")
	}
	runtime.KeepAlive(pooled)
	pooled = nil
	pooltest.CollectUntil(t, held, "after the index became unreachable")
}

// Searches run while the index they search is swapped for another and
// collected, as a server's reloads do: each search keeps the mapping it
// reads alive until it returns (an unmapped read would crash the test).
func TestHugeTLBSearchesDuringSwaps(t *testing.T) {
	pooltest.Require(t, 4)
	g, queries, written := writtenSmallGraph(t)
	const dim, k = 8, 10
	want := searchAll(t, g, queries, dim, k)
	var cur atomic.Pointer[HNSW]
	cur.Store(readPool(t, written))
	var stop atomic.Bool
	var wg sync.WaitGroup
	var mismatches atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			dst := make([]Result, 0, k)
			for i := w; !stop.Load(); i++ {
				q := i % len(want)
				var err error
				dst, err = cur.Load().SearchInto(dst, queries[q*dim:(q+1)*dim], k, nil, 0)
				if err != nil || !cmp.Equal(dst, want[q]) {
					mismatches.Add(1)
				}
			}
		})
	}
	swaps := 20
	if testing.Short() {
		swaps = 8
	}
	for range swaps {
		cur.Store(readPool(t, written))
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if n := mismatches.Load(); n > 0 {
		t.Errorf("%d searches during the swaps differ from the written index's", n)
	}
}
