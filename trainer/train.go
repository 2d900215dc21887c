// Package trainer trains track embeddings with gorgonia: a two-tower MLP
// over each track's encoded content features, fitted so that tracks the
// same user interacted with land close together. It is the only package
// that imports gorgonia; it returns a pure-Go *embedder.Model.
package trainer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/eval"
	"github.com/audotics/soundalike/internal/words"
)

// EpochMetrics are one epoch's figures. A figure the epoch has none of is
// NaN: the validation loss of a run without validation pairs, the
// validation precision and recall of a run without validation queries
// (Result.NoValidation says why).
type EpochMetrics struct {
	Epoch        int     `json:"epoch"` // 1-based
	Loss         float64 `json:"loss"`
	ValLoss      float64 `json:"val_loss"`
	ValPrecision float64 `json:"val_precision_at_k"`
	ValRecall    float64 `json:"val_recall_at_k"`
	// Spread is the mean cosine of random track pairs: near 0 is well
	// spread, above CollapseThreshold is collapsed.
	Spread      float64       `json:"spread"`
	PairsPerSec float64       `json:"pairs_per_sec"`
	Seconds     float64       `json:"seconds"`
	TotalEpochs int           `json:"-"`
	ETA         time.Duration `json:"-"`
}

// epochJSON is EpochMetrics as JSON: a figure an epoch has none of (NaN)
// is null, which encoding/json can write, where a NaN would make the whole
// run's record fail to encode.
type epochJSON struct {
	Epoch        int      `json:"epoch"`
	Loss         *float64 `json:"loss"`
	ValLoss      *float64 `json:"val_loss"`
	ValPrecision *float64 `json:"val_precision_at_k"`
	ValRecall    *float64 `json:"val_recall_at_k"`
	Spread       *float64 `json:"spread"`
	PairsPerSec  *float64 `json:"pairs_per_sec"`
	Seconds      *float64 `json:"seconds"`
}

// MarshalJSON writes the metrics with every non-finite figure as null.
func (m EpochMetrics) MarshalJSON() ([]byte, error) {
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(epochJSON{Epoch: m.Epoch, Loss: num(m.Loss), ValLoss: num(m.ValLoss), ValPrecision: num(m.ValPrecision),
		ValRecall: num(m.ValRecall), Spread: num(m.Spread), PairsPerSec: num(m.PairsPerSec), Seconds: num(m.Seconds)})
}

// UnmarshalJSON reads what MarshalJSON writes: a null figure is NaN.
func (m *EpochMetrics) UnmarshalJSON(b []byte) error {
	var j epochJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	num := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	*m = EpochMetrics{Epoch: j.Epoch, Loss: num(j.Loss), ValLoss: num(j.ValLoss), ValPrecision: num(j.ValPrecision),
		ValRecall: num(j.ValRecall), Spread: num(j.Spread), PairsPerSec: num(j.PairsPerSec), Seconds: num(j.Seconds)}
	return nil
}

// maxValPairs caps the validation pairs the validation loss is computed on
// each epoch.
const maxValPairs = 2048

// CollapseThreshold is the mean cosine between random tracks above which
// the embeddings count as collapsed.
const CollapseThreshold = 0.9

// Final are the best model's figures on the validation users, beside the
// baselines.
type Final struct {
	eval.Report
	BestEpoch int `json:"best_epoch"`
}

// Result is a finished run.
type Result struct {
	Model           *embedder.Model
	Config          RunConfig
	Epochs          []EpochMetrics
	BestEpoch       int      // 1-based epoch whose weights Model holds
	ValidationUsers []string // held-out users (names as in the interactions)
	Final           Final
	Collapsed       bool // the best epoch's embeddings are collapsed
	// EarlyStop says why the run stopped before its last epoch (Config's
	// Patience), or is "" when it ran them all.
	EarlyStop string
	Warnings  []string // everything said at Warn level, in order
	Duration  time.Duration
	// NoValidation says why the run has no validation figures (Final.K
	// is then 0), or is "" when it has them.
	NoValidation string
	// EpochQueries is how many validation queries each epoch's precision
	// (EpochMetrics.ValPrecision) was measured on: at most Config's
	// EvalQueries, for speed. Final measures the kept model on up to
	// eval.DefaultMaxQueries of the same users' tracks, of which these are
	// the first (the same seed's shuffle), so its precision differs from
	// the kept epoch's when Final.Queries is larger: another sample, and
	// the kept epoch's figure is the best of the epochs', which selection
	// makes read high. With as many queries, the two are equal.
	EpochQueries int

	// val is the validation users as indices into the tracks Train was
	// given, and valOpts what Final was measured with: Evaluate measures
	// another model so.
	val     [][]uint32
	valOpts eval.Options
}

// Evaluate measures m on the run's validation users that keep accepts
// (nil: every one; ValidationUsers names them) as Final measured the
// run's own model on all of them: the same sample of their tracks as
// queries (the run's seed), the same k, beside the same baselines. With
// keep nil and the run's own model it gives Final again. Two models'
// precision compares only on the same users, and only on users neither
// trained on: another seed, or users imported since, hold out other
// users, on whom even the raw features score differently, and a model
// scores high on users it trained on (train --promote auto measures both
// models on the users both runs held out). tracks must be the catalogue
// Train was given, in its order. It returns an error, before any work,
// when the run has no validation figures (NoValidation) or tracks is not
// that catalogue; eval.ErrNoQueries when no kept user has two tracks;
// and eval.Evaluate's error when m cannot embed the tracks.
func (res *Result) Evaluate(m *embedder.Model, tracks []soundalike.Track, keep func(user string) bool) (eval.Report, error) {
	switch {
	case res.NoValidation != "":
		return eval.Report{}, fmt.Errorf("trainer: the run has no validation figures to measure another model beside: %s", res.NoValidation)
	case res.valOpts.K == 0:
		return eval.Report{}, errors.New("trainer: the result holds no validation users: want a Result from Train")
	case len(tracks) != res.Config.NumTracks:
		return eval.Report{}, fmt.Errorf("trainer: %d tracks given; the run trained on %d: want the catalogue Train was given", len(tracks), res.Config.NumTracks)
	}
	users := res.val
	if keep != nil {
		users = nil
		for i, u := range res.ValidationUsers {
			if keep(u) {
				users = append(users, res.val[i])
			}
		}
	}
	return eval.Evaluate(m, tracks, users, &res.valOpts)
}

// ErrTooFewTracks: training needs at least two tracks.
var ErrTooFewTracks = errors.New("trainer: need at least two tracks")

// ErrDiverged is wrapped by Train's error when training diverged before
// any epoch gave a model worth keeping: the weights became non-finite, or
// the network maps a track to a vector that cannot be normalised. The
// error names the settings that set the step size.
var ErrDiverged = errors.New("training diverged")

// Train fits a model. tracks is the catalogue; interactions say which
// tracks belong together (by user). Whole users are held out for
// validation; the epoch with the highest validation precision@EvalK is
// kept (see better). It stops early after Patience epochs without a
// lower validation loss; when an epoch diverges (non-finite weights, or a
// track the network cannot embed), keeping the best earlier epoch with a
// warning, or failing with ErrDiverged when there is none; and when ctx is
// done (returning an error wrapping ctx's). A nil ctx is refused.
//
// With no usable interactions (no user with two or more tracks of the
// catalogue under cfg.Actions) Train trains on synthetic users, random
// groups of tracks, and returns a model that learned nothing real about
// which tracks belong together, with a nil error: only Result.Warnings
// (and Result.Config.Synthetic) say so.
func Train(ctx context.Context, tracks []soundalike.Track, interactions []soundalike.Interaction, cfg Config) (*Result, error) {
	if ctx == nil {
		return nil, errors.New("trainer: ctx is nil: pass context.Background() when there is no other context")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(tracks) < 2 {
		return nil, ErrTooFewTracks
	}
	r := newRun(tracks, &cfg)
	if err := r.prepareInputs(); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	if err := r.splitUsers(interactions); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	r.checkEvalK()
	if err := r.recordConfig(); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	nt, err := newNet(r.res.Config.BatchSize, r.width, r.fs.tables, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, r.rng)
	if err != nil {
		return nil, fmt.Errorf("trainer: build graph: %w", err)
	}
	defer nt.close()
	best, err := r.fit(ctx, nt)
	if err != nil {
		return nil, err
	}
	if err := r.finish(best); err != nil {
		return nil, err
	}
	return r.res, nil
}

// afterEpochSteps, when set (by tests only), is called after each epoch's
// steps with the network, before the epoch is checked and scored.
var afterEpochSteps func(epoch int, nt *net)

// run is one training run's state, filled phase by phase.
type run struct {
	cfg    *Config
	tracks []soundalike.Track
	log    *slog.Logger
	rng    *rand.Rand
	start  time.Time
	res    *Result

	// prepareInputs
	fs    featureSet
	proto *embedder.Model // the inputs and tables, for preparing rows
	width int             // numeric columns of x
	x     []float32       // every track's prepared numeric row
	rows  [][]int         // per table, every track's token rows (slots each)
	sig   []uint64

	// splitUsers
	train, val           [][]uint32
	valPairs, firstPairs []pair
	synthetic            bool
	numUsers             int
	configJSON           []byte
	// noFigures is why the run has no validation precision, when it can
	// have none whatever it learns (checkEvalK).
	noFigures string

	// mapUnknown: per table, each row's bucket and the rows training reads
	unknown []unknownRows
	// tokenRng draws the token dropout apart from rng, so that the pairs
	// and the dropout masks do not depend on its rate
	tokenRng *rand.Rand
}

func newRun(tracks []soundalike.Track, cfg *Config) *run {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &run{cfg: cfg, tracks: tracks, log: log, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7ea1)), tokenRng: rand.New(rand.NewPCG(cfg.Seed, 0x70d2)), start: time.Now(), res: &Result{}}
}

func (r *run) warn(msg string) {
	r.res.Warnings = append(r.res.Warnings, msg)
	r.log.Warn(msg)
}

// prepareInputs chooses the inputs, fits the standardisation and prepares
// every track's numeric row and token rows.
func (r *run) prepareInputs() error {
	// The tables draw from their own generator, so that every feature set
	// holds out the same validation users for a seed.
	fs, err := chooseInputs(r.tracks, r.cfg, rand.New(rand.NewPCG(r.cfg.Seed, 0x7ab1e)))
	if err != nil {
		return err
	}
	r.fs = fs
	for _, n := range fs.notes {
		r.log.Info(n)
	}
	ni := len(fs.inputs)
	r.width = embedder.EncodedWidth(fs.inputs)
	enc := make([]float32, 0, len(r.tracks)*r.width)
	for i := range r.tracks {
		enc = append(enc, embedder.Encode(fs.inputs, fs.raw[i*ni:(i+1)*ni], nil)...)
	}
	mean, std := embedder.FitStandardization(enc, r.width)
	// A zero layer of the right shape: proto only prepares rows.
	in, out := r.width+tableDims(fs.tables), r.cfg.EmbeddingSize
	r.proto, err = r.model(mean, std, tableWeights(fs.tables), []embedder.Layer{{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out)}})
	if err != nil {
		return err
	}
	r.x = make([]float32, 0, len(r.tracks)*r.width)
	var buf []float32
	for i := range r.tracks {
		buf = r.proto.Prepare(fs.raw[i*ni:(i+1)*ni], buf)
		r.x = append(r.x, buf[:r.width]...)
	}
	r.rows = make([][]int, len(fs.tables))
	var tok []int
	for ti := range fs.tables {
		for i := range r.tracks {
			tok = r.proto.TokenRows(ti, fs.raw[i*ni:(i+1)*ni], tok)
			r.rows[ti] = append(r.rows[ti], tok...)
		}
	}
	r.sig = signatures(r.x, r.width, r.rows)
	return nil
}

// model builds a model of the run's inputs from the given parts.
func (r *run) model(mean, std []float32, tables []embedder.Table, layers []embedder.Layer) (*embedder.Model, error) {
	return embedder.Build(embedder.Parts{Inputs: r.fs.inputs, Mean: mean, Std: std, Tables: tables, Layers: layers, Config: r.configJSON})
}

func tableWeights(ts []tableInput) []embedder.Table {
	out := make([]embedder.Table, len(ts))
	for i, t := range ts {
		out[i] = t.Table
	}
	return out
}

func tableDims(ts []tableInput) int {
	d := 0
	for _, t := range ts {
		d += t.Dim
	}
	return d
}

// splitUsers groups the interactions by user (or falls back to synthetic
// users), holds whole users out for validation, reads the token rows no
// training track has as unknown tokens (mapUnknown) and samples the first
// epoch's pairs and the validation pairs.
func (r *run) splitUsers(interactions []soundalike.Interaction) error {
	cfg := r.cfg
	names, users, missing := eval.GroupUsers(r.tracks, interactions, cfg.Actions, nil)
	if len(missing) > 0 {
		r.warn(fmt.Sprintf("%d interactions name tracks that are not in the catalogue; they are ignored", len(missing)))
	}
	usable := 0
	for _, u := range users {
		if len(u) >= 2 {
			usable++
		}
	}
	r.synthetic = usable == 0
	if r.synthetic {
		r.warn(fmt.Sprintf("NO USABLE INTERACTIONS (no user has two or more %v interactions with catalogue tracks): "+
			"falling back to the original's synthetic users, random groups of tracks. "+
			"The model then learns NOTHING REAL about which tracks belong together; import interactions and train again", cfg.Actions))
		users = syntheticUsers(len(r.tracks), r.rng)
		names = make([]string, len(users))
		for i := range names {
			names[i] = fmt.Sprintf("synthetic-%d", i)
		}
	}
	r.numUsers = len(users)
	// In index order (splitUsers'), the order eval.GroupUsers gives the
	// users in, so that `eval` on the recorded validation users samples
	// the same queries.
	trainIdx, valIdx := splitUsers(names, cfg.ValidationSplit, cfg.Seed)
	for _, u := range trainIdx {
		r.train = append(r.train, users[u])
	}
	for _, u := range valIdx {
		r.val = append(r.val, users[u])
		r.res.ValidationUsers = append(r.res.ValidationUsers, names[u])
	}
	r.mapUnknown()
	r.valPairs = samplePairs(r.val, cfg.MaxPairsPerUser, r.sig, rand.New(rand.NewPCG(cfg.Seed, 0x7a1)))
	if len(r.valPairs) > maxValPairs {
		r.valPairs = r.valPairs[:maxValPairs] // already shuffled
	}
	r.firstPairs = samplePairs(r.train, cfg.MaxPairsPerUser, r.sig, r.rng)
	if len(r.firstPairs) < 2 {
		return r.tooFewPairs()
	}
	r.log.Info(fmt.Sprintf("pairs: %d training pairs per epoch from %d training users (%d possible; at most %d per user, resampled each epoch: --max-pairs-per-user); %d validation pairs from %d held-out users",
		len(r.firstPairs), len(r.train), possiblePairs(r.train), cfg.MaxPairsPerUser, len(r.valPairs), len(r.val)))
	if cfg.BatchSize > len(r.firstPairs) {
		r.warn(fmt.Sprintf("--batch-size %d is more than the %d training pairs an epoch samples: each epoch is one step on a batch of %d pairs "+
			"(an epoch that samples fewer repeats some to fill it); give --batch-size %d or less, or sample more pairs (--max-pairs-per-user %d, of %d possible; more interactions)",
			cfg.BatchSize, len(r.firstPairs), len(r.firstPairs), len(r.firstPairs), cfg.MaxPairsPerUser, possiblePairs(r.train)))
	}
	return nil
}

// tooFewPairs is the error of a run whose first epoch sampled fewer than
// two training pairs. When the training users' tracks do make pairs, but
// (almost) all of them join tracks the model cannot tell apart, those
// pairs were dropped as the same song twice (userPairs): more
// interactions would not help, tracks that differ would.
func (r *run) tooFewPairs() error {
	possible, distinct := possiblePairs(r.train), distinctPairs(r.train, r.sig)
	if possible >= 2 && distinct < 2 {
		kinds := map[uint64]bool{}
		for _, s := range r.sig {
			kinds[s] = true
		}
		alike := fmt.Sprintf("the catalogue's %d tracks have only %d distinct sets of inputs", len(r.tracks), len(kinds))
		if len(kinds) == 1 {
			alike = fmt.Sprintf("all the catalogue's %d tracks have the same inputs", len(r.tracks))
		}
		return fmt.Errorf("only %d training pairs from %d training users: %d of their %d pairs of tracks join tracks the model cannot tell apart "+
			"(under --features %s, %s), which teach it nothing and are dropped; "+
			"more interactions will not help: the tracks' features must differ (soundalike search shows a track's features; check the import file's feature columns)",
			len(r.firstPairs), len(r.train), possible-distinct, possible, r.cfg.Features, alike)
	}
	return fmt.Errorf("only %d training pairs from %d training users; need at least 2 (more interactions, or a smaller --validation-split)", len(r.firstPairs), len(r.train))
}

// checkEvalK sets noFigures when the catalogue is too small for the
// validation precision@EvalK to mean anything: with EvalK ≥ n−1 every
// query's top k holds every other track, so every model, the random
// one too, scores the same precision and a recall of 1. eval's -k
// refuses such a k; a run trains without those figures instead (its
// validation loss still picks the epoch), so that a small catalogue can
// still be trained on.
func (r *run) checkEvalK() {
	n, k := len(r.tracks), r.cfg.EvalK
	if k <= n-2 {
		return
	}
	r.noFigures = fmt.Sprintf("the catalogue's %d tracks are too few for validation precision@%d: each query's top %d would hold every other track, "+
		"which every model scores alike (it takes %d tracks or more)", n, k, k, k+2)
	r.warn(r.noFigures + "; the run has no validation figures, and its validation loss picks the epoch")
}

// recordConfig fills the run's config record.
func (r *run) recordConfig() error {
	cfg := r.cfg
	rc := RunConfig{
		Epochs: cfg.Epochs, BatchSize: min(cfg.BatchSize, len(r.firstPairs)), ValidationSplit: cfg.ValidationSplit, LearningRate: cfg.LearningRate,
		EmbeddingSize: cfg.EmbeddingSize, HiddenLayers: append([]int{}, cfg.HiddenLayers...), DropoutRate: cfg.DropoutRate,
		FeatureDim: r.width + tableDims(r.fs.tables), NumTracks: len(r.tracks), NumSimilarPairs: len(r.firstPairs),
		Loss: cfg.Loss, Temperature: cfg.LossTemperature(), Features: cfg.Features, Inputs: r.proto.Inputs(), Seed: cfg.Seed,
		Patience: cfg.Patience, Actions: append([]string{}, cfg.Actions...), MaxPairsPerUser: cfg.MaxPairsPerUser, HardNegatives: cfg.HardNegatives,
		NumUsers: r.numUsers, NumValUsers: len(r.val), Synthetic: r.synthetic, NameTokens: cfg.NameTokens,
		TableRateScale: cfg.TableRateScale, TableDecay: cfg.TableWeightDecay, TokenDropout: cfg.TokenDropout, AverageEpochs: cfg.EpochsAveraged(), Direct: slices.Clone(cfg.Direct),
	}
	for _, t := range r.fs.tables {
		rc.Tables = append(rc.Tables, TableRecord{Name: t.Name, Slots: t.Slots, Vocab: len(t.Vocab), Buckets: t.Buckets, Dim: t.Dim, OutDim: t.OutDim})
	}
	r.res.Config = rc
	var err error
	r.configJSON, err = json.Marshal(rc)
	return err
}

// fit runs the epochs and returns the model of the epoch with the best
// validation score.
func (r *run) fit(ctx context.Context, nt *net) (*embedder.Model, error) {
	cfg := r.cfg
	mean, std := r.proto.Standardization()
	var valQueries []eval.Query
	if r.noFigures == "" {
		valQueries = eval.Sample(r.val, cfg.EvalQueries, cfg.Seed)
		r.res.EpochQueries = len(valQueries)
		r.log.Info(fmt.Sprintf("validation: each epoch's precision@%d on %s sampled from the tracks of %s; the kept model is measured again at the end on up to %d",
			cfg.EvalK, words.Count(len(valQueries), "query"), words.Count(len(r.val), "held-out user"), eval.DefaultMaxQueries))
	}
	var best *embedder.Model
	var bestM EpochMetrics
	bestLoss, since := math.Inf(1), 0
	var groups []int
	if cfg.HardNegatives {
		groups = userGroups(r.train, eval.GenreSets(r.tracks))
	}
	warned := false
	window := epochWindow{n: cfg.EpochsAveraged()}
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		t0 := time.Now()
		m, err := r.trainEpoch(ctx, nt, epoch, groups)
		if err != nil {
			return nil, err
		}
		if afterEpochSteps != nil {
			afterEpochSteps(epoch, nt)
		}
		if m.ValLoss, err = validationLoss(nt, r.valPairs, r); err != nil {
			return nil, fmt.Errorf("trainer: epoch %d: validation: %w", epoch, err)
		}
		tables, layers := window.add(nt.tableWeights(), nt.layers())
		r.fillUnknown(tables)
		if why := nonFinite(m, tables, layers); why != "" {
			return r.diverged(epoch, why, best)
		}
		model, err := r.model(mean, std, tables, layers)
		if err != nil {
			return nil, fmt.Errorf("trainer: epoch %d: %w", epoch, err)
		}
		bad, err := r.scoreEpoch(&m, model, valQueries)
		if err != nil {
			return nil, fmt.Errorf("trainer: epoch %d: %w", epoch, err)
		}
		if bad >= 0 {
			return r.diverged(epoch, fmt.Sprintf("the network maps track %s to a zero or non-finite vector", r.tracks[bad].ID), best)
		}
		// A fresh ReLU network starts with a high spread; warn when it is
		// high and not falling.
		if m.Spread > CollapseThreshold && epoch > 1 && m.Spread >= r.res.Epochs[len(r.res.Epochs)-1].Spread && !warned {
			r.warn(collapseWarning(epoch, m.Spread, cfg.Loss))
			warned = true // once per run, and once more at the end
		}
		m.Seconds = time.Since(t0).Seconds()
		m.ETA = time.Duration(float64(cfg.Epochs-epoch) * float64(time.Since(r.start)) / float64(epoch))
		r.res.Epochs = append(r.res.Epochs, m)
		r.report(m)
		if best == nil || better(&m, &bestM) {
			bestM, best, r.res.BestEpoch = m, model, epoch
		}
		// Early stopping follows the loss, which moves smoothly: the
		// precision on a few hundred queries is noisy, and on some seeds
		// it climbs again long after a dip.
		if m.ValLoss < bestLoss || math.IsNaN(m.ValLoss) {
			bestLoss, since = m.ValLoss, 0
		} else if since++; cfg.Patience > 0 && since >= cfg.Patience {
			r.res.EarlyStop = fmt.Sprintf("no lower validation loss for %d epochs", since)
			r.log.Info(fmt.Sprintf("early stop: %s (--patience); keeping epoch %d", r.res.EarlyStop, r.res.BestEpoch))
			break
		}
	}
	return best, nil
}

// better reports whether epoch m beats the best so far: a higher
// validation precision@k, or the same (or none, without validation
// queries) and a lower validation loss. The precision is what the model
// is for, and on some seeds the loss keeps falling after it peaks. It is
// measured on the same validation users the final figures are, which
// makes those mildly optimistic; docs/quality.md gives both selections.
// Without any validation figure (no held-out user has a pair: a catalogue
// of one user) the later epoch wins, having trained longer.
func better(m, best *EpochMetrics) bool {
	// A run has validation queries for every epoch or for none: both
	// precisions are NaN, or neither is.
	if p, q := m.ValPrecision, best.ValPrecision; p != q && !math.IsNaN(p) {
		return p > q
	}
	if math.IsNaN(m.ValLoss) && math.IsNaN(best.ValLoss) {
		return true
	}
	return m.ValLoss < best.ValLoss || math.IsNaN(best.ValLoss) && !math.IsNaN(m.ValLoss)
}

// epochPairs returns the training pairs of an epoch: the first sample for
// epoch 1, a fresh one after, in genre batches with HardNegatives.
func (r *run) epochPairs(epoch, batch int, groups []int) []pair {
	cfg := r.cfg
	switch {
	case cfg.HardNegatives:
		perUser := make([][]pair, len(r.train))
		for u, ts := range r.train {
			perUser[u] = userPairs(ts, cfg.MaxPairsPerUser, r.sig, r.rng, nil)
		}
		return genreBatches(perUser, groups, batch, r.rng)
	case epoch > 1:
		return samplePairs(r.train, cfg.MaxPairsPerUser, r.sig, r.rng)
	}
	return r.firstPairs
}

// trainEpoch runs one epoch of Adam steps and returns its training figures.
func (r *run) trainEpoch(ctx context.Context, nt *net, epoch int, groups []int) (EpochMetrics, error) {
	t0 := time.Now()
	batch := nt.batch
	pairs := r.epochPairs(epoch, batch, groups)
	if len(pairs) == 0 {
		// Every pair sampled joined two tracks of one signature: the
		// first epoch's pairs (at least two) stand in.
		pairs = r.firstPairs
	}
	var lossSum float64
	// The pairs past the last whole batch are not trained on: each epoch
	// samples afresh. An epoch that sampled fewer pairs than a batch (the
	// batch is the first epoch's count when --batch-size exceeds it, and a
	// later sample may drop more same-song pairs) runs one step, its pairs
	// repeated to fill the batch, rather than none.
	steps := max(len(pairs)/batch, 1)
	if len(pairs) < batch {
		pairs = fillPairs(pairs, batch)
	}
	for s := 0; s < steps; s++ {
		if err := ctx.Err(); err != nil {
			return EpochMetrics{}, fmt.Errorf("trainer: interrupted in epoch %d of %d, before a model was kept: %w", epoch, r.cfg.Epochs, err)
		}
		bp := pairs[s*batch : (s+1)*batch]
		r.fill(nt, bp)
		dropTokens(nt, r.unknown, r.cfg.TokenDropout, r.tokenRng)
		nt.setNegatives(bp, r.sig)
		nt.setDropout(true, r.rng)
		l, err := nt.run(true)
		if err != nil {
			return EpochMetrics{}, fmt.Errorf("trainer: epoch %d: %w", epoch, err)
		}
		lossSum += float64(l)
	}
	m := EpochMetrics{Epoch: epoch, TotalEpochs: r.cfg.Epochs, Loss: lossSum / float64(steps)}
	m.PairsPerSec = float64(steps*batch) / time.Since(t0).Seconds()
	return m, nil
}

// fillPairs returns n pairs: pairs (not empty) repeated in order. A
// repeated pair's positive is masked as a negative of its twin
// (setNegatives), so the repeat adds weight, not a contradiction.
func fillPairs(pairs []pair, n int) []pair {
	out := make([]pair, n)
	for i := range out {
		out[i] = pairs[i%len(pairs)]
	}
	return out
}

// scoreEpoch adds the validation precision and recall (NaN without
// validation queries) and the spread of the epoch's model. It returns the
// index of the first track the model cannot embed
// (embedder.ErrDegenerate), or −1 when it embeds them all: such a model
// could be neither evaluated nor indexed.
func (r *run) scoreEpoch(m *EpochMetrics, model *embedder.Model, valQueries []eval.Query) (int, error) {
	vecs, err := model.EmbedBatch(r.fs.raw, nil)
	if bad, ok := errors.AsType[*embedder.DegenerateError](err); ok {
		return bad.Track, nil
	}
	if err != nil {
		return -1, err
	}
	m.ValPrecision, m.ValRecall = math.NaN(), math.NaN() // none without queries: a 0 would read as measured
	if len(valQueries) > 0 {
		sc, err := eval.Score(vecs, model.Dim(), r.val, valQueries, nil, r.cfg.EvalK)
		if err != nil {
			return -1, err
		}
		m.ValPrecision, m.ValRecall = sc.Precision, sc.Recall
	}
	m.Spread, err = eval.MeanPairwiseCosine(vecs, model.Dim(), 2000, r.cfg.Seed)
	return -1, err
}

// nonFinite says what of an epoch is not finite (its training loss, a
// table or layer weight), or "" when all of it is. Adam carries a NaN or
// an infinity into every later step, so the run cannot recover from it.
func nonFinite(m EpochMetrics, tables []embedder.Table, layers []embedder.Layer) string {
	if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
		return fmt.Sprintf("the training loss is %v", m.Loss)
	}
	for _, t := range tables {
		if !allFinite(t.W) {
			return fmt.Sprintf("the %s table has non-finite weights", t.Name)
		}
	}
	for i, l := range layers {
		if !allFinite(l.W) || !allFinite(l.B) {
			return fmt.Sprintf("layer %d has non-finite weights", i)
		}
	}
	return ""
}

func allFinite(v []float32) bool {
	for _, x := range v {
		if x-x != 0 { // NaN or ±Inf
			return false
		}
	}
	return true
}

// diverged ends a run whose epoch's model cannot be kept (why says what
// went wrong). The best earlier epoch, when there is one, is kept with a
// warning: the run's good epochs are not thrown away over a later blow-up.
// Without one the run fails with an error wrapping ErrDiverged that names
// the settings to change.
func (r *run) diverged(epoch int, why string, best *embedder.Model) (*embedder.Model, error) {
	cfg := r.cfg
	hint := fmt.Sprintf("a lower --learning-rate (now %v)", cfg.LearningRate)
	if len(r.fs.tables) > 0 {
		hint += fmt.Sprintf(" or --table-rate-scale (now %v)", cfg.TableRateScale)
	}
	if cfg.Loss == LossContrastive {
		hint += fmt.Sprintf(", or a higher --temperature (now %v)", cfg.LossTemperature())
	}
	if best == nil {
		return nil, fmt.Errorf("trainer: %w in epoch %d of %d: %s, so no epoch gave a model to keep; train again with %s",
			ErrDiverged, epoch, cfg.Epochs, why, hint)
	}
	r.warn(fmt.Sprintf("TRAINING DIVERGED in epoch %d of %d (%s): stopped, keeping epoch %d; %s trains steadily",
		epoch, cfg.Epochs, why, r.res.BestEpoch, hint))
	return best, nil
}

func (r *run) report(m EpochMetrics) {
	if r.cfg.Progress != nil {
		r.cfg.Progress(m)
		return
	}
	r.log.Info(fmt.Sprintf("epoch %d/%d: loss %.4f, val_loss %s, val precision@%d %s, spread %.3f, %.0f pairs/s, ETA %s",
		m.Epoch, r.cfg.Epochs, m.Loss, Figure(m.ValLoss), r.cfg.EvalK, Figure(m.ValPrecision), m.Spread, m.PairsPerSec, m.ETA.Round(time.Second)))
}

// Figure prints an epoch's validation figure to four places, or "-" when
// the epoch has none (NaN: the run has no validation pairs or queries):
// a 0.0000 or a NaN would read as measured.
func Figure(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

// finish evaluates the best model on the validation users beside the
// baselines and completes the result.
func (r *run) finish(best *embedder.Model) error {
	res, cfg := r.res, r.cfg
	res.Model = best
	var final eval.Report
	res.NoValidation = r.noFigures
	res.val, res.valOpts = r.val, eval.Options{K: cfg.EvalK, Seed: cfg.Seed}
	if res.NoValidation == "" {
		var err error
		final, err = res.Evaluate(best, r.tracks, nil)
		if errors.Is(err, eval.ErrNoQueries) {
			res.NoValidation = fmt.Sprintf("%d users held out, none with two tracks in the catalogue (import more users' interactions, or change --validation-split)", len(r.val))
			r.warn("no validation user has two tracks: no validation precision")
		} else if err != nil {
			return fmt.Errorf("trainer: final evaluation: %w", err)
		}
	}
	if res.NoValidation != "" {
		vecs, _ := eval.Embed(best, r.tracks)
		spread, err := eval.MeanPairwiseCosine(vecs, best.Dim(), 10000, cfg.Seed)
		if err != nil {
			return fmt.Errorf("trainer: final evaluation: %w", err)
		}
		final.MeanPairwiseCosine = spread
	}
	res.Final = Final{Report: final, BestEpoch: res.BestEpoch}
	res.Collapsed = final.MeanPairwiseCosine > CollapseThreshold
	if res.Collapsed {
		r.warn(collapseWarning(res.BestEpoch, final.MeanPairwiseCosine, cfg.Loss))
	}
	res.Duration = time.Since(r.start)
	return nil
}

func collapseWarning(epoch int, spread float64, loss string) string {
	msg := fmt.Sprintf("EMBEDDINGS COLLAPSED at epoch %d: random tracks have a mean cosine of %.3f (above %.1f), so every track looks like every other and recommendations are no better than random.", epoch, spread, CollapseThreshold)
	if loss == LossCosine {
		return msg + " The cosine loss has no negatives and its minimum is exactly this; train with --loss contrastive"
	}
	return msg + " Try a higher --temperature or a lower --learning-rate"
}

// fill writes the batch's anchors and positives into the graph inputs.
func (r *run) fill(nt *net, bp []pair) {
	fillBatch(nt, bp, r.x, r.width, r.rows)
}

// fillBatch writes the batch's anchors (rows 0..batch−1) and positives
// (rows batch..2·batch−1): their numeric rows from x and, per table,
// their token rows.
func fillBatch(nt *net, bp []pair, x []float32, width int, rows [][]int) {
	in := nt.input()
	b := nt.batch
	for i, p := range bp {
		copy(in[i*width:(i+1)*width], x[int(p.A)*width:int(p.A+1)*width])
		copy(in[(b+i)*width:(b+i+1)*width], x[int(p.B)*width:int(p.B+1)*width])
		for ti, lk := range nt.tables {
			s := lk.slots
			lk.set(i, rows[ti][int(p.A)*s:int(p.A+1)*s])
			lk.set(b+i, rows[ti][int(p.B)*s:int(p.B+1)*s])
		}
	}
}

// validationLoss is the loss over the validation pairs without dropout or
// updates; the last partial batch wraps around to the first pairs.
func validationLoss(nt *net, pairs []pair, r *run) (float64, error) {
	if len(pairs) == 0 {
		return math.NaN(), nil
	}
	b := nt.batch
	nt.setDropout(false, nil)
	bp := make([]pair, b)
	var sum float64
	steps := (len(pairs) + b - 1) / b
	for s := 0; s < steps; s++ {
		for i := range bp {
			bp[i] = pairs[(s*b+i)%len(pairs)]
		}
		r.fill(nt, bp)
		nt.setNegatives(bp, r.sig)
		l, err := nt.run(false)
		if err != nil {
			return 0, err
		}
		sum += float64(l)
	}
	return sum / float64(steps), nil
}

// signatures hashes each track's prepared numeric row and token rows: two
// ids with the same signature are the same song as far as the model can
// tell.
func signatures(x []float32, width int, rows [][]int) []uint64 {
	n := len(x) / width
	out := make([]uint64, n)
	h := fnv.New64a()
	var b [8]byte
	for i := 0; i < n; i++ {
		h.Reset()
		for _, v := range x[i*width : (i+1)*width] {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
			h.Write(b[:4])
		}
		for _, tr := range rows {
			s := len(tr) / n
			for _, row := range tr[i*s : (i+1)*s] {
				binary.LittleEndian.PutUint64(b[:], uint64(row))
				h.Write(b[:])
			}
		}
		out[i] = h.Sum64()
	}
	return out
}
