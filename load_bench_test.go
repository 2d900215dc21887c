package soundalike_test

import (
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike"
)

// BenchmarkReload is what a serving process pays to load a database: the
// catalogue decoded and hashed, the index and the model read (Engine.Reload
// on a read-only engine), here for 50,000 synthetic tracks (the search
// tests' fixture). At 1M the same path takes seconds (docs/benchmarks.md).
func BenchmarkReload(b *testing.B) {
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "load.db")
	eng, _ := fixture(b, path, 50_000)
	want := eng.Stats()
	eng.Close()
	for b.Loop() {
		eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Reload(ctx); err != nil {
			b.Fatal(err)
		}
		if st := eng.Stats(); st.Tracks != want.Tracks || st.Indexed != want.Indexed || st.Generation != want.Generation || st.ModelVersion != want.ModelVersion {
			b.Fatalf("loaded %+v, want what was written: %+v", st, want)
		}
		eng.Close()
	}
	b.ReportMetric(float64(want.Tracks)*float64(b.N)/b.Elapsed().Seconds(), "tracks/s")
}
