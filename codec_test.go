package soundalike

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/audotics/soundalike/storage"
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

// TestTrackCodecCorrupt: a record cut short, or of another record
// version, does not decode; the error is damage, one sentence saying
// what is wrong with the record and then, once, the repair.
func TestTrackCodecCorrupt(t *testing.T) {
	tr := sampleTrack()
	b := encodeTrack(nil, &tr)
	const short = "database file is damaged: corrupt track record (its fields do not decode); importing the track again replaces it"
	for i := range len(b) {
		var got Track
		if err := decodeTrack(b[:i], &got); err == nil || !errors.Is(err, storage.ErrDamaged) || err.Error() != short {
			t.Errorf("decode of %d/%d bytes = %v, want %q", i, len(b), err, short)
		}
	}
	b2 := append([]byte{}, b...)
	b2[0] = 9
	const version = "database file is damaged: corrupt track record (record version 9, where the schema has 1); importing the track again replaces it"
	if err := decodeTrack(b2, new(Track)); err == nil || !errors.Is(err, storage.ErrDamaged) || err.Error() != version {
		t.Errorf("decode of an unknown version = %v, want %q", err, version)
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

// validRoundTrip fails t unless tr, when Validate accepts it, encodes and
// decodes to itself: Validate must refuse what the record cannot hold.
func validRoundTrip(t *testing.T, tr *Track) {
	t.Helper()
	if tr.Validate() != nil {
		return
	}
	var got Track
	got.ID = tr.ID
	if err := decodeTrack(encodeTrack(nil, tr), &got); err != nil {
		t.Fatalf("Validate accepts %.80v, but its record does not decode: %v", *tr, err)
	}
	if diff := cmp.Diff(*tr, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("round trip of a track Validate accepts (-want +got):\n%s", diff)
	}
}

// TestValidTracksRoundTrip: every track Validate accepts is stored and read
// back unchanged, at and beyond each bound of Validate.
func TestValidTracksRoundTrip(t *testing.T) {
	long := strings.Repeat("x", MaxTextLen)
	many := make([]string, MaxListLen)
	for _, tr := range []Track{
		{ID: "d", DurationMS: MaxDurationMS}, {ID: "d", DurationMS: MaxDurationMS + 1},
		{ID: "d", DurationMS: 1 << 62}, {ID: "d", DurationMS: 3000000000},
		{ID: "p", Popularity: 100}, {ID: "p", Popularity: 1 << 40},
		{ID: "s", Name: long, Album: long, SpotifyID: long, Artists: []string{long}},
		{ID: "l", Artists: many, Genres: many, Subgenres: many},
		{ID: "l", Genres: append(many, "one more")},
	} {
		validRoundTrip(t, &tr)
	}
	for _, tr := range []Track{{ID: "d", DurationMS: MaxDurationMS + 1}, {ID: "d", DurationMS: -1},
		{ID: "s", Name: long + "x"}, {ID: "l", Genres: append(many, "one more")}} {
		if tr.Validate() == nil {
			t.Errorf("Validate(%.60v) = nil, want an error", tr)
		}
	}
}

// FuzzValidTrackRoundTrip: a track Validate accepts, built from any
// values, round-trips through the record codec.
func FuzzValidTrackRoundTrip(f *testing.F) {
	f.Add("n", "a", 0.5, 120.0, 66, int64(194754), "2019-06-14", "g", 1)
	f.Add("n", "a", 0.5, 120.0, 0, int64(1)<<62, "", "", 0)
	f.Add("\xff", "\x00", 0.0, 0.0, 100, int64(3000000000), "2019", "", 70000)
	f.Fuzz(func(t *testing.T, name, artist string, energy, tempo float64, pop int, dur int64, date, genre string, nArtists int) {
		artists := make([]string, min(max(nArtists, 0), 2*MaxListLen))
		for i := range artists {
			artists[i] = artist
		}
		tr := Track{ID: "f", Name: name, Artists: artists, Album: name, Popularity: pop, DurationMS: int(dur),
			ReleaseDate: date, Genres: []string{genre}, SpotifyID: artist,
			Features: Features{Energy: energy, Tempo: tempo}}
		validRoundTrip(t, &tr)
	})
}
