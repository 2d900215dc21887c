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
)

// EpochMetrics are one epoch's figures.
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
	Collapsed       bool     // the best epoch's embeddings are collapsed
	Warnings        []string // everything said at Warn level, in order
	Duration        time.Duration
}

// ErrTooFewTracks: training needs at least two tracks.
var ErrTooFewTracks = errors.New("trainer: need at least two tracks")

// Train fits a model. tracks is the catalogue; interactions say which
// tracks belong together (by user). Whole users are held out for
// validation; the epoch with the lowest validation loss is kept. It
// stops early after Patience epochs without improvement, and when ctx is
// done (returning ctx's error).
func Train(ctx context.Context, tracks []soundalike.Track, interactions []soundalike.Interaction, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(tracks) < 2 {
		return nil, ErrTooFewTracks
	}
	start := time.Now()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := &Result{}
	warn := func(msg string) {
		res.Warnings = append(res.Warnings, msg)
		log.Warn(msg)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7ea1))

	// Features: encoding, standardisation, the prepared input rows.
	inputs, raw, notes, err := chooseInputs(tracks, cfg.Features)
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	for _, n := range notes {
		log.Info(n)
	}
	ni := len(inputs)
	width := embedder.EncodedWidth(inputs)
	enc := make([]float32, 0, len(tracks)*width)
	for i := range tracks {
		enc = append(enc, embedder.Encode(inputs, raw[i*ni:(i+1)*ni], nil)...)
	}
	mean, std := embedder.FitStandardization(enc, width)
	proto, err := embedder.New(inputs, mean, std, []embedder.Layer{{In: width, Out: 1, W: make([]float32, width), B: []float32{0}}}, nil)
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	x := make([]float32, 0, len(tracks)*width)
	for i := range tracks {
		x = append(x, proto.Prepare(raw[i*ni:(i+1)*ni], nil)...)
	}
	sig := signatures(x, width)

	// Users and pairs.
	names, users, missing := eval.GroupUsers(tracks, interactions, cfg.Actions, nil)
	if missing > 0 {
		warn(fmt.Sprintf("%d interactions name tracks that are not in the catalogue; they are ignored", missing))
	}
	usable := 0
	for _, u := range users {
		if len(u) >= 2 {
			usable++
		}
	}
	synthetic := usable == 0
	if synthetic {
		warn(fmt.Sprintf("NO USABLE INTERACTIONS (no user has two or more %v interactions with catalogue tracks): "+
			"falling back to the original's synthetic users, random groups of tracks. "+
			"The model then learns NOTHING REAL about which tracks belong together; import interactions and train again", cfg.Actions))
		users = syntheticUsers(len(tracks), rng)
		names = make([]string, len(users))
		for i := range names {
			names[i] = fmt.Sprintf("synthetic-%d", i)
		}
	}
	trainIdx, valIdx := splitUsers(len(users), cfg.ValidationSplit, rng)
	// Users in name order, as eval.GroupUsers gives them, so that `eval`
	// on the recorded validation users samples the same queries.
	slices.Sort(trainIdx)
	slices.Sort(valIdx)
	pick := func(idx []int) [][]uint32 {
		out := make([][]uint32, len(idx))
		for i, u := range idx {
			out[i] = users[u]
		}
		return out
	}
	trainUsers, valUsers := pick(trainIdx), pick(valIdx)
	for _, u := range valIdx {
		res.ValidationUsers = append(res.ValidationUsers, names[u])
	}
	valPairs := samplePairs(valUsers, cfg.MaxPairsPerUser, sig, rand.New(rand.NewPCG(cfg.Seed, 0x7a1)))
	if len(valPairs) > maxValPairs {
		valPairs = valPairs[:maxValPairs] // already shuffled
	}
	firstPairs := samplePairs(trainUsers, cfg.MaxPairsPerUser, sig, rng)
	if len(firstPairs) < 2 {
		return nil, fmt.Errorf("trainer: only %d training pairs from %d training users; need at least 2 (more interactions, or a smaller --validation-split)", len(firstPairs), len(trainUsers))
	}
	possible := possiblePairs(trainUsers)
	log.Info(fmt.Sprintf("pairs: %d training pairs per epoch from %d training users (%d possible; at most %d per user, resampled each epoch: --max-pairs-per-user); %d validation pairs from %d held-out users",
		len(firstPairs), len(trainUsers), possible, cfg.MaxPairsPerUser, len(valPairs), len(valUsers)))

	batch := min(cfg.BatchSize, len(firstPairs))
	res.Config = RunConfig{
		Epochs: cfg.Epochs, BatchSize: batch, ValidationSplit: cfg.ValidationSplit, LearningRate: cfg.LearningRate,
		EmbeddingSize: cfg.EmbeddingSize, HiddenLayers: append([]int{}, cfg.HiddenLayers...), DropoutRate: cfg.DropoutRate,
		FeatureDim: width, NumTracks: len(tracks), NumSimilarPairs: len(firstPairs),
		Loss: cfg.Loss, Temperature: cfg.Temperature, Features: cfg.Features, Inputs: proto.Inputs(), Seed: cfg.Seed,
		Patience: cfg.Patience, Actions: append([]string{}, cfg.Actions...), MaxPairsPerUser: cfg.MaxPairsPerUser,
		NumUsers: len(users), NumValUsers: len(valUsers), Synthetic: synthetic,
	}
	configJSON, err := json.Marshal(res.Config)
	if err != nil {
		return nil, err
	}

	nt, err := newNet(batch, width, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		return nil, fmt.Errorf("trainer: build graph: %w", err)
	}
	defer nt.close()
	snapshot := func() (*embedder.Model, error) {
		return embedder.New(inputs, mean, std, nt.layers(), configJSON)
	}

	valQueries := eval.Sample(valUsers, cfg.EvalQueries, cfg.Seed)
	var best *embedder.Model
	bestScore, since := math.Inf(-1), 0
	pairs := firstPairs
	warned := false
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		t0 := time.Now()
		if epoch > 1 {
			pairs = samplePairs(trainUsers, cfg.MaxPairsPerUser, sig, rng)
		}
		var lossSum float64
		steps := len(pairs) / batch
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			bp := pairs[s*batch : (s+1)*batch]
			fill(nt, bp, x, width)
			nt.setNegatives(bp, sig)
			nt.setDropout(true, rng)
			l, err := nt.run(true)
			if err != nil {
				return nil, fmt.Errorf("trainer: epoch %d: %w", epoch, err)
			}
			lossSum += float64(l)
		}
		trainSecs := time.Since(t0).Seconds()
		m := EpochMetrics{Epoch: epoch, TotalEpochs: cfg.Epochs, Loss: lossSum / float64(max(steps, 1))}
		m.PairsPerSec = float64(steps*batch) / trainSecs
		if m.ValLoss, err = validationLoss(nt, valPairs, x, width, sig); err != nil {
			return nil, fmt.Errorf("trainer: epoch %d: validation: %w", epoch, err)
		}
		model, err := snapshot()
		if err != nil {
			return nil, fmt.Errorf("trainer: epoch %d: %w", epoch, err)
		}
		vecs := model.EmbedBatch(raw, nil)
		if len(valQueries) > 0 {
			sc := eval.Score(vecs, model.Dim(), valUsers, valQueries, nil, cfg.EvalK)
			m.ValPrecision, m.ValRecall = sc.Precision, sc.Recall
		}
		m.Spread = eval.MeanPairwiseCosine(vecs, model.Dim(), 2000, cfg.Seed)
		// A fresh ReLU network starts with a high spread; warn when it is
		// high and not falling.
		if m.Spread > CollapseThreshold && epoch > 1 && m.Spread >= res.Epochs[len(res.Epochs)-1].Spread && !warned {
			warn(collapseWarning(epoch, m.Spread, cfg.Loss))
			warned = true // once per run, and once more at the end
		}
		m.Seconds = time.Since(t0).Seconds()
		m.ETA = time.Duration(float64(cfg.Epochs-epoch) * float64(time.Since(start)) / float64(epoch))
		res.Epochs = append(res.Epochs, m)
		if cfg.Progress != nil {
			cfg.Progress(m)
		} else {
			log.Info(fmt.Sprintf("epoch %d/%d: loss %.4f, val_loss %.4f, val precision@%d %.4f, spread %.3f, %.0f pairs/s, ETA %s",
				epoch, cfg.Epochs, m.Loss, m.ValLoss, cfg.EvalK, m.ValPrecision, m.Spread, m.PairsPerSec, m.ETA.Round(time.Second)))
		}
		// The validation loss is the selection score: it is computed on a
		// fixed set of pairs and moves smoothly, where precision@k on a few
		// hundred queries jumps by more than the epochs differ.
		score := -m.ValLoss
		if math.IsNaN(score) {
			score = m.ValPrecision
		}
		if score > bestScore {
			bestScore, best, res.BestEpoch, since = score, model, epoch, 0
		} else if since++; cfg.Patience > 0 && since >= cfg.Patience {
			log.Info(fmt.Sprintf("early stop: no better validation loss for %d epochs (--patience); keeping epoch %d", since, res.BestEpoch))
			break
		}
	}
	res.Model = best

	final, err := eval.Evaluate(best, tracks, valUsers, &eval.Options{K: cfg.EvalK, Seed: cfg.Seed})
	if err != nil && !errors.Is(err, eval.ErrNoQueries) {
		return nil, fmt.Errorf("trainer: final evaluation: %w", err)
	}
	if err != nil {
		warn("no validation user has two tracks: no validation precision")
		vecs, _ := eval.Embed(best, tracks)
		final.MeanPairwiseCosine = eval.MeanPairwiseCosine(vecs, best.Dim(), 10000, cfg.Seed)
	}
	res.Final = Final{Report: final, BestEpoch: res.BestEpoch}
	res.Collapsed = final.MeanPairwiseCosine > CollapseThreshold
	if res.Collapsed {
		warn(collapseWarning(res.BestEpoch, final.MeanPairwiseCosine, cfg.Loss))
	}
	res.Duration = time.Since(start)
	return res, nil
}

func collapseWarning(epoch int, spread float64, loss string) string {
	msg := fmt.Sprintf("EMBEDDINGS COLLAPSED at epoch %d: random tracks have a mean cosine of %.3f (above %.1f), so every track looks like every other and recommendations are no better than random.", epoch, spread, CollapseThreshold)
	if loss == LossCosine {
		return msg + " The cosine loss has no negatives and its minimum is exactly this; train with --loss contrastive"
	}
	return msg + " Try a higher --temperature or --learning-rate lower; --loss contrastive is the loss that prevents this"
}

// fill writes the batch's anchors and positives into the graph input.
func fill(nt *net, bp []pair, x []float32, width int) {
	in := nt.input()
	b := nt.batch
	for i, p := range bp {
		copy(in[i*width:(i+1)*width], x[int(p.A)*width:int(p.A+1)*width])
		copy(in[(b+i)*width:(b+i+1)*width], x[int(p.B)*width:int(p.B+1)*width])
	}
}

// validationLoss is the loss over the validation pairs without dropout or
// updates; the last partial batch wraps around to the first pairs.
func validationLoss(nt *net, pairs []pair, x []float32, width int, sig []uint64) (float64, error) {
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
		fill(nt, bp, x, width)
		nt.setNegatives(bp, sig)
		l, err := nt.run(false)
		if err != nil {
			return 0, err
		}
		sum += float64(l)
	}
	return sum / float64(steps), nil
}

// signatures hashes each track's prepared input row: two ids with the same
// signature are the same song as far as the model can tell.
func signatures(x []float32, width int) []uint64 {
	n := len(x) / width
	out := make([]uint64, n)
	h := fnv.New64a()
	var b [4]byte
	for i := 0; i < n; i++ {
		h.Reset()
		for _, v := range x[i*width : (i+1)*width] {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
		out[i] = h.Sum64()
	}
	return out
}
