package storage_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// BenchmarkStagedInteractionLog: an interaction log (300,000 rows, 20,000
// users) into a catalogue of 20,000 tracks, in memory and staged (8 MiB of
// buffers: it stages after about 70,000 rows). A staged flush that
// inserted before an uncommitted copy of the bucket (one node, shifted at
// every put) took 5.9 s here instead of 2.1.
func BenchmarkStagedInteractionLog(b *testing.B) {
	for _, writeBuffer := range []int{-1, 8 << 20} {
		b.Run(fmt.Sprintf("WriteBuffer=%d", writeBuffer), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db, err := storage.Open(filepath.Join(b.TempDir(), "p.db"), &storage.Options{NoSync: true, WriteBuffer: writeBuffer})
				if err != nil {
					b.Fatal(err)
				}
				err = db.Update(func(tx *storage.Tx) error {
					for i := range 20000 {
						id := fmt.Sprintf("track%017d", i)
						if _, _, _, err := tx.PutTrack(id, []byte("features")); err != nil {
							return err
						}
						if _, err := tx.PutInteraction(fmt.Sprintf("playlist%014d", i%377), id, "play", 0); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(1, 1))
				b.StartTimer()
				err = db.Update(func(tx *storage.Tx) error {
					for i := range 300000 {
						id := fmt.Sprintf("track%017d", rng.IntN(20000))
						if _, err := tx.PutInteraction(fmt.Sprintf("u%d", rng.IntN(20000)), id, "play", int64(i)); err != nil {
							return err
						}
					}
					return nil
				})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(300000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
