package soundalike_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike"
)

// TestSaveModelVersionAndPromote: a version saved without becoming current
// leaves the current model alone until PromoteModel, which also rolls back.
func TestSaveModelVersionAndPromote(t *testing.T) {
	ctx := t.Context()
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "m.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	current := func() string {
		t.Helper()
		_, info, err := eng.LoadModel(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return info.Version
	}
	// The first model is current even when saved aside: there is no other.
	if _, err := eng.SaveModelVersion(ctx, randomModel(t, 8), soundalike.ModelRun{}, false); err != nil {
		t.Fatal(err)
	}
	if v := current(); v != "v1" {
		t.Fatalf("current after the first save = %s, want v1", v)
	}
	info, err := eng.SaveModelVersion(ctx, randomModel(t, 16), soundalike.ModelRun{}, false)
	if err != nil || info.Version != "v2" {
		t.Fatalf("second save = %v, %v", info.Version, err)
	}
	if v := current(); v != "v1" {
		t.Fatalf("current after saving v2 aside = %s, want v1", v)
	}
	if _, err := eng.PromoteModel(ctx, "v2"); err != nil {
		t.Fatal(err)
	}
	if m, info, err := eng.LoadModel(ctx, ""); err != nil || info.Version != "v2" || m.Dim() != 16 {
		t.Fatalf("after promote v2: %s (dim %d), %v", info.Version, m.Dim(), err)
	}
	if _, err := eng.PromoteModel(ctx, "1"); err != nil || current() != "v1" {
		t.Fatalf("rollback to v1: %v, current %s", err, current())
	}
	if _, err := eng.PromoteModel(ctx, "v9"); !errors.Is(err, soundalike.ErrNoModel) {
		t.Fatalf("promote v9: %v, want ErrNoModel", err)
	}
	if v := current(); v != "v1" {
		t.Fatalf("a failed promote changed the current model to %s", v)
	}
}
