package soundalike_test

import (
	"encoding/json"
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

// TestReindexRebuildsWhenTheGraphDisagreesWithItsMetadata: a stored index
// whose metadata says another build shape (M) than its graph holds, as a
// damaged or hand-edited file may, is rebuilt by the next reindex rather
// than updated (which the graph refuses): the reindex succeeds and stores
// a graph of the shape asked for.
func TestReindexRebuildsWhenTheGraphDisagreesWithItsMetadata(t *testing.T) {
	ctx := t.Context()
	eng, _ := fixture(t, filepath.Join(t.TempDir(), "p.db"), 100)
	opts := index.Options{M: 8, EfConstruction: 40}
	if _, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Full: true, Index: opts}); err != nil {
		t.Fatal(err)
	}
	eng.Close()
	rewriteIndexMeta(t, eng.Path(), func(meta map[string]any) { meta["params"].(map[string]any)["m"] = 12 })

	eng, err := soundalike.Open(eng.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	opts.M = 12
	if _, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Index: opts}); err != nil {
		t.Fatalf("Reindex over a graph of M 8 whose metadata says M 12 = %v, want a rebuild", err)
	}
	if got := storedIndexOptions(t, eng.Path()); got.M != 12 {
		t.Errorf("stored index's options = %+v, want M 12", got)
	}
}

// TestReindexRebuildsAGraphOfAnotherDimension: a stored index whose
// metadata names the current model and its dimension while its graph
// holds vectors of another dimension is rebuilt, not added to.
func TestReindexRebuildsAGraphOfAnotherDimension(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "d.db"), 100) // a model of dim 16, indexed
	info, err := eng.SaveModel(ctx, randomModel(t, 8), soundalike.ModelRun{})
	if err != nil {
		t.Fatal(err)
	}
	eng.Close()
	rewriteIndexMeta(t, eng.Path(), func(meta map[string]any) { meta["model"], meta["dim"] = info.Version, 8 })

	eng, err = soundalike.Open(eng.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.Reindex(ctx, nil); err != nil {
		t.Fatalf("Reindex over a graph of dimension 16 whose metadata says 8 = %v, want a rebuild", err)
	}
	// A query of the model's dimension needs an index of it.
	v, err := eng.Embed(tracks[0])
	if err != nil {
		t.Fatal(err)
	}
	if res, err := eng.SimilarTo(ctx, soundalike.Query{Vector: v}, 5, nil); err != nil || len(res.Neighbors) != 5 {
		t.Errorf("SimilarTo(a vector of dimension %d) after the reindex = %d results, %v; want 5 from a rebuilt index", len(v), len(res.Neighbors), err)
	}
}

// rewriteIndexMeta stores the current index of the database at path again
// with its metadata document changed by edit, below the engine.
func rewriteIndexMeta(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	db, err := storage.Open(path, &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var (
		info  storage.IndexInfo
		graph []byte
	)
	err = db.View(func(tx *storage.Tx) error {
		return tx.ReadIndex(func(ii storage.IndexInfo, r io.Reader) (err error) {
			info = ii
			graph, err = io.ReadAll(r)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(info.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	edit(meta)
	b, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteIndex(b, info.CatalogSeq, func(w io.Writer) error { _, err := w.Write(graph); return err }); err != nil {
		t.Fatal(err)
	}
}
