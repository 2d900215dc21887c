package soundalike_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
)

// TestSaveModelVersionAndPromote: a version saved without becoming current
// leaves the current model alone until PromoteModel, which also rolls back.
func TestSaveModelVersionAndPromote(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
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
	if _, changed, err := eng.PromoteModel(ctx, "v2"); err != nil || !changed {
		t.Fatalf("promote v2 = changed %v, %v; want a change", changed, err)
	}
	if _, changed, err := eng.PromoteModel(ctx, "v2"); err != nil || changed {
		t.Fatalf("promote v2 again = changed %v, %v; want no change", changed, err)
	}
	if m, info, err := eng.LoadModel(ctx, ""); err != nil || info.Version != "v2" || m.Dim() != 16 {
		t.Fatalf("after promote v2: %s (dim %d), %v", info.Version, m.Dim(), err)
	}
	if _, _, err := eng.PromoteModel(ctx, "1"); err != nil || current() != "v1" {
		t.Fatalf("rollback to v1: %v, current %s", err, current())
	}
	if _, _, err := eng.PromoteModel(ctx, "v9"); !errors.Is(err, soundalike.ErrNoModel) {
		t.Fatalf("promote v9: %v, want ErrNoModel", err)
	}
	if v := current(); v != "v1" {
		t.Fatalf("a failed promote changed the current model to %s", v)
	}
}

// lineModel is a model reading the named inputs with one dense layer of
// dim outputs, every weight w and every bias b.
func lineModel(t *testing.T, names []string, dim int, w, b float32) *embedder.Model {
	t.Helper()
	inputs := make([]embedder.Input, len(names))
	mean := make([]float32, len(names))
	std := make([]float32, len(names))
	for i, n := range names {
		inputs[i], std[i] = embedder.Input{Name: n}, 1
	}
	l := embedder.Layer{In: len(names), Out: dim, W: make([]float32, len(names)*dim), B: make([]float32, dim)}
	for i := range l.W {
		l.W[i] = w
	}
	for i := range l.B {
		l.B[i] = b
	}
	m, err := embedder.New(inputs, mean, std, []embedder.Layer{l}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSaveModelRefuses: SaveModel refuses, with an error that names the
// problem, what the engine could store but never use, and stores nothing
// beside the usable model saved first.
func TestSaveModelRefuses(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	good := lineModel(t, []string{"energy", "tempo"}, 8, 0.1, 0.1)
	if _, err := eng.SaveModel(ctx, good, soundalike.ModelRun{Config: []byte(`{"epochs":1}`)}); err != nil {
		t.Fatalf("SaveModel(usable model) = %v", err)
	}
	tests := []struct {
		name  string
		model *embedder.Model
		run   soundalike.ModelRun
		want  []string // substrings of the error
	}{
		{"nil", nil, soundalike.ModelRun{}, []string{"nil"}},
		{"zero Model", &embedder.Model{}, soundalike.ModelRun{}, []string{"empty", "embedder.New"}},
		{"unknown input", lineModel(t, []string{"energy", "bogus"}, 8, 0.1, 0.1), soundalike.ModelRun{}, []string{`"bogus"`, "energy", "duration_ms", "artist_1..artist_8"}},
		{"all-zero layer", lineModel(t, []string{"energy", "tempo"}, 8, 0, 0), soundalike.ModelRun{}, []string{"cannot be normalised"}},
		{"overflowing weights", lineModel(t, []string{"energy", "tempo"}, 8, 3e38, 0), soundalike.ModelRun{}, []string{"cannot be normalised"}},
		{"bad config", good, soundalike.ModelRun{Config: []byte("{not json")}, []string{"ModelRun.Config", "JSON"}},
		{"bad history", good, soundalike.ModelRun{History: []byte("[1,")}, []string{"ModelRun.History"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := eng.SaveModel(ctx, tt.model, tt.run)
			if err == nil {
				t.Fatalf("SaveModel = nil error, want one naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("SaveModel = %v, want it to mention %q", err, w)
				}
			}
			if vs, err := eng.Models(ctx); err != nil || len(vs) != 1 || !vs[0].Current {
				t.Errorf("Models after a refused save = %v, %v; want v1 alone, current", vs, err)
			}
		})
	}
}

// TestReindexNamesTrackTheModelCannotEmbed: a model that embeds the empty
// track (so SaveModel takes it) but overflows on a real one fails the
// reindex with an error naming that track, and a query for it fails
// naming the model, rather than indexing or searching with NaN.
func TestReindexNamesTrackTheModelCannotEmbed(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	slow, fast := track("slow", 0.5), track("fast", 0.5)
	slow.Features.Tempo, fast.Features.Tempo = 0, 120
	if err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, tr := range []*soundalike.Track{slow, fast} {
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// tempo·1e37 is finite at tempo 0 and overflows at 120.
	m := lineModel(t, []string{"tempo"}, 4, 1e37, 0.1)
	if _, err := eng.SaveModel(ctx, m, soundalike.ModelRun{}); err != nil {
		t.Fatalf("SaveModel = %v, want the model taken (it embeds the empty track)", err)
	}
	_, err := eng.Reindex(ctx, nil)
	if !errors.Is(err, embedder.ErrDegenerate) || !strings.Contains(err.Error(), `track "fast":`) || !strings.Contains(err.Error(), "model v1") {
		t.Fatalf("Reindex = %v, want ErrDegenerate naming track fast and model v1", err)
	}
	if st, err := eng.IndexState(ctx); !errors.Is(err, soundalike.ErrNoIndex) {
		t.Errorf("IndexState after the failed reindex = %+v, %v; want ErrNoIndex", st, err)
	}
	if _, err := eng.Embed(fast); !errors.Is(err, embedder.ErrDegenerate) || !strings.Contains(err.Error(), "model v1") {
		t.Errorf("Embed(fast) = %v, want ErrDegenerate naming model v1", err)
	}
	if v, err := eng.Embed(slow); err != nil || len(v) != 4 {
		t.Errorf("Embed(slow) = %v, %v; want a 4-d vector", v, err)
	}
}

// TestReindexQuotesTheTrackItCannotEmbed: the reindex's error quotes the
// id of the track the model cannot embed, so that an id with spaces,
// colons or control characters reads as one id, and `soundalike reindex`,
// which prints the error as it is, writes no escape sequence of the
// catalogue's to the terminal.
func TestReindexQuotesTheTrackItCannotEmbed(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	const id = "fast: one\x1b[2J"
	tr := track(id, 0.5)
	if err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(tr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// tempo·1e37 overflows at the track's tempo, 120.
	if _, err := eng.SaveModel(ctx, lineModel(t, []string{"tempo"}, 4, 1e37, 0.1), soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	_, err := eng.Reindex(ctx, nil)
	if !errors.Is(err, embedder.ErrDegenerate) || !strings.Contains(err.Error(), `track "fast: one\x1b[2J": model v1`) || strings.ContainsRune(err.Error(), 0x1b) {
		t.Fatalf("Reindex = %q, want ErrDegenerate naming the track quoted, with no ESC byte", err)
	}
}

// TestPromoteModelNeedsADatabase: promoting a model at a path that holds
// no database is ErrNoDatabase naming the path, and lays no file out
// there (a mistyped --db), as Reindex does.
func TestPromoteModelNeedsADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	eng, err := soundalike.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, _, err := eng.PromoteModel(t.Context(), "v1"); !errors.Is(err, soundalike.ErrNoDatabase) || !strings.Contains(err.Error(), path) {
		t.Errorf("PromoteModel at a missing path = %v, want ErrNoDatabase naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after PromoteModel at a missing path: stat = %v, want no file", err)
	}
}

// Given a model version in each form the command line takes (vN, VN, N,
// leading zeros) and "" or "current", expect its number; given anything
// else, expect an error quoting it and listing the forms.
func TestParseModelVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{{"v3", 3}, {"V3", 3}, {"3", 3}, {"v012", 12}, {"", 0}, {"current", 0}} {
		if got, err := soundalike.ParseModelVersion(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseModelVersion(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"v0", "0", "vv1", "+1", "v-1", " 1", "1 ", "v", "V", "x1", "Current", "v1.5"} {
		_, err := soundalike.ParseModelVersion(in)
		if err == nil || !strings.Contains(err.Error(), `"`+in+`"`) || !strings.Contains(err.Error(), soundalike.ModelVersionForms) {
			t.Errorf("ParseModelVersion(%q) = %v, want an error quoting it and listing %s", in, err, soundalike.ModelVersionForms)
		}
	}
}
