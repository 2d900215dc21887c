package soundalike

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleTrack() Track {
	return Track{
		ID: "6f807x0ima9a1j3VPbc7VN",
		Features: Features{Acousticness: 0.0102, Danceability: 0.748, Energy: 0.916, Instrumentalness: 0,
			Key: 6, Liveness: 0.0653, Loudness: -2.634, Mode: 1, Speechiness: 0.0583, Tempo: 122.036, Valence: 0.518},
		Name: "I Don't Care (with Justin Bieber) - Loud Luxury Remix", Artists: []string{"Ed Sheeran", "Justin Bieber"},
		Album: "I Don't Care (with Justin Bieber) [Loud Luxury Remix]", Popularity: 66, DurationMS: 194754,
		ReleaseDate: "2019-06-14", Genres: []string{"pop"}, Subgenres: []string{"dance pop"}, SpotifyID: "x",
	}
}

func TestTrackCodecRoundTrip(t *testing.T) {
	for _, tr := range []Track{sampleTrack(), {ID: "min"}, {ID: "neg", Features: Features{Key: -1, Loudness: -60.5}}} {
		b := encodeTrack(nil, &tr)
		var got Track
		got.ID = tr.ID
		if err := decodeTrack(b, &got); err != nil {
			t.Fatalf("decode(%s): %v", tr.ID, err)
		}
		if diff := cmp.Diff(tr, got); diff != "" {
			t.Errorf("round trip of %s (-want +got):\n%s", tr.ID, diff)
		}
	}
}

func TestTrackCodecCorrupt(t *testing.T) {
	tr := sampleTrack()
	b := encodeTrack(nil, &tr)
	for i := range len(b) {
		var got Track
		if err := decodeTrack(b[:i], &got); err == nil {
			t.Errorf("decode of %d/%d bytes succeeded", i, len(b))
		}
	}
	b2 := append([]byte{}, b...)
	b2[0] = 9
	if err := decodeTrack(b2, new(Track)); err == nil {
		t.Error("decode of unknown version succeeded")
	}
}

func FuzzTrackCodec(f *testing.F) {
	tr := sampleTrack()
	f.Add(encodeTrack(nil, &tr))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Track
		if err := decodeTrack(b, &got); err != nil {
			return
		}
		again := encodeTrack(nil, &got)
		var got2 Track
		if err := decodeTrack(again, &got2); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		// NaN != NaN, so compare encodings.
		if string(encodeTrack(nil, &got2)) != string(again) {
			t.Fatal("encoding not stable")
		}
	})
}
