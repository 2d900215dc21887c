package soundalike_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// importSample imports files into a fresh database opened with opts and
// returns the engine and the summary.
func importSample(t *testing.T, opts *soundalike.Options, files ...string) (*soundalike.Engine, ingest.Summary) {
	t.Helper()
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "s.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng, importFiles(t, eng, files...)
}

// TestStagedImportMatchesInMemory: an import whose buffers are too small
// for it (ImportBuffer 64 KiB: it stages its writes in the file dozens of
// times) stores exactly what an import held in memory stores, and reports
// the same counts.
func TestStagedImportMatchesInMemory(t *testing.T) {
	files := []string{"testdata/spotify_sample.csv", "testdata/plays.csv", "testdata/spotify_sample.csv"}
	mem, memSum := importSample(t, &soundalike.Options{NoSync: true}, files...)
	staged, stagedSum := importSample(t, &soundalike.Options{NoSync: true, ImportBuffer: 64 << 10}, files...)
	if diff := cmp.Diff(memSum, stagedSum, cmp.AllowUnexported(ingest.Summary{})); diff != "" {
		t.Errorf("summary (-in memory +staged):\n%s", diff)
	}
	ctx := context.Background()
	for _, q := range []func(*soundalike.Engine) (any, error){
		func(e *soundalike.Engine) (any, error) { return e.Counts() },
		func(e *soundalike.Engine) (any, error) { return e.Tracks(ctx) },
		func(e *soundalike.Engine) (any, error) { return e.Interactions(ctx, nil) },
	} {
		a, err := q(mem)
		if err != nil {
			t.Fatal(err)
		}
		b, err := q(staged)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("stored data (-in memory +staged):\n%s", diff)
		}
	}
}

// TestStagedImportMemoryIsBounded: with ImportBuffer set, the live heap
// of an import stays flat as its rows grow (three times the rows, less
// than twice the heap plus 1 MiB: the samples land at different points
// of a staged flush), where an import held in memory grows with them.
func TestStagedImportMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 60,000 rows")
	}
	peak := func(buffer, rows int) uint64 {
		eng, err := soundalike.Open(filepath.Join(t.TempDir(), "m.db"), &soundalike.Options{NoSync: true, ImportBuffer: buffer})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		var max uint64
		var ms runtime.MemStats
		err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
			for i := range rows {
				tr := track("t"+itoa(i), 0.5)
				if _, _, err := tx.PutTrack(tr); err != nil {
					return err
				}
				if _, err := tx.PutInteraction(&soundalike.Interaction{User: "u" + itoa(i%500), Track: tr.ID}); err != nil {
					return err
				}
				if i%2000 == 1999 {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					max = maxU(max, ms.HeapAlloc)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return max
	}
	small, staged, inMemory := peak(1<<20, 20000), peak(1<<20, 60000), peak(-1, 60000)
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	t.Logf("live heap during the import: 60,000 rows in memory %.1f MiB; staged with a 1 MiB write buffer: 20,000 rows %.1f MiB, 60,000 rows %.1f MiB",
		mib(inMemory), mib(small), mib(staged))
	if staged*5/2 > inMemory || staged > 2*small+1<<20 {
		t.Errorf("staged import's live heap: %.1f MiB for 60,000 rows, %.1f MiB for 20,000 (in memory: %.1f MiB): want it flat, and a third of the in-memory import's",
			mib(staged), mib(small), mib(inMemory))
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// TestImportBufferTooSmall: a write buffer that would commit every few
// rows is refused, naming the option given (the deprecated ImportMemory
// still counts).
func TestImportBufferTooSmall(t *testing.T) {
	for _, tt := range []struct {
		opts soundalike.Options
		want string
	}{
		{soundalike.Options{ImportBuffer: 100}, "ImportBuffer 100"},
		{soundalike.Options{ImportMemory: 100}, "ImportMemory 100"},
	} {
		_, err := soundalike.Open(filepath.Join(t.TempDir(), "x.db"), &tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%+v) = %v, want an error naming %s", tt.opts, err, tt.want)
		}
	}
}
