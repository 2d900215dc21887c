package soundalike_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/hugepages/pooltest"
)

// An engine with Options.HugeTLB serves its index from the hugetlb pool
// and answers as one with the index on the heap, through a reload too.
func TestHugeTLBServesTheSameAnswers(t *testing.T) {
	pooltest.Require(t, 4)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "pool.db")
	writer, _ := fixture(t, path, 300)
	writer.Close()
	open := func(huge bool) *soundalike.Engine {
		t.Helper()
		eng, err := soundalike.Open(path, &soundalike.Options{Detached: true, HugeTLB: huge})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() })
		return eng
	}
	onHeap, pooled := open(false), open(true)
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
	writer, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Reindex(ctx, &soundalike.ReindexOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	for _, eng := range []*soundalike.Engine{onHeap, pooled} {
		if changed, err := eng.Reload(ctx); err != nil || !changed {
			t.Fatalf("Reload after a reindex = %v, %v; want a new snapshot", changed, err)
		}
	}
	if st := pooled.Stats(); st.HugeTLB == 0 {
		t.Errorf("after the reload: Stats.HugeTLB 0, want the new index's layer 0")
	}
	same("after a reload")
}
