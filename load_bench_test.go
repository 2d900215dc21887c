package soundalike_test

import (
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
)

// BenchmarkReload is what a serving process pays to load a database: the
// catalogue decoded and hashed, the index and the model read (Engine.Reload
// on a read-only engine), here for 50,000 synthetic tracks. At 1M the same
// path takes seconds (docs/benchmarks.md).
func BenchmarkReload(b *testing.B) {
	const n = 50_000
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "load.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		var t soundalike.Track
		for i := range n {
			synth.Track(1, i, &t)
			if _, _, err := tx.PutTrack(&t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	m, err := synth.Model(1, []int{32}, 32)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.SaveModel(ctx, m, soundalike.ModelRun{}); err != nil {
		b.Fatal(err)
	}
	if _, err := eng.Reindex(ctx, nil); err != nil {
		b.Fatal(err)
	}
	eng.Close()
	for b.Loop() {
		eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Reload(ctx); err != nil {
			b.Fatal(err)
		}
		if st := eng.Stats(); st.Tracks != n || st.Indexed != n {
			b.Fatalf("loaded %+v, want %d tracks indexed", st, n)
		}
		eng.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tracks/s")
}
