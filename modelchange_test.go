package soundalike_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike"
)

// emptySource is a VectorSource holding no vectors: enough for an engine
// to serve through a source, which this test does not query.
type emptySource struct{}

func (emptySource) Nearest(context.Context, string, []float32, int, *soundalike.Filter) ([]soundalike.Neighbor, error) {
	return nil, nil
}
func (emptySource) Ready(context.Context, string) error { return nil }

// TestNewModelKeepsASourcesSnapshot: an engine serving through a vector
// source has an index (the source's, of the model that built it), so a
// new current model does not reload its snapshot, as it does not for an
// engine with a local index.
func TestNewModelKeepsASourcesSnapshot(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "src.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, id := range []string{"a", "b", "c"} {
			if _, _, err := tx.PutTrack(track(id, 0.5)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveModel(ctx, randomModel(t, 16), soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	eng.Close()

	eng, err = soundalike.Open(path, &soundalike.Options{NoSync: true, VectorSource: emptySource{}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	before := eng.Stats()
	if _, err := eng.SaveModel(ctx, randomModel(t, 16), soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	if after := eng.Stats(); !after.Loaded.Equal(before.Loaded) || after.ModelVersion != before.ModelVersion {
		t.Errorf("a new model reloaded the snapshot served through a source: loaded %v then %v, model %s then %s",
			before.Loaded, after.Loaded, before.ModelVersion, after.ModelVersion)
	}
}

// TestPromoteCurrentModelWritesNothing: promoting the model that is
// already current commits nothing, so a server on the file has no new
// generation to reload.
func TestPromoteCurrentModelWritesNothing(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "promote.db")
	w, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Import(ctx, func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(track("a", 0.5))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SaveModel(ctx, randomModel(t, 16), soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	server, err := soundalike.Open(path, &soundalike.Options{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if _, err := server.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := w.PromoteModel(ctx, "v1"); err != nil || changed {
		t.Fatalf("PromoteModel(v1) of the current v1 = changed %v, %v", changed, err)
	}
	if changed, err := server.Reload(ctx); err != nil || changed {
		t.Errorf("a server's Reload after promoting the current model = changed %v, %v; want nothing new", changed, err)
	}
}
