package trainer

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/audotics/soundalike"
)

// Losses and feature sets.
const (
	// LossContrastive is the in-batch softmax (InfoNCE) two-tower loss:
	// each anchor must pick its positive among the batch's positives.
	LossContrastive = "contrastive"
	// LossCosine is the original loss, mean(1 − cos(anchor, positive)). It
	// has no negatives, and its minimum maps every track to one point; it
	// is kept so the original can be reproduced.
	LossCosine = "cosine"

	// FeaturesAuto uses everything the catalogue has about a track that
	// most tracks have: FeaturesAudioExtras plus learned embeddings of its
	// artists and album (and its name's tokens with NameTokens). Never the
	// playlist columns.
	FeaturesAuto = "auto"
	// FeaturesAudioExtras uses the eleven Spotify features plus the
	// catalogue's other numeric content columns (duration, release year,
	// popularity) that most tracks have.
	FeaturesAudioExtras = "audio+extras"
	// FeaturesSpotify11 uses exactly the original eleven features.
	FeaturesSpotify11 = "spotify11"
)

// Config is one training run's settings. Start from DefaultConfig: Train
// uses every field as given and rejects invalid values with an error that
// names the command-line flag.
type Config struct {
	Epochs          int     // --epochs
	BatchSize       int     // --batch-size
	ValidationSplit float64 // --validation-split: fraction of users held out, in (0, 1)
	LearningRate    float64 // --learning-rate (Adam)
	EmbeddingSize   int     // --embedding-size
	HiddenLayers    []int   // --hidden-layers
	DropoutRate     float64 // --dropout-rate, in [0, 1)
	Loss            string  // --loss: LossContrastive or LossCosine
	Temperature     float64 // --temperature of the contrastive loss; 0: the feature set's (LossTemperature)
	Features        string  // --features: FeaturesAuto, FeaturesAudioExtras or FeaturesSpotify11
	Seed            uint64  // --seed: all randomness comes from it
	Patience        int     // --patience: stop after this many epochs without a lower validation loss; 0 never stops early
	// Actions are the interactions that count as "these tracks belong
	// together" (--actions). Skips never do.
	Actions []string
	// MaxPairsPerUser caps the training pairs sampled per user and epoch
	// (--max-pairs-per-user); a user with n tracks has n(n−1)/2 pairs.
	MaxPairsPerUser int
	// HardNegatives builds most batches from users of one genre
	// (--hard-negatives), so the in-batch negatives are same-genre tracks.
	HardNegatives bool
	// TokenDim is the dimension of each metadata table (--token-dim),
	// TokenBuckets its hashed rows for rare and unseen tokens
	// (--token-buckets), VocabMinCount how often a token must occur in
	// the catalogue to get its own row (--vocab-min-count). At 1, the
	// default, every artist and album of the catalogue has its own row
	// and the buckets serve only tokens the catalogue lacks: the thousands
	// of one-track artists and albums no longer share a bucket's row (and
	// its direct output columns) with unrelated tracks, which made them
	// false neighbours (docs/quality.md).
	TokenDim, TokenBuckets, VocabMinCount int
	// NameTokens is how many of a track name's tokens (words, then
	// character 3-grams) the auto features read (--name-tokens); 0 reads
	// none, the default: 8 gained a little precision on the dev data but
	// slowed embedding below its target (docs/quality.md).
	NameTokens int
	// TableRateScale multiplies LearningRate for the metadata tables
	// (--table-rate-scale).
	TableRateScale float64
	// TableWeightDecay shrinks every table weight by
	// TableWeightDecay·(table rate) each step, apart from its Adam update
	// (decoupled weight decay, as AdamW; --table-weight-decay). The tables
	// are what overfits: a row is a free vector per artist or album.
	TableWeightDecay float64
	// TokenDropout is the probability that a training track's artist,
	// album or name token is read as a token the catalogue lacks, its
	// hashed bucket (--token-dropout). That trains the buckets, which
	// every token no training track has is read as (unknownRows): a new
	// artist then looks like the few training artists of its bucket, not
	// like every other untrained artist. 0 (the default) leaves the rows
	// as they are: the validation figures then reward recognising the
	// held-out users' artists (docs/quality.md, "Held-out artists"), and
	// the recipe is not yet tuned for 0.1, with which they are honest.
	TokenDropout float64
	// AverageEpochs is how many of the last epochs' weights are averaged
	// into the model each epoch is scored and kept as (--average-epochs);
	// 1 keeps each epoch's own, 0 the feature set's (EpochsAveraged).
	AverageEpochs int
	// Direct names the metadata tables whose rows also get columns added
	// straight to the network's output (--direct): tracks of one artist,
	// or of one album, can then sit close together whatever their audio.
	// The default is artists and album; the album's direct columns only
	// helped once one-track albums stopped sharing hashed rows
	// (VocabMinCount 1; docs/quality.md).
	Direct []string
	// EvalK and EvalQueries size the per-epoch validation
	// precision/recall@k (k, and held-out tracks sampled as queries). The
	// train command has no flag for them. A catalogue of fewer than
	// EvalK+2 tracks trains without validation figures (Result.NoValidation),
	// as eval refuses a -k that large.
	EvalK, EvalQueries int

	// Logger receives progress and warnings; nil discards them.
	Logger *slog.Logger `json:"-"`
	// Progress, when set, is called after every epoch.
	Progress func(EpochMetrics) `json:"-"`
}

// DefaultConfig returns the original recipe's defaults plus the defaults of
// the new settings. It returns a fresh value on every call.
func DefaultConfig() Config {
	return Config{
		Epochs:          50,
		BatchSize:       64,
		ValidationSplit: 0.2,
		LearningRate:    0.001,
		EmbeddingSize:   64,
		HiddenLayers:    []int{128, 64},
		DropoutRate:     0.2,
		Loss:            LossContrastive,
		Temperature:     0,
		Features:        FeaturesAuto,
		Seed:            1,
		Patience:        10,
		Actions:         soundalike.DefaultSimilarityActions(),
		MaxPairsPerUser: 64,
		TokenDim:        8,
		TokenBuckets:    1 << 12,
		VocabMinCount:   1,
		TableRateScale:  10,
		AverageEpochs:   0,
		Direct:          []string{"artists", "album"},
		EvalK:           20,
		EvalQueries:     300,
	}
}

// LossTemperature is the contrastive loss's temperature: Temperature, or
// when 0 the feature set's. With metadata tables (auto) a sharper softmax
// (0.03) measured better on every seed; the audio-only sets keep 0.1,
// where a lower one spread the embeddings without a gain
// (docs/quality.md).
func (c *Config) LossTemperature() float64 {
	switch {
	case c.Temperature > 0:
		return c.Temperature
	case c.Features == FeaturesAuto:
		return 0.03
	}
	return 0.1
}

// EpochsAveraged is how many epochs' weights make each epoch's model:
// AverageEpochs, or when 0 the feature set's. The auto model peaks after
// three or four epochs and then overfits; the mean of the last 3 scored
// better on every seed measured (docs/quality.md). The audio-only sets,
// which peak late and slowly, keep each epoch's own.
func (c *Config) EpochsAveraged() int {
	switch {
	case c.AverageEpochs > 0:
		return c.AverageEpochs
	case c.Features == FeaturesAuto:
		return 3
	}
	return 1
}

// Validate checks every field and reports every problem, each naming its
// flag and what would be accepted.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Epochs < 1 {
		bad("--epochs: %d is not a positive number of epochs", c.Epochs)
	}
	if c.BatchSize < 2 {
		bad("--batch-size: %d is too small; want 2 or more (the contrastive loss compares each pair with the batch's others)", c.BatchSize)
	}
	if !(c.ValidationSplit > 0 && c.ValidationSplit < 1) {
		bad("--validation-split: %v is outside (0, 1); it is the fraction of users held out", c.ValidationSplit)
	}
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		bad("--learning-rate: %v is not a positive number", c.LearningRate)
	} else if !float32Normal(c.LearningRate) {
		bad("--learning-rate: %v is beyond the network's float32 arithmetic, where it would train nothing or overflow; want %.3g..%.3g", c.LearningRate, minNormalFloat32, math.MaxFloat32)
	}
	if c.EmbeddingSize < 2 || c.EmbeddingSize > 4096 {
		bad("--embedding-size: %d is outside 2..4096", c.EmbeddingSize)
	}
	for _, h := range c.HiddenLayers {
		if h < 1 || h > 4096 {
			bad("--hidden-layers: layer size %d is outside 1..4096", h)
		}
	}
	if len(c.HiddenLayers) > 16 {
		bad("--hidden-layers: %d layers, at most 16", len(c.HiddenLayers))
	}
	// The network holds the rate as a float32: a rate just under 1 that
	// rounds to 1 there would keep no unit and scale by 1/0.
	if !(c.DropoutRate >= 0 && c.DropoutRate < 1 && float32(c.DropoutRate) < 1) {
		bad("--dropout-rate: %v is outside [0, 1)", c.DropoutRate)
	}
	return errors.Join(append(errs, c.validateInputs(), c.validatePairs())...)
}

// validateInputs checks the loss and the feature settings.
func (c *Config) validateInputs() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Loss != LossContrastive && c.Loss != LossCosine {
		bad("--loss: %q is not %q or %q", c.Loss, LossContrastive, LossCosine)
	}
	if !(c.Temperature >= 0) || math.IsInf(c.Temperature, 0) {
		bad("--temperature: %v is not a positive number (or 0: the feature set's)", c.Temperature)
	} else if c.Temperature > 0 && !float32Normal(1/c.Temperature) {
		// The loss divides by it in float32: 1/T must be a float32 (a
		// huge T makes every logit 0 and trains nothing, a tiny one an
		// infinity).
		bad("--temperature: %v is beyond the network's float32 arithmetic; want %.3g..%.3g (or 0: the feature set's)", c.Temperature, 1/math.MaxFloat32, 1/minNormalFloat32)
	}
	if c.Features != FeaturesAuto && c.Features != FeaturesAudioExtras && c.Features != FeaturesSpotify11 {
		bad("--features: %q is not %q, %q or %q", c.Features, FeaturesAuto, FeaturesAudioExtras, FeaturesSpotify11)
	}
	if c.TokenDim < 1 || c.TokenDim > 1024 {
		bad("--token-dim: %d is outside 1..1024", c.TokenDim)
	}
	if c.TokenBuckets < 1 || c.TokenBuckets > 1<<22 {
		bad("--token-buckets: %d is outside 1..%d", c.TokenBuckets, 1<<22)
	}
	if c.NameTokens < 0 || c.NameTokens > soundalike.MaxNameTokenInputs {
		bad("--name-tokens: %d is outside 0..%d", c.NameTokens, soundalike.MaxNameTokenInputs)
	}
	if !(c.TableRateScale > 0) || math.IsInf(c.TableRateScale, 0) {
		bad("--table-rate-scale: %v is not a positive number", c.TableRateScale)
	} else if float32Normal(c.LearningRate) && !float32Normal(c.LearningRate*c.TableRateScale) {
		bad("--table-rate-scale: %v × --learning-rate %v, the tables' rate, is beyond the network's float32 arithmetic; want a product in %.3g..%.3g", c.TableRateScale, c.LearningRate, minNormalFloat32, math.MaxFloat32)
	}
	if !(c.TokenDropout >= 0 && c.TokenDropout < 1) {
		bad("--token-dropout: %v is outside [0, 1)", c.TokenDropout)
	}
	if !(c.TableWeightDecay >= 0) || c.TableWeightDecay*c.LearningRate*c.TableRateScale >= 1 {
		bad("--table-weight-decay: %v is outside [0, 1/(--learning-rate × --table-rate-scale))", c.TableWeightDecay)
	}
	for _, d := range c.Direct {
		switch {
		case d != "artists" && d != "album" && d != "name":
			bad("--direct: %q is not a metadata table (artists, album, name)", d)
		case d == "name" && c.Features == FeaturesAuto && c.NameTokens == 0:
			// Training would leave it out without a word.
			bad("--direct name needs --name-tokens above 0: without name tokens there is no name table")
		}
	}
	if c.VocabMinCount < 1 {
		bad("--vocab-min-count: %d is not a positive number", c.VocabMinCount)
	}
	return errors.Join(errs...)
}

// validatePairs checks what decides the training pairs, the stopping rule
// and the per-epoch evaluation.
func (c *Config) validatePairs() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.AverageEpochs < 0 || c.AverageEpochs > 50 {
		bad("--average-epochs: %d is outside 0..50 (0: the feature set's)", c.AverageEpochs)
	}
	if c.Patience < 0 {
		bad("--patience: %d is negative; 0 means no early stopping", c.Patience)
	}
	// Names other than the similarity actions are an app's own, which
	// only the stored interactions can vouch for (the command checks them).
	want := fmt.Sprintf("want one or more of %s, %s and %s, or another action the app records",
		soundalike.ActionPlay, soundalike.ActionLike, soundalike.ActionAddToPlaylist)
	if len(c.Actions) == 0 {
		bad("--actions: empty; %s", want)
	}
	for _, a := range c.Actions {
		if a == soundalike.ActionSkip {
			bad("--actions: %q never counts as similarity; %s", a, want)
		} else if strings.TrimSpace(a) == "" {
			bad("--actions: an empty action name; %s", want)
		}
	}
	if c.MaxPairsPerUser < 1 {
		bad("--max-pairs-per-user: %d is not a positive number", c.MaxPairsPerUser)
	}
	if c.EvalK < 1 {
		bad("EvalK: %d is not a positive number of neighbours", c.EvalK)
	}
	if c.EvalQueries < 1 {
		bad("EvalQueries: %d is not a positive number", c.EvalQueries)
	}
	return errors.Join(errs...)
}

// minNormalFloat32 is the smallest normal float32.
const minNormalFloat32 = 0x1p-126

// float32Normal reports whether v is a normal float32 step size: the
// trainer computes in float32, where a smaller rate is 0 or subnormal
// (no step at all) and a larger one infinite.
func float32Normal(v float64) bool {
	return v >= minNormalFloat32 && v <= math.MaxFloat32
}

// ParseLayers parses a --hidden-layers value such as "128,64" (an empty
// string means no hidden layer).
func ParseLayers(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--hidden-layers: %q is not a comma-separated list of positive layer sizes, like 128,64", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// RunConfig is the config record of a run, under the original's keys.
type RunConfig struct {
	Epochs          int     `json:"epochs"`
	BatchSize       int     `json:"batch_size"`
	ValidationSplit float64 `json:"validation_split"`
	LearningRate    float64 `json:"learning_rate"`
	EmbeddingSize   int     `json:"embedding_size"`
	HiddenLayers    []int   `json:"hidden_layers"`
	DropoutRate     float64 `json:"dropout_rate"`
	FeatureDim      int     `json:"feature_dim"`
	NumTracks       int     `json:"num_tracks"`
	NumSimilarPairs int     `json:"num_similar_pairs"`

	Loss            string        `json:"loss"`
	Temperature     float64       `json:"temperature"`
	Features        string        `json:"features"`
	Inputs          []string      `json:"inputs"`
	Seed            uint64        `json:"seed"`
	Patience        int           `json:"patience"`
	Actions         []string      `json:"actions"`
	MaxPairsPerUser int           `json:"max_pairs_per_user"`
	HardNegatives   bool          `json:"hard_negatives,omitempty"`
	Tables          []TableRecord `json:"tables,omitempty"`
	NameTokens      int           `json:"name_tokens,omitempty"`
	TableRateScale  float64       `json:"table_rate_scale,omitempty"`
	TableDecay      float64       `json:"table_weight_decay,omitempty"`
	TokenDropout    float64       `json:"token_dropout,omitempty"`
	AverageEpochs   int           `json:"average_epochs,omitempty"`
	Direct          []string      `json:"direct,omitempty"`
	NumUsers        int           `json:"num_users"`
	NumValUsers     int           `json:"num_validation_users"`
	Synthetic       bool          `json:"synthetic_users"`
}

// TableRecord is one metadata table's sizes in a run's config record.
type TableRecord struct {
	Name    string `json:"name"`
	Slots   int    `json:"slots"`
	Vocab   int    `json:"vocab"`
	Buckets int    `json:"buckets"`
	Dim     int    `json:"dim"`
	OutDim  int    `json:"out_dim,omitempty"`
}
