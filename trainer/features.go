package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// extraInputs are the content columns FeaturesAuto and FeaturesAudioExtras
// add when at least minCoverage of the tracks have them.
var extraInputs = []string{soundalike.InputDurationMS, soundalike.InputReleaseYear, soundalike.InputPopularity}

const minCoverage = 0.5

// tokenField is one metadata field FeaturesAuto learns an embedding table
// for.
type tokenField struct {
	table    string
	prefix   string // slot names are prefix+"1"…; "" for the one-slot album
	maxSlots int
	count    func(*soundalike.Track) int // the track's tokens of the field
}

var tokenFields = []tokenField{
	{"artists", soundalike.InputArtistPrefix, 4, func(t *soundalike.Track) int {
		n := 0
		for _, a := range t.Artists {
			if embedder.Key(a) != "" {
				n++
			}
		}
		return n
	}},
	{"album", "", 1, func(t *soundalike.Track) int {
		if embedder.Key(t.Album) != "" {
			return 1
		}
		return 0
	}},
	{"name", soundalike.InputNameTokenPrefix, soundalike.MaxNameTokenInputs, func(t *soundalike.Track) int {
		return len(embedder.NameTokens(t.Name, soundalike.MaxNameTokenInputs, nil))
	}},
}

// maxVocab caps a table's vocabulary (the most frequent ids are kept).
const maxVocab = 1 << 16

// featureSet is the chosen inputs, their tables and every track's raw
// values.
type featureSet struct {
	inputs []embedder.Input
	tables []tableInput
	raw    []float32 // len(inputs) per track
	notes  []string
}

// chooseInputs picks the raw inputs for cfg.Features and fits each numeric
// one's missing-value rule on the catalogue: a missing value becomes the
// median of the known ones, and an indicator column is added when any
// track lacks the value. For FeaturesAuto it adds the token inputs of each
// metadata field enough tracks have, with a table whose vocabulary is the
// ids seen at least cfg.VocabMinCount times. rng seeds the tables'
// bucket hashes and initial weights.
func chooseInputs(tracks []soundalike.Track, cfg *Config, rng *rand.Rand) (featureSet, error) {
	var fs featureSet
	names := slices.Clone(soundalike.FeatureNames())
	if cfg.Features != FeaturesSpotify11 {
		names = append(names, fs.covered(tracks)...)
	}
	nNumeric := len(names)
	var fields []tokenField
	if cfg.Features == FeaturesAuto {
		fields = fs.tokenFields(tracks, cfg.NameTokens)
	}
	for _, f := range fields {
		names = append(names, f.slotNames(tracks)...)
	}
	ni := len(names)
	fs.raw = make([]float32, 0, len(tracks)*ni)
	for i := range tracks {
		v, err := soundalike.RawInputs(&tracks[i], names, fs.raw[len(fs.raw):len(fs.raw):cap(fs.raw)])
		if err != nil {
			return fs, fmt.Errorf("track %s: %w", tracks[i].ID, err)
		}
		fs.raw = fs.raw[:len(fs.raw)+len(v)]
	}
	for j, n := range names[:nNumeric] {
		fs.inputs = append(fs.inputs, fs.numericInput(n, j, ni, len(tracks)))
	}
	col := nNumeric
	for ti, f := range fields {
		slots := len(f.slotNames(tracks))
		for _, n := range names[col : col+slots] {
			fs.inputs = append(fs.inputs, embedder.Input{Name: n, Encoding: embedder.Token, Table: ti})
		}
		t := fs.table(f.table, col, slots, ni, cfg, rng)
		fs.notes = append(fs.notes, fmt.Sprintf("features: %s: %d token slots, a vocabulary of %d ids seen %d+ times, %d hashed buckets, %d dimensions (+%d added to the output)",
			f.table, slots, len(t.Vocab), cfg.VocabMinCount, t.Buckets, t.Dim, t.OutDim))
		fs.tables = append(fs.tables, tableInput{Table: t, Slots: slots})
		col += slots
	}
	return fs, nil
}

// covered returns the extra numeric inputs at least minCoverage of the
// tracks have, noting the others.
func (fs *featureSet) covered(tracks []soundalike.Track) []string {
	var names []string
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
			fs.notes = append(fs.notes, fmt.Sprintf("features: %s left out: only %.0f%% of tracks have it", n, 100*cov))
		}
	}
	return names
}

// tokenFields returns the metadata fields at least minCoverage of the
// tracks have, noting the others. The name's tokens count only when
// nameTokens > 0, and at most that many are read.
func (fs *featureSet) tokenFields(tracks []soundalike.Track, nameTokens int) []tokenField {
	var out []tokenField
	for _, f := range tokenFields {
		if f.table == "name" {
			if nameTokens == 0 {
				continue
			}
			f.maxSlots = nameTokens
		}
		known := 0
		for i := range tracks {
			if f.count(&tracks[i]) > 0 {
				known++
			}
		}
		if cov := float64(known) / float64(len(tracks)); cov >= minCoverage {
			out = append(out, f)
		} else {
			fs.notes = append(fs.notes, fmt.Sprintf("features: %s left out: only %.0f%% of tracks have it", f.table, 100*cov))
		}
	}
	return out
}

// slotNames are the field's raw input names: as many slots as the track
// with the most tokens needs, at most maxSlots.
func (f tokenField) slotNames(tracks []soundalike.Track) []string {
	if f.prefix == "" {
		return []string{soundalike.InputAlbum}
	}
	most := 1
	for i := range tracks {
		most = max(most, min(f.count(&tracks[i]), f.maxSlots))
	}
	return soundalike.TokenInputNames(f.prefix, most)
}

// numericInput is the encoding of numeric input n (column j of ni), with
// its imputation fitted on the n tracks' raw values.
func (fs *featureSet) numericInput(name string, j, ni, n int) embedder.Input {
	in := encodingFor(name)
	col := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if v := fs.raw[i*ni+j]; !math.IsNaN(float64(v)) {
			col = append(col, float64(v))
		}
	}
	imputed := "with the median"
	if len(col) > 0 {
		slices.Sort(col)
		in.Impute = float32(col[len(col)/2])
	}
	if name == "key" {
		in.Impute, imputed = 0, "as 0"
	}
	if len(col) < n {
		in.Indicator = true
		fs.notes = append(fs.notes, fmt.Sprintf("features: %s for %d of %d tracks: imputed %s, plus a missing-value indicator", unknownValue(name), n-len(col), n, imputed))
	}
	return in
}

// unknownValue is what a track holds, in the catalogue file's terms, when
// soundalike.RawInputs reports its input name unknown (NaN): a note that
// said "missing" would send a user to the file to find a value there.
func unknownValue(name string) string {
	switch name {
	case soundalike.InputPopularity:
		return "popularity 0 or empty (0 is unknown in Spotify's data)"
	case soundalike.InputDurationMS:
		return "duration_ms 0 or empty"
	case soundalike.InputReleaseYear:
		return "release_year unknown (no release date)"
	case "key":
		return "key -1 (no key detected)"
	}
	return name + " missing"
}

// table builds the table of the slots columns from col: the vocabulary of
// ids seen at least cfg.VocabMinCount times (the maxVocab most frequent),
// cfg.TokenBuckets hashed rows, and small uniform random weights.
func (fs *featureSet) table(name string, col, slots, ni int, cfg *Config, rng *rand.Rand) embedder.Table {
	counts := map[uint32]int{}
	for i := 0; i < len(fs.raw)/ni; i++ {
		for _, v := range fs.raw[i*ni+col : i*ni+col+slots] {
			if v == v {
				counts[uint32(v)]++
			}
		}
	}
	var vocab []uint32
	for id, c := range counts {
		if c >= cfg.VocabMinCount {
			vocab = append(vocab, id)
		}
	}
	if len(vocab) > maxVocab {
		slices.SortFunc(vocab, func(a, b uint32) int {
			if c := counts[b] - counts[a]; c != 0 {
				return c
			}
			return int(a) - int(b)
		})
		vocab = vocab[:maxVocab]
	}
	slices.Sort(vocab)
	t := embedder.Table{Name: name, Dim: cfg.TokenDim, Vocab: vocab, Buckets: cfg.TokenBuckets, Seed: rng.Uint32()}
	if slices.Contains(cfg.Direct, name) {
		t.OutDim = cfg.EmbeddingSize
	}
	t.W = make([]float32, t.Rows()*t.RowWidth())
	for i := range t.W {
		t.W[i] = float32((2*rng.Float64() - 1) * tableInitScale)
	}
	return t
}

// tableInitScale bounds the initial table weights: small beside the
// standardised numeric columns, so that the network starts from the audio
// features and learns how far to trust each token.
const tableInitScale = 0.1
