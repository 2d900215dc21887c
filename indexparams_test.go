package soundalike_test

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/storage"
)

// TestIncrementalReindexSavesNewSearchParams: an incremental reindex with a
// new EfSearch and MaxTombstoneRatio updates the previous graph and saves
// it with them, so that the stored index holds one set of parameters, its
// metadata's.
func TestIncrementalReindexSavesNewSearchParams(t *testing.T) {
	ctx := t.Context()
	eng, _ := fixture(t, filepath.Join(t.TempDir(), "p.db"), 100)
	opts := index.Options{M: 8, EfConstruction: 40, EfSearch: 400, MaxTombstoneRatio: 0.5}
	if _, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Full: true, Index: opts}); err != nil {
		t.Fatal(err)
	}
	opts.EfSearch, opts.MaxTombstoneRatio = 2, 0.3
	if sum, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Index: opts}); err != nil || sum.Full {
		t.Fatalf("Reindex with a new EfSearch and MaxTombstoneRatio = %+v, %v; want an incremental update", sum, err)
	}
	if got := storedIndexOptions(t, eng.Path()); got.EfSearch != 2 || got.MaxTombstoneRatio != 0.3 || got.M != 8 {
		t.Errorf("stored index's options = %+v, want EfSearch 2, MaxTombstoneRatio 0.3, M 8", got)
	}
}

// storedIndexOptions reads the current index of the database at path and
// returns its options.
func storedIndexOptions(t *testing.T, path string) index.Options {
	t.Helper()
	db, err := storage.Open(path, &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var o index.Options
	err = db.View(func(tx *storage.Tx) error {
		return tx.ReadIndex(func(_ storage.IndexInfo, r io.Reader) error {
			g, err := index.Read(r)
			if err != nil {
				return err
			}
			o = g.Options()
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}
