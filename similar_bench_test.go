package soundalike_test

import (
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike"
)

// BenchmarkSimilar is the library's query path (snapshot, search, filter,
// results with their tracks) on the search tests' fixture of 20,000
// synthetic tracks, for the tracks in turn.
func BenchmarkSimilar(b *testing.B) {
	ctx := b.Context()
	eng, tracks := fixture(b, filepath.Join(b.TempDir(), "bench.db"), 20_000)
	if _, err := eng.Similar(ctx, tracks[0].ID, 1, nil); err != nil { // loads the snapshot
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		k    int
		opts *soundalike.SearchOptions
	}{
		{"k=20", 20, nil},
		{"k=100", 100, nil},
		{"k=20/exclude_artist", 20, &soundalike.SearchOptions{ExcludeArtist: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := eng.Similar(ctx, tracks[i%len(tracks)].ID, bc.k, bc.opts); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	b.Run("seeds/k=20", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			q := soundalike.Query{Tracks: []soundalike.TrackID{tracks[i%len(tracks)].ID, tracks[(i+7)%len(tracks)].ID}}
			if _, err := eng.SimilarTo(ctx, q, 20, nil); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
