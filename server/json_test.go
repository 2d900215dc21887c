package server

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/audotics/soundalike"
)

var trickyStrings = []string{
	"", "plain", `quote " and backslash \`, "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "Ünïcode 歌手 🎵", "line sep \u2028 para \u2029", "bad utf8 \xff\xfe end",
	"truncated \xe6\xad", "\u00e9" + "e\u0301",
}

var trickyFloats = []float64{0, 1, -1, 0.1, -6.5, 1e-7, 1e-6, 9.99e-7, 123456789, 1e20, 1e21, 1e-300, 0.5,
	math.SmallestNonzeroFloat64, math.MaxFloat64, math.MaxFloat32, 1.0 / 3}

func randomResponse(rng *rand.Rand) *SimilarResponse {
	str := func() string { return trickyStrings[rng.IntN(len(trickyStrings))] }
	strs := func() []string {
		n := rng.IntN(4) - 1
		if n < 0 {
			return nil
		}
		s := make([]string, n)
		for i := range s {
			s[i] = str()
		}
		return s
	}
	fl := func() float64 {
		if rng.IntN(2) == 0 {
			return trickyFloats[rng.IntN(len(trickyFloats))]
		}
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
	}
	r := &SimilarResponse{Model: str(), TookUS: rng.Int64N(1e6)}
	if rng.IntN(2) == 0 {
		r.Track = &TrackJSON{
			TrackID: str(), SpotifyID: str(), Name: str(), Artists: strs(), Album: str(), Popularity: rng.IntN(101),
			DurationMS: rng.IntN(1e6), ReleaseDate: str(), Genres: strs(), Subgenres: strs(),
			Features: FeaturesJSON{fl(), fl(), fl(), fl(), rng.IntN(13) - 1, fl(), fl(), rng.IntN(2), fl(), fl(), fl()},
		}
	}
	if n := rng.IntN(25) - 1; n >= 0 {
		r.Results = make([]Result, n)
		for i := range r.Results {
			score := float32(fl())
			if math.IsInf(float64(score), 0) {
				score = -0.25
			}
			r.Results[i] = Result{TrackID: str(), Name: str(), Artists: strs(), Score: score}
			if rng.IntN(2) == 0 {
				r.Results[i].ResultMetadata = &ResultMetadata{SpotifyID: str(), Album: str(), ReleaseDate: str(), Popularity: rng.IntN(101), Genres: strs()}
			}
			if rng.IntN(2) == 0 {
				r.Results[i].Features = &FeaturesJSON{fl(), fl(), fl(), fl(), rng.IntN(13) - 1, fl(), fl(), rng.IntN(2), fl(), fl(), fl()}
			}
		}
	}
	return r
}

// The hand-rolled encoder writes exactly what encoding/json writes.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 2000
	if testing.Short() {
		n = 200
	}
	for i := range n {
		r := randomResponse(rng)
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("case %d: AppendJSON = %s, want %s", i, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range trickyFloats {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if got := string(appendFloat(nil, v, 64)); got != "null" {
				t.Fatalf("appendFloat(%v) = %s, want null", v, got)
			}
			return
		}
		for _, bits := range []int{32, 64} {
			var want []byte
			if bits == 32 {
				if math.Abs(v) > math.MaxFloat32 {
					continue
				}
				want, _ = json.Marshal(float32(v))
				v = float64(float32(v))
			} else {
				want, _ = json.Marshal(v)
			}
			if got := appendFloat(nil, v, bits); !bytes.Equal(got, want) {
				t.Fatalf("appendFloat(%v, %d) = %s, want %s", v, bits, got, want)
			}
		}
	})
}

func sampleResponse(k int) *SimilarResponse {
	t := &soundalike.Track{
		ID: "6f807x0ima9a1j3VPbc7VN", Name: "I Don't Care (with Justin Bieber) - Loud Luxury Remix",
		Artists: []string{"Ed Sheeran"}, Album: "I Don't Care (with Justin Bieber) [Loud Luxury Remix]",
		Popularity: 66, DurationMS: 194754, ReleaseDate: "2019-06-14", Genres: []string{"pop"}, Subgenres: []string{"dance pop"},
		Features: soundalike.Features{Acousticness: 0.102, Danceability: 0.748, Energy: 0.916, Key: 6, Liveness: 0.0653,
			Loudness: -2.634, Mode: 1, Speechiness: 0.0583, Tempo: 122.036, Valence: 0.518},
	}
	r := &SimilarResponse{Track: NewTrackJSON(t), Model: "20261127T080000-3f2a", TookUS: 153, Results: make([]Result, k)}
	for i := range r.Results {
		r.Results[i] = Result{TrackID: "0r7CVbZTWZgbTCYdfa2P31", Name: "Memories - Dillon Francis Remix", Artists: []string{"Maroon 5", "Dillon Francis"}, Score: 0.9731 - float32(i)*0.001}
	}
	return r
}

// BenchmarkSimilarJSON compares encoding/json with the hand-rolled encoder
// on a k=20 /similar response.
func BenchmarkSimilarJSON(b *testing.B) {
	r := sampleResponse(20)
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := json.NewEncoder(&buf).Encode(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = append(r.AppendJSON(buf[:0]), '\n')
		}
	})
}
