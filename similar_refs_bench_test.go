package soundalike_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike"
)

// BenchmarkSimilarUnknownRefs is a query whose exclusions and filter.ids
// are mostly tracks the catalogue does not hold (deleted since the client
// read them): each is looked up and found missing.
func BenchmarkSimilarUnknownRefs(b *testing.B) {
	ctx := b.Context()
	eng, tracks := fixture(b, filepath.Join(b.TempDir(), "bench.db"), 20_000)
	var gone []soundalike.TrackID
	for i := range 1000 {
		gone = append(gone, soundalike.TrackID(fmt.Sprintf("gone%05d", i)))
	}
	ids := append([]soundalike.TrackID(nil), gone...)
	for _, t := range tracks[:2000] {
		ids = append(ids, t.ID)
	}
	for _, bc := range []struct {
		name string
		opts *soundalike.SearchOptions
	}{
		{"exclude", &soundalike.SearchOptions{Exclude: gone}},
		{"filter.ids", &soundalike.SearchOptions{Filter: &soundalike.Filter{IDs: ids}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := eng.Similar(ctx, tracks[i%len(tracks)].ID, 20, bc.opts); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
