package trainer

import (
	"fmt"
	"math"
	"slices"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
)

// encodingFor is how each known raw input is encoded. Key is a pitch class
// (11 is next to 0), mode is binary, the mostly-near-zero features are
// log-scaled, and the ranges clip the outliers real data has (tempo 0,
// loudness above 0 dB, centuries-old release dates).
func encodingFor(name string) embedder.Input {
	in := embedder.Input{Name: name}
	switch name {
	case "key":
		in.Encoding, in.Param = embedder.Cyclic, 12
	case "mode":
		in.Encoding = embedder.Binary
	case "acousticness", "liveness", "speechiness":
		in.Encoding, in.Param = embedder.Log, 0.01
	case "instrumentalness":
		in.Encoding, in.Param = embedder.Log, 0.001
	case "loudness":
		in.Min, in.Max = -60, 5
	case "tempo":
		in.Min, in.Max = 40, 240
	case soundalike.InputDurationMS:
		in.Encoding, in.Param = embedder.Log, 1
		in.Min, in.Max = 10_000, 1_800_000
	case soundalike.InputReleaseYear:
		in.Min, in.Max = 1900, 2035
	}
	return in
}

// extraInputs are the content columns FeaturesAuto adds when at least
// minCoverage of the tracks have them.
var extraInputs = []string{soundalike.InputDurationMS, soundalike.InputReleaseYear, soundalike.InputPopularity}

const minCoverage = 0.5

// chooseInputs picks the raw inputs for the feature set and fits each one's
// missing-value rule on the catalogue: a missing value becomes the median
// of the known ones, and an indicator column is added when any track lacks
// the value. It returns the inputs and every track's raw values.
func chooseInputs(tracks []soundalike.Track, features string) ([]embedder.Input, []float32, []string, error) {
	names := slices.Clone(soundalike.FeatureNames())
	var notes []string
	if features == FeaturesAuto {
		for _, n := range extraInputs {
			known := 0
			var buf [1]float32
			for i := range tracks {
				v, _ := soundalike.RawInputs(&tracks[i], []string{n}, buf[:0])
				if !math.IsNaN(float64(v[0])) {
					known++
				}
			}
			cov := float64(known) / float64(len(tracks))
			if cov >= minCoverage {
				names = append(names, n)
			} else {
				notes = append(notes, fmt.Sprintf("features: %s left out: only %.0f%% of tracks have it", n, 100*cov))
			}
		}
	}
	ni := len(names)
	raw := make([]float32, 0, len(tracks)*ni)
	for i := range tracks {
		v, err := soundalike.RawInputs(&tracks[i], names, raw[len(raw):len(raw):cap(raw)])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("track %s: %w", tracks[i].ID, err)
		}
		raw = raw[:len(raw)+len(v)]
	}
	inputs := make([]embedder.Input, ni)
	col := make([]float64, 0, len(tracks))
	for j, n := range names {
		in := encodingFor(n)
		col = col[:0]
		for i := range tracks {
			if v := raw[i*ni+j]; !math.IsNaN(float64(v)) {
				col = append(col, float64(v))
			}
		}
		if len(col) < len(tracks) {
			in.Indicator = true
			notes = append(notes, fmt.Sprintf("features: %s missing for %d of %d tracks: imputed with the median, plus a missing-value indicator", n, len(tracks)-len(col), len(tracks)))
		}
		if len(col) > 0 {
			slices.Sort(col)
			in.Impute = float32(col[len(col)/2])
		}
		if n == "key" {
			in.Impute = 0
		}
		inputs[j] = in
	}
	return inputs, raw, notes, nil
}
