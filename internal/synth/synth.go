// Package synth makes synthetic catalogues and models for benchmarks at
// scales the real data does not reach (1M tracks). Features are drawn per
// feature in Spotify's ranges with roughly Spotify-like shapes; the model is
// a randomly initialised MLP of the default architecture, so embedding and
// indexing cost what they cost in production.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
)

// Track fills t with synthetic track i of the catalogue drawn with seed.
// The same (seed, i) always gives the same track.
func Track(seed uint64, i int, t *soundalike.Track) {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	beta := func(a float64) float64 { return math.Pow(rng.Float64(), a) }
	*t = soundalike.Track{
		ID: soundalike.TrackID(fmt.Sprintf("synth%07d", i)),
		Features: soundalike.Features{
			Acousticness:     beta(3),
			Danceability:     0.3 + 0.6*rng.Float64(),
			Energy:           0.2 + 0.8*rng.Float64(),
			Instrumentalness: beta(8),
			Key:              rng.IntN(12),
			Liveness:         0.02 + 0.5*beta(2),
			Loudness:         -3 - 12*beta(2),
			Mode:             rng.IntN(2),
			Speechiness:      0.02 + 0.4*beta(3),
			Tempo:            70 + 110*rng.Float64(),
			Valence:          rng.Float64(),
		},
		Name:        fmt.Sprintf("Synthetic %d", i),
		Artists:     []string{fmt.Sprintf("Artist %d", i/7)},
		Popularity:  rng.IntN(101),
		DurationMS:  120_000 + rng.IntN(240_000),
		ReleaseDate: fmt.Sprintf("%d", 1960+rng.IntN(61)),
	}
}

// Model returns a randomly initialised MLP over the eleven features plus
// duration, release year and popularity: hidden layers of the given widths
// with ReLU, then a linear layer to dim (the embedder normalises).
func Model(seed uint64, hidden []int, dim int) (*embedder.Model, error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	var inputs []embedder.Input
	for _, n := range soundalike.FeatureNames() {
		in := embedder.Input{Name: n}
		switch n {
		case "key":
			in = embedder.Input{Name: n, Encoding: embedder.Cyclic, Param: 12, Impute: 0, Indicator: true}
		case "mode":
			in.Encoding = embedder.Binary
		}
		inputs = append(inputs, in)
	}
	inputs = append(inputs,
		embedder.Input{Name: soundalike.InputDurationMS, Encoding: embedder.Log, Param: 1, Impute: 210_000, Indicator: true},
		embedder.Input{Name: soundalike.InputReleaseYear, Impute: 2015, Indicator: true},
		embedder.Input{Name: soundalike.InputPopularity, Impute: 40, Indicator: true},
	)
	// Standardise on a sample of the synthetic catalogue, as training does.
	width := embedder.EncodedWidth(inputs)
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = in.Name
	}
	var rows, raw, enc []float32
	var t soundalike.Track
	for i := range 2000 {
		Track(seed, i, &t)
		var err error
		if raw, err = soundalike.RawInputs(&t, names, raw[:0]); err != nil {
			return nil, err
		}
		enc = embedder.Encode(inputs, raw, enc)
		rows = append(rows, enc...)
	}
	mean, std := embedder.FitStandardization(rows, width)
	var layers []embedder.Layer
	in := width
	for i, out := range append(append([]int(nil), hidden...), dim) {
		act := embedder.ReLU
		if i == len(hidden) {
			act = embedder.Identity
		}
		l := embedder.Layer{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out), Activation: act}
		scale := math.Sqrt(2 / float64(in))
		for j := range l.W {
			l.W[j] = float32(rng.NormFloat64() * scale)
		}
		layers = append(layers, l)
		in = out
	}
	return embedder.New(inputs, mean, std, layers, []byte(`{"synthetic":true}`))
}

// SmallTrack returns track i of a small test catalogue drawn from rng:
// id "t%04d", features uniform in their ranges, metadata only a name and
// one of 40 artists (so that artist exclusions leave most tracks).
func SmallTrack(rng *rand.Rand, i int) *soundalike.Track {
	return &soundalike.Track{
		ID: soundalike.TrackID(fmt.Sprintf("t%04d", i)),
		Features: soundalike.Features{
			Acousticness: rng.Float64(), Danceability: rng.Float64(), Energy: rng.Float64(),
			Instrumentalness: rng.Float64() * rng.Float64(), Key: rng.IntN(12), Liveness: rng.Float64(),
			Loudness: -20 * rng.Float64(), Mode: rng.IntN(2), Speechiness: rng.Float64() / 2,
			Tempo: 60 + 120*rng.Float64(), Valence: rng.Float64(),
		},
		Name: fmt.Sprintf("Song %d", i), Artists: []string{fmt.Sprintf("Artist %d", i%40)},
	}
}
