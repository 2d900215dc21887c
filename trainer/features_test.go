package trainer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
)

// Given tracks of which some have popularity 0, key -1, no duration or no
// release date, when the inputs are chosen, expect each note to say what
// those tracks hold in the file, and how the value is imputed: "popularity
// missing" sent users to a file that has a 0 there, and key was said to
// take the median while it takes 0.
func TestChooseInputsNotesUnknownValues(t *testing.T) {
	tracks := make([]soundalike.Track, 10)
	for i := range tracks {
		tracks[i] = soundalike.Track{
			ID:          soundalike.TrackID(rune('a' + i)),
			Features:    soundalike.Features{Key: i % 12, Mode: 1, Tempo: 120, Loudness: -5},
			Popularity:  50 + i,
			DurationMS:  200_000,
			ReleaseDate: "2019-06-14",
		}
	}
	tracks[0].Popularity, tracks[1].Popularity = 0, 0
	tracks[2].Features.Key = -1
	tracks[3].DurationMS = 0
	tracks[4].ReleaseDate = ""
	cfg := DefaultConfig()
	cfg.Features = FeaturesAudioExtras
	fs, err := chooseInputs(tracks, &cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"features: popularity 0 or empty (0 is unknown in Spotify's data) for 2 of 10 tracks: imputed with the median, plus a missing-value indicator",
		"features: key -1 (no key detected) for 1 of 10 tracks: imputed as 0, plus a missing-value indicator",
		"features: duration_ms 0 or empty for 1 of 10 tracks: imputed with the median, plus a missing-value indicator",
		"features: release_year unknown (no release date) for 1 of 10 tracks: imputed with the median, plus a missing-value indicator",
	} {
		if !slices.Contains(fs.notes, want) {
			t.Errorf("notes:\n%s\nwant %q", strings.Join(fs.notes, "\n"), want)
		}
	}
}
