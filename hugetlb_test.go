package soundalike_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/hugepages/pooltest"
)

// poolFixture writes fixture's 300 tracks with their model and index to a
// new file and returns its path.
func poolFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pool.db")
	writer, _ := fixture(t, path, 300)
	writer.Close()
	return path
}

// openDetached opens path as a Detached engine, with Options.HugeTLB set
// to huge, closed when t ends.
func openDetached(t *testing.T, path string, huge bool) *soundalike.Engine {
	t.Helper()
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true, HugeTLB: huge})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// reindexAndReload writes a new index into path, as another process's
// reindex does, and reloads each engine onto it.
func reindexAndReload(t *testing.T, path string, engs ...*soundalike.Engine) {
	t.Helper()
	writer, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Reindex(t.Context(), &soundalike.ReindexOptions{Full: true}); err != nil {
		writer.Close()
		t.Fatal(err)
	}
	writer.Close()
	for _, eng := range engs {
		if changed, err := eng.Reload(t.Context()); err != nil || !changed {
			t.Fatalf("Reload after a reindex = %v, %v; want a new snapshot", changed, err)
		}
	}
}

// An engine with Options.HugeTLB serves its index from the hugetlb pool
// and answers as one with the index on the heap, through a reload too.
func TestHugeTLBServesTheSameAnswers(t *testing.T) {
	pooltest.Require(t, 4)
	ctx := t.Context()
	path := poolFixture(t)
	onHeap, pooled := openDetached(t, path, false), openDetached(t, path, true)
	if st := onHeap.Stats(); st.HugeTLB != 0 {
		t.Errorf("without HugeTLB: Stats.HugeTLB %d, want 0", st.HugeTLB)
	}
	if st := pooled.Stats(); st.HugeTLB == 0 {
		t.Fatalf("with HugeTLB and a pool with room: Stats.HugeTLB 0, want the index's layer 0")
	}
	same := func(when string) {
		t.Helper()
		for _, id := range []soundalike.TrackID{"t0005", "t0042", "t0100", "t0299"} {
			want, err := onHeap.Similar(ctx, id, 20, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pooled.Similar(ctx, id, 20, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Neighbors, got.Neighbors); diff != "" {
				t.Errorf("%s: Similar(%s) from the pool differs from the heap's (-heap +pool):\n%s", when, id, diff)
			}
		}
	}
	same("after open")

	// A new index: the reload reads it onto the pool too.
	reindexAndReload(t, path, onHeap, pooled)
	if st := pooled.Stats(); st.HugeTLB == 0 {
		t.Errorf("after the reload: Stats.HugeTLB 0, want the new index's layer 0")
	}
	same("after a reload")
}

// A reload gives the old snapshot's hugetlb pages back once the collector
// finds it unreachable: the engine keeps nothing of a snapshot it no longer
// serves, so the room for two that Options.HugeTLB asks for is needed only
// around the swap.
func TestHugeTLBReloadGivesThePoolBack(t *testing.T) {
	pooltest.Require(t, 4)
	path := poolFixture(t)
	pooltest.Settle(t)
	eng := openDetached(t, path, true)
	held := pooltest.Held(t)
	if held == 0 {
		t.Fatal("the open mapped no hugetlb pages")
	}
	reindexAndReload(t, path, eng)
	if st := eng.Stats(); st.HugeTLB == 0 {
		t.Fatal("after the reload: Stats.HugeTLB 0, want the new index on the pool")
	}
	pooltest.CollectUntil(t, held, "after the reload (the old snapshot is still reachable)")
	if _, err := eng.Similar(t.Context(), "t0042", 10, nil); err != nil {
		t.Fatalf("Similar after the old pages went back: %v", err)
	}
}
