package storage_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// BenchmarkStagedInteractionLog: an interaction log (300,000 rows, 20,000
// users) into a catalogue of 20,000 tracks, in memory and staged (an 8 MiB
// write buffer). The staged case guards copyBucket's commit of the copy:
// a flush into an uncommitted copy inserts into one node that holds the
// whole copy, shifting it at every put.
func BenchmarkStagedInteractionLog(b *testing.B) {
	for _, writeBuffer := range []int{-1, 8 << 20} { // never staged, staged
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
