package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/eval"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/internal/words"
	"github.com/audotics/soundalike/trainer"
)

func init() {
	register(command{name: "train", summary: "train the track embedding model on the catalogue's interactions", run: runTrain})
}

// trainJSON is what `train --json` prints.
type trainJSON struct {
	Version   string            `json:"version,omitempty"`
	Config    trainer.RunConfig `json:"config"`
	Metrics   trainer.Final     `json:"metrics"`
	Epochs    int               `json:"epochs_run"`
	Collapsed bool              `json:"collapsed"`
	Warnings  []string          `json:"warnings"`
	Seconds   float64           `json:"seconds"`
	Files     map[string]string `json:"files,omitempty"`
	// Current says whether the new version became the current model, and
	// Promotion why (see --promote).
	Current   bool   `json:"current"`
	Promotion string `json:"promotion,omitempty"`
}

// trainRun is what the train command was asked to do.
type trainRun struct {
	cfg                           trainer.Config
	dbPath, out, runsDir, promote string
	asJSON, noSave                bool
	// flags are train's and actions is --actions as given, for the
	// refusal of an action the database does not hold (checkSelection),
	// which can be told only once it is open.
	flags   *flag.FlagSet
	actions string
}

// parseTrainArgs reads train's flags and refuses what would waste a run:
// a model that could not be written or would be thrown away.
func parseTrainArgs(args []string, stdio stdio) (*trainRun, error) {
	var (
		layers, actions, direct string
		r                       = &trainRun{cfg: trainer.DefaultConfig()}
		cfg                     = &r.cfg
	)
	fs := newFlagSet("train", stdio, &r.dbPath)
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "training epochs (passes over the sampled pairs)")
	fs.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "pairs per batch (the contrastive loss's negatives are the batch's other pairs)")
	fs.Float64Var(&cfg.ValidationSplit, "validation-split", cfg.ValidationSplit, "fraction of users held out for validation, in (0,1): those whose hash of --seed and name is lowest, so k users imported since a run with the same seed move at most k of the others to the other side")
	fs.Float64Var(&cfg.LearningRate, "learning-rate", cfg.LearningRate, "Adam learning rate")
	fs.IntVar(&cfg.EmbeddingSize, "embedding-size", cfg.EmbeddingSize, "embedding dimension")
	fs.StringVar(&layers, "hidden-layers", "128,64", "hidden layer sizes, comma-separated (each 1..4096, at most 16 layers); an empty value trains a model with none, a linear map from the inputs to the embedding")
	fs.Float64Var(&cfg.DropoutRate, "dropout-rate", cfg.DropoutRate, "dropout after each hidden layer, in [0,1)")
	fs.StringVar(&cfg.Loss, "loss", cfg.Loss, "contrastive (in-batch softmax) or cosine (the original; collapses)")
	fs.Float64Var(&cfg.Temperature, "temperature", cfg.Temperature, "with --loss contrastive: the softmax temperature; 0: the feature set's (0.03 for auto, 0.1 for audio+extras and spotify11)")
	fs.StringVar(&cfg.Features, "features", cfg.Features, "auto (audio+extras plus learned embeddings of artists and album; see --name-tokens), audio+extras (the 11 audio features plus duration, release year, popularity) or spotify11")
	fs.IntVar(&cfg.TokenDim, "token-dim", cfg.TokenDim, "with --features auto: dimensions of each metadata embedding table")
	fs.IntVar(&cfg.TokenBuckets, "token-buckets", cfg.TokenBuckets, "with --features auto: hashed rows per metadata table for rare and unseen artists, albums and name tokens")
	fs.IntVar(&cfg.NameTokens, "name-tokens", cfg.NameTokens, "with --features auto: track-name tokens (words, then character 3-grams) read, in a name table; 0: none")
	fs.Float64Var(&cfg.TableRateScale, "table-rate-scale", cfg.TableRateScale, "with --features auto: the metadata tables' learning rate as a multiple of --learning-rate")
	fs.Float64Var(&cfg.TableWeightDecay, "table-weight-decay", cfg.TableWeightDecay, "with --features auto: decoupled weight decay of the metadata tables: each step shrinks their weights by this × their learning rate")
	fs.Float64Var(&cfg.TokenDropout, "token-dropout", cfg.TokenDropout, "with --features auto: the probability, in [0,1), that a training track's artist, album or name token is read as its hashed bucket; above 0, the tokens no training track has (held-out users' and new tracks' artists) read their buckets too, so that the validation figures do not reward recognising them (docs/quality.md, \"Held-out artists\")")
	fs.IntVar(&cfg.AverageEpochs, "average-epochs", cfg.AverageEpochs, "each epoch's model is the mean of the last this many epochs' weights (1: its own; 0: the feature set's, 3 for auto, 1 for audio+extras and spotify11)")
	fs.StringVar(&direct, "direct", strings.Join(cfg.Direct, ","), "with --features auto: metadata tables (artists, album, name: the last with --name-tokens) whose rows are also added straight to the embedding, comma-separated; empty for none")
	fs.IntVar(&cfg.VocabMinCount, "vocab-min-count", cfg.VocabMinCount, "with --features auto: occurrences in the catalogue a token needs for a row of its own")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random `seed`: the same seed, data and flags give the same model")
	fs.IntVar(&cfg.Patience, "patience", cfg.Patience, "stop after this many epochs without a lower validation loss (0: never)")
	fs.StringVar(&actions, "actions", strings.Join(cfg.Actions, ","), "interactions that count as similarity, comma-separated, spelt as import accepts them (skips never count); another action must be one the database holds")
	fs.IntVar(&cfg.MaxPairsPerUser, "max-pairs-per-user", cfg.MaxPairsPerUser, "training pairs sampled per user and epoch")
	fs.BoolVar(&cfg.HardNegatives, "hard-negatives", cfg.HardNegatives, "build batches from users of one genre, so the negatives are same-genre tracks")
	fs.BoolVar(&r.asJSON, "json", false, "print the run summary as JSON")
	fs.StringVar(&r.out, "out", "", "also write the model to this `file` (the embedder's model file format), in a directory that exists; checked before training")
	fs.StringVar(&r.runsDir, "runs", "", "`directory` for the run's JSON Lines log and PNG curves, named <database>-<version>; created if missing, in a directory that exists (default: runs/ next to the database)")
	fs.BoolVar(&r.noSave, "no-save", false, "do not store the model in the database (use with --out)")
	fs.StringVar(&r.promote, "promote", promoteAuto, "whether the new version becomes the current model: auto (when its validation precision@k is not below the current model's, both measured on the validation users both runs held out; when the runs share none, or the current model cannot be measured on them, by the figures each run stored, which the reason then says are on different users; a run without validation figures never replaces a model with them), always or never")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike train [--db PATH] [flags]

Trains on the catalogue's interactions, stores the model as a new current version
(run soundalike reindex next) and logs the run under --runs. A database without
any interactions trains on synthetic users (random groups of tracks), with a
warning; --actions that select none of a database's interactions are an error.

A finished run is never thrown away: --out is written first, and if another
process holds the database when the model is to be stored, train waits for it
as long as it takes (--lock-timeout at a time, saying whom it waits for);
Ctrl-C gives the model up.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("train takes no arguments, got %q", fs.Args())
	}
	var err error
	if cfg.HiddenLayers, err = trainer.ParseLayers(layers); err != nil {
		return nil, usageError{err}
	}
	if cfg.Direct, err = splitList("--direct", direct, "metadata tables (artists, album, name)"); err != nil {
		return nil, err
	}
	r.flags, r.actions = fs, actions
	if cfg.Actions, err = parseActions(fs, actions); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageError{err}
	}
	if err := checkTrainFlagsApply(fs, cfg); err != nil {
		return nil, err
	}
	if r.promote != promoteAuto && r.promote != promoteAlways && r.promote != promoteNever {
		return nil, refuseFlag(fs, "promote", r.promote, "want auto, always or never")
	}
	if r.noSave && r.out == "" {
		return nil, usagef("--no-save: the model would be thrown away; give --out FILE too")
	}
	// A run's minutes are not spent on a model that cannot be written.
	if r.out != "" {
		if err := checkOutFile("--out", r.out, r.dbPath); err != nil {
			return nil, err
		}
	}
	if r.runsDir == "" {
		r.runsDir = defaultRunsDir(r.dbPath)
	} else if err := checkRunsDir(r.runsDir); err != nil {
		return nil, err
	}
	return r, nil
}

// metadataTableFlags are train's flags that set the metadata tables
// (artists, album, name tokens), which only --features auto has.
var metadataTableFlags = []string{"token-dim", "token-buckets", "vocab-min-count", "name-tokens", "table-rate-scale", "table-weight-decay", "token-dropout", "direct"}

// checkTrainFlagsApply refuses flags given for what the run does not
// have, which training would otherwise ignore without a word: a metadata
// table flag under --features audio+extras or spotify11, and --temperature
// under --loss cosine. (--direct name without --name-tokens is
// trainer.Config's to refuse: a library caller would meet it too.)
func checkTrainFlagsApply(fs *flag.FlagSet, cfg *trainer.Config) error {
	var errs []error
	if cfg.Features != trainer.FeaturesAuto {
		for _, name := range metadataTableFlags {
			if isFlagSet(fs, name) {
				errs = append(errs, fmt.Errorf("--%s needs --features auto: it sets the metadata tables, and --features %s has none", name, cfg.Features))
			}
		}
	}
	if cfg.Loss == trainer.LossCosine && isFlagSet(fs, "temperature") {
		errs = append(errs, fmt.Errorf("--temperature needs --loss %s: the %s loss has no temperature", trainer.LossContrastive, trainer.LossCosine))
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}

func runTrain(ctx context.Context, args []string, stdio stdio) error {
	r, err := parseTrainArgs(args, stdio)
	if err != nil {
		return err
	}
	// Read the data and let go of the database while training, so that
	// `runs`, `eval` or a server's reload are not locked out for minutes.
	tracks, ins, err := loadTrainingData(ctx, r, stdio)
	if err != nil {
		return err
	}
	if len(tracks) < 2 {
		return fmt.Errorf("train: the catalogue in %s has %s; import tracks first (soundalike import FILE)", r.dbPath, words.Count(len(tracks), "track"))
	}
	cfg := r.cfg
	// Interactions lists each stored interaction once, of the chosen
	// actions only, where info counts every occurrence of every action:
	// the line says so, so that the two numbers do not seem to disagree.
	fmt.Fprintf(stdio.err, "training on %s and %s of %s (%s loss, %s features)\n",
		words.Count(len(tracks), "track"), words.Count(len(ins), "distinct interaction"), strings.Join(cfg.Actions, ", "), cfg.Loss, cfg.Features)
	cfg.Logger = slog.New(&lineHandler{w: stdio.err})
	cfg.Progress = func(m trainer.EpochMetrics) {
		fmt.Fprintf(stdio.err, "epoch %3d/%d  loss %.4f  val_loss %s  val p@%d %s  r@%d %s  spread %.3f  %6.0f pairs/s  ETA %s\n",
			m.Epoch, m.TotalEpochs, m.Loss, trainer.Figure(m.ValLoss), cfg.EvalK, trainer.Figure(m.ValPrecision), cfg.EvalK, trainer.Figure(m.ValRecall), m.Spread, m.PairsPerSec, m.ETA.Round(time.Second))
	}
	res, err := trainer.Train(ctx, tracks, ins, cfg)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("train: %w; nothing was stored, %s is unchanged", err, r.dbPath)
	}
	if err != nil {
		return err
	}
	summary, outErr, err := keepModel(ctx, r, res, tracks, stdio)
	if err != nil {
		return err
	}
	if r.asJSON {
		if err := printIndentedJSON(stdio.out, summary); err != nil {
			return err
		}
		return outErr
	}
	printTrainReport(stdio.out, res, summary, r.noSave)
	return outErr
}

// keepModel writes a trained model where the run asked (--out, then the
// database, then the run's log and curves) and returns the run's summary.
// The model goes to --out first and to the database whatever became of
// that: a run is lost only if both fail. outErr is --out's failure when
// the database kept the model; err ends the command. tracks is the
// catalogue the run trained on, on which --promote auto measures the
// current model.
func keepModel(ctx context.Context, r *trainRun, res *trainer.Result, tracks []soundalike.Track, stdio stdio) (summary trainJSON, outErr, err error) {
	// A record that does not encode is stored empty, with a warning: the
	// model matters more than its record.
	mrun, recErr := res.ModelRun()
	if recErr != nil {
		fmt.Fprintf(stdio.err, "warning: not all of the run's record is stored with the model: %v\n", recErr)
	}
	summary = trainJSON{Config: res.Config, Metrics: res.Final, Epochs: len(res.Epochs), Collapsed: res.Collapsed,
		Warnings: res.History().Warnings, Seconds: res.Duration.Seconds(), Files: map[string]string{}}
	runID := time.Now().UTC().Format("20060102T150405Z")
	if r.out != "" {
		if outErr = writeFileAtomic(r.out, res.Model.Marshal()); outErr != nil {
			outErr = fmt.Errorf("--out %s: %w", r.out, outErr)
			if r.noSave {
				return summary, nil, outErr
			}
		} else {
			summary.Files["model"] = r.out
		}
	}
	if !r.noSave {
		run := newVersion{res: res, tracks: tracks, run: mrun}
		info, current, why, err := saveWhenFree(ctx, r.dbPath, r.promote, &run, stdio)
		if err != nil {
			if outErr == nil && r.out != "" {
				err = fmt.Errorf("%w (the model is in --out %s)", err, r.out)
			}
			return summary, nil, errors.Join(err, outErr)
		}
		summary.Version, summary.Current, summary.Promotion = info.Version, current, why
		runID = info.Version
		if outErr != nil {
			outErr = fmt.Errorf("%w (the model is stored as %s)", outErr, info.Version)
		}
	}
	logPath, plotPath, err := writeRunFiles(r.runsDir, runFileStem(r.dbPath, runID), runID, res)
	if err != nil {
		fmt.Fprintf(stdio.err, "warning: run log not written: %v\n", err)
	} else {
		summary.Files["log"], summary.Files["plot"] = logPath, plotPath
	}
	return summary, outErr, nil
}

// printTrainReport prints a finished run for a person: its validation
// figures against the baselines, the files written and what to do next.
func printTrainReport(w io.Writer, res *trainer.Result, summary trainJSON, noSave bool) {
	f := res.Final
	figure, note := bestEpochFigure(res)
	fmt.Fprintf(w, "trained %s in %s: %s, best epoch %d%s\n%s", orDash(summary.Version, "model"), res.Duration.Round(time.Second), words.Count(len(res.Epochs), "epoch"), res.BestEpoch, figure, note)
	if f.Queries == 0 {
		// The figures below would all be zeros at k=0, which no model scores.
		fmt.Fprintf(w, "no validation figures: %s\n", orDash(res.NoValidation, "none were computed"))
		fmt.Fprintf(w, "  spread (mean cosine of random pairs) %.3f\n", f.MeanPairwiseCosine)
	} else {
		printValidation(w, len(res.ValidationUsers), f)
	}
	for _, k := range []string{"model", "log", "plot"} {
		if p, ok := summary.Files[k]; ok {
			fmt.Fprintf(w, "%s: %s\n", k, p)
		}
	}
	if res.Collapsed {
		fmt.Fprintln(w, "WARNING: the embeddings collapsed; this model is no better than random. "+collapseAdvice(res.Config.Loss))
	}
	if !noSave {
		fmt.Fprintln(w, summary.Promotion)
		if summary.Current {
			fmt.Fprintln(w, "next: soundalike reindex")
		}
	}
}

// bestEpochFigure is the kept epoch's validation precision, which picked
// it, and, when the figures printed next are on more queries, a line
// saying why those differ from it: each epoch is scored on a sample of
// the validation queries (trainer.Result.EpochQueries), the kept model
// again on more of them, and the best of the epochs' figures reads high.
// Both are "" when the run has no validation figures.
func bestEpochFigure(res *trainer.Result) (figure, note string) {
	f := res.Final
	if f.Queries == 0 || res.BestEpoch < 1 || res.BestEpoch > len(res.Epochs) {
		return "", ""
	}
	p := trainer.Figure(res.Epochs[res.BestEpoch-1].ValPrecision)
	if res.EpochQueries >= f.Queries {
		return fmt.Sprintf(" (val p@%d %s)", f.K, p), ""
	}
	return fmt.Sprintf(" (val p@%d %s on the %s each epoch is scored on)", f.K, p, words.Count(res.EpochQueries, "query")),
		fmt.Sprintf("below, the kept model on %s, those %d and more: another sample than its epoch's figure, which, the best of %d epochs', reads high\n",
			words.Count(f.Queries, "query"), res.EpochQueries, len(res.Epochs))
}

// collapseAdvice says what to change after a collapse under loss: the
// cosine loss collapses by design; the contrastive one with too sharp or
// too fast a step.
func collapseAdvice(loss string) string {
	if loss == trainer.LossCosine {
		return "Train with --loss contrastive."
	}
	return "Train with a higher --temperature or a lower --learning-rate."
}

// printValidation prints a run's validation figures on its held-out
// users against the baselines.
func printValidation(w io.Writer, users int, f trainer.Final) {
	fmt.Fprintf(w, "validation users: %d, %s, k=%d\n", users, words.Count(f.Queries, "query"), f.K)
	fmt.Fprintf(w, "  precision@%d  model %.4f  raw_features %.4f  same_artist %.4f  random %.4f  (%s raw_features, %s same_artist)\n",
		f.K, f.Model.Precision, f.RawFeatures.Precision, f.SameArtist.Precision, f.Random.Precision, times(f.Model.Precision, f.RawFeatures.Precision), times(f.Model.Precision, f.SameArtist.Precision))
	fmt.Fprintf(w, "  recall@%d     model %.4f  raw_features %.4f  same_artist %.4f  random %.4f\n", f.K, f.Model.Recall, f.RawFeatures.Recall, f.SameArtist.Recall, f.Random.Recall)
	fmt.Fprintf(w, "  genre p@%d    model %.4f  raw_features %.4f  same_artist %.4f  random %.4f\n", f.K, f.Model.GenrePrecision, f.RawFeatures.GenrePrecision, f.SameArtist.GenrePrecision, f.Random.GenrePrecision)
	fmt.Fprintf(w, "  cross-artist p@%d  model %.4f  raw_features %.4f  random %.4f\n", f.K, f.Model.PrecisionCrossArtist, f.RawFeatures.PrecisionCrossArtist, f.Random.PrecisionCrossArtist)
	fmt.Fprintf(w, "  cross-artist r@%d  model %.4f  raw_features %.4f  random %.4f\n", f.K, f.Model.RecallCrossArtist, f.RawFeatures.RecallCrossArtist, f.Random.RecallCrossArtist)
	fmt.Fprintf(w, "  spread (mean cosine of random pairs) %.3f\n", f.MeanPairwiseCosine)
}

// --promote values.
const (
	promoteAuto   = "auto"
	promoteAlways = "always"
	promoteNever  = "never"
)

// newVersion is a finished run on its way into the database: the run,
// the catalogue it trained on, its record, and (once made) its comparison
// with the current model, which saveWhenFree's tries share.
type newVersion struct {
	res    *trainer.Result
	tracks []soundalike.Track
	run    soundalike.ModelRun
	cmp    *comparison
}

// comparison is the new model and the current one measured on the same
// users: the validation users both their runs held out, so that neither
// model trained on them (a model scores high on users it trained on, and
// another seed, or users imported since, hold out others). err says why
// they could not be measured so.
type comparison struct {
	version    string // the current model's
	users      int    // the users both were measured on
	newP, curP float64
	err        error
}

// compare returns the run's comparison with the current model cur, whose
// weights are m: made at the first call for that version, kept for
// saveWhenFree's later tries (seconds of work at a million tracks).
func (v *newVersion) compare(cur *soundalike.ModelInfo, m *embedder.Model, stdio stdio) *comparison {
	if v.cmp == nil || v.cmp.version != cur.Version {
		v.cmp = &comparison{version: cur.Version}
		v.cmp.users, v.cmp.newP, v.cmp.curP, v.cmp.err = v.measure(cur, m, stdio)
	}
	return v.cmp
}

// measure measures the run's model and the current model cur (weights
// m) on the validation users both runs held out (trainer.Result.Evaluate:
// the run's query sample and k): their number and precision@k, or why
// there are none to measure on.
func (v *newVersion) measure(cur *soundalike.ModelInfo, m *embedder.Model, stdio stdio) (users int, newP, curP float64, err error) {
	shared, err := sharedValidationUsers(cur, v.res)
	if err != nil {
		return 0, 0, 0, err
	}
	fmt.Fprintf(stdio.err, "train: measuring the new model and the current model %s on the %s both runs held out, to compare (--promote auto)\n", cur.Version, words.Count(len(shared), "validation user"))
	keep := func(u string) bool { return shared[u] }
	mine := v.res.Final.Report // all of the run's validation users
	if len(shared) < len(v.res.ValidationUsers) {
		mine, err = v.res.Evaluate(v.res.Model, v.tracks, keep)
	}
	var theirs eval.Report
	if err == nil {
		theirs, err = v.res.Evaluate(m, v.tracks, keep)
	}
	switch {
	case errors.Is(err, eval.ErrNoQueries):
		return 0, 0, 0, fmt.Errorf("none of the %s both runs held out has two tracks in the catalogue", words.Count(len(shared), "validation user"))
	case err != nil:
		return 0, 0, 0, fmt.Errorf("%s cannot be measured on this catalogue: %w", cur.Version, err)
	}
	return len(shared), mine.Model.Precision, theirs.Model.Precision, nil
}

// sharedValidationUsers returns the run's validation users that cur's
// run held out too, or why there are none: cur's run recorded none,
// either run's users are synthetic (random groups each run draws for
// itself, whose names mean nothing to the other), or the runs' splits
// share no user.
func sharedValidationUsers(cur *soundalike.ModelInfo, res *trainer.Result) (map[string]bool, error) {
	var cfg trainer.RunConfig
	var h trainer.RunHistory
	switch {
	case res.Config.Synthetic:
		return nil, errors.New("this run's validation users are synthetic")
	case json.Unmarshal(cur.Config, &cfg) == nil && cfg.Synthetic:
		return nil, fmt.Errorf("%s's validation users were synthetic", cur.Version)
	case json.Unmarshal(cur.History, &h) != nil || len(h.ValidationUsers) == 0:
		return nil, fmt.Errorf("%s's run recorded no validation users", cur.Version)
	}
	held := make(map[string]bool, len(h.ValidationUsers))
	for _, u := range h.ValidationUsers {
		held[u] = true
	}
	shared := make(map[string]bool)
	for _, u := range res.ValidationUsers {
		if held[u] {
			shared[u] = true
		}
	}
	if len(shared) == 0 {
		n := len(res.ValidationUsers)
		return nil, fmt.Errorf("%s's run held out none of this run's %s: another seed, or users imported since, split the users otherwise", cur.Version, words.Count(n, "validation user"))
	}
	return shared, nil
}

// saveWhenFree is saveModel tried again for as long as another process
// holds the database (an import, a reindex, a server's reload): the run
// has finished, and its minutes or hours must not be thrown away over a
// lock that will be released. Each try waits --lock-timeout, the wait
// saying whom for; only ctx (Ctrl-C) gives up.
func saveWhenFree(ctx context.Context, dbPath, promote string, v *newVersion, stdio stdio) (soundalike.ModelInfo, bool, string, error) {
	for {
		info, current, why, err := saveModel(ctx, dbPath, promote, v, stdio)
		if !errors.Is(err, soundalike.ErrLocked) {
			return info, current, why, err
		}
		if ctx.Err() != nil {
			return soundalike.ModelInfo{}, false, "", fmt.Errorf("train: stopped before the model was saved: %w", err)
		}
		fmt.Fprintln(stdio.err, "train: the database is still held by another process; the trained model is kept and train tries again until it is free (Ctrl-C gives the model up)")
	}
}

// saveModel stores the run's model as a new version and makes it current
// as --promote says; it returns whether it did and why.
func saveModel(ctx context.Context, dbPath, promote string, v *newVersion, stdio stdio) (soundalike.ModelInfo, bool, string, error) {
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(nil))
	if err != nil {
		return soundalike.ModelInfo{}, false, "", fmt.Errorf("train: save the model: %w", err)
	}
	defer eng.Close()
	var cur *soundalike.ModelInfo
	curModel, info, err := eng.LoadModel(ctx, "")
	if err == nil {
		cur = &info
	} else if !errors.Is(err, soundalike.ErrNoModel) {
		return soundalike.ModelInfo{}, false, "", fmt.Errorf("train: read the current model: %w", err)
	}
	var cmp *comparison
	if cur != nil && promote == promoteAuto && v.res.Final.K > 0 {
		cmp = v.compare(cur, curModel, stdio)
	}
	makeCurrent, why := promotion(promote, cur, v.res.Final, cmp)
	saved, err := eng.SaveModelVersion(ctx, v.res.Model, v.run, makeCurrent)
	if err != nil {
		return soundalike.ModelInfo{}, false, "", err
	}
	if cur == nil {
		makeCurrent = true
	}
	if makeCurrent {
		return saved, true, fmt.Sprintf("%s is now the current model: %s", saved.Version, why), nil
	}
	return saved, false, fmt.Sprintf("%s stays the current model: %s (soundalike models promote %s makes %s current)", cur.Version, why, saved.Version, saved.Version), nil
}

// promotion decides whether a new model with the validation figures fin
// replaces the current model cur (nil: none) under the --promote policy.
// cmp is the two measured on the same users (nil: not measured): only
// when they could not be (cmp's err) does the decision fall back to
// fin and the figures stored with cur, which are on other users (each
// run's own), and then the reason says why.
func promotion(policy string, cur *soundalike.ModelInfo, fin trainer.Final, cmp *comparison) (bool, string) {
	if cur == nil {
		return true, "there was no current model"
	}
	switch policy {
	case promoteAlways:
		return true, "--promote always"
	case promoteNever:
		return false, "--promote never"
	}
	if cmp != nil && cmp.err == nil {
		same := fmt.Sprintf("both measured on the same %s, held out by both runs", words.Count(cmp.users, "validation user"))
		if cmp.newP >= cmp.curP {
			return true, fmt.Sprintf("validation precision@%d %.4f is not below %s's %.4f, %s", fin.K, cmp.newP, cur.Version, cmp.curP, same)
		}
		return false, fmt.Sprintf("the new validation precision@%d %.4f is below %s's %.4f, %s", fin.K, cmp.newP, cur.Version, cmp.curP, same)
	}
	promote, why := promotionByStoredFigures(cur, fin)
	if cmp != nil {
		why += fmt.Sprintf(" (on different users, each run's own, since %v)", cmp.err)
	}
	return promote, why
}

// promotionByStoredFigures is --promote auto's decision by the
// validation figures stored with cur, measured on the users its own run
// held out: the fallback when cur cannot be measured on the new run's.
func promotionByStoredFigures(cur *soundalike.ModelInfo, fin trainer.Final) (bool, string) {
	var old trainer.Final
	if len(cur.Metrics) == 0 || json.Unmarshal(cur.Metrics, &old) != nil || old.K == 0 {
		return true, fmt.Sprintf("the current model %s has no validation figures to compare", cur.Version)
	}
	// A run without figures, or with figures at another k, cannot show
	// that it is not worse: the model that measured well stays.
	if fin.K == 0 {
		return false, fmt.Sprintf("the new model has no validation figures to compare with %s's precision@%d %.4f", cur.Version, old.K, old.Model.Precision)
	}
	if fin.K != old.K {
		return false, fmt.Sprintf("the new validation precision@%d cannot be compared with %s's precision@%d", fin.K, cur.Version, old.K)
	}
	p, q := fin.Model.Precision, old.Model.Precision
	if p >= q {
		return true, fmt.Sprintf("validation precision@%d %.4f is not below %s's %.4f", fin.K, p, cur.Version, q)
	}
	return false, fmt.Sprintf("the new validation precision@%d %.4f is below %s's %.4f", fin.K, p, cur.Version, q)
}

// loadTrainingData reads the catalogue and the similarity interactions
// under a brief read-only open, and refuses actions that select nothing
// the database holds.
func loadTrainingData(ctx context.Context, r *trainRun, stdio stdio) ([]soundalike.Track, []soundalike.Interaction, error) {
	eng, err := soundalike.Open(r.dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return nil, nil, err
	}
	defer eng.Close()
	tracks, err := eng.Tracks(ctx)
	if err != nil {
		return nil, nil, err
	}
	ins, err := eng.Interactions(ctx, r.cfg.Actions)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSelection(ctx, eng, r, ins); err != nil {
		return nil, nil, err
	}
	return tracks, ins, nil
}

// parseActions reads list, --actions of fs: comma-separated names, each
// spelt as import accepts it (liked, add_to_playlist, …) and turned into
// the name import stores (ingest.CanonicalAction), duplicates dropped. A
// skip is refused as refuseFlag refuses a value: it says the tracks do
// not belong together.
func parseActions(fs *flag.FlagSet, list string) ([]string, error) {
	// An empty name is refused: CanonicalAction would take it for a play.
	names, err := splitList("--actions", list, "action names such as play,like,addToPlaylist")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range names {
		c := ingest.CanonicalAction(a)
		if c == soundalike.ActionSkip {
			return nil, refuseFlag(fs, "actions", list, "%s is a skip, which never counts as similarity; want one or more of %s, or another action the database holds", quoteText(a), similarityActions)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// similarityActions names the actions --actions accepts in any database.
const similarityActions = "play, like and addToPlaylist (or import's spellings of them, such as played, liked, add_to_playlist)"

// checkSelection refuses the --actions of r whose interactions ins are:
// a name that is no similarity action and that no stored interaction has
// (a typo, or an action the app does not record), refused as refuseFlag
// refuses a value, or, in a database that holds interactions, names that
// select none of them. Training on them would fall back to random
// synthetic users, a model that learns nothing real, which --actions did
// not ask for. A database without any interactions still trains on
// synthetic users, with a loud warning: that is train's documented
// fallback.
func checkSelection(ctx context.Context, eng *soundalike.Engine, r *trainRun, ins []soundalike.Interaction) error {
	actions := r.cfg.Actions
	standard := soundalike.DefaultSimilarityActions()
	var unknown []string
	for _, a := range actions {
		if !slices.Contains(standard, a) && !slices.ContainsFunc(ins, func(in soundalike.Interaction) bool { return in.Action == a }) {
			unknown = append(unknown, a)
		}
	}
	if len(unknown) == 0 && len(ins) > 0 {
		return nil
	}
	c, err := eng.Counts()
	if err != nil {
		return err
	}
	if len(unknown) == 0 && c.Interactions == 0 {
		return nil
	}
	stored, err := storedActions(ctx, eng)
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		quoted := make([]string, len(unknown))
		for i, a := range unknown {
			quoted[i] = quoteText(a)
		}
		return refuseFlag(r.flags, "actions", r.actions, "no such action %s; want one or more of %s, or another action that %s holds (its interactions: %s)",
			strings.Join(quoted, ", "), similarityActions, eng.Path(), orDash(stored, "none"))
	}
	return fmt.Errorf("train: --actions %s selects none of the %s in %s (their actions: %s); name the actions to learn from, or import interactions with them (train falls back to synthetic users only when a database has no interactions at all)",
		strings.Join(actions, ","), words.Count(c.Interactions, "interaction"), eng.Path(), stored)
}

// storedActions lists the actions of the stored interactions with their
// counts, most frequent first: "like 120, skip 30".
func storedActions(ctx context.Context, eng *soundalike.Engine) (string, error) {
	all, err := eng.Interactions(ctx, nil)
	if err != nil {
		return "", err
	}
	n := map[string]int{}
	for _, in := range all {
		n[in.Action]++
	}
	names := slices.Collect(maps.Keys(n))
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(n[b]-n[a], strings.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, a := range names {
		parts[i] = fmt.Sprintf("%s %d", a, n[a])
	}
	return strings.Join(parts, ", "), nil
}

// ratio is a/b, 0 when b is 0 (JSON's "no ratio": the field is left out).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// times prints a/b as "1.23×", or "—" when b is 0: a baseline that scored
// nothing (a tiny held-out set) has no ratio, and 0.00× would claim one.
func times(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func orDash(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// lineHandler is a slog.Handler that prints each record's message as one
// plain line, warnings prefixed so they stand out.
type lineHandler struct{ w io.Writer }

func (h *lineHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	prefix := ""
	if r.Level >= slog.LevelWarn {
		prefix = "WARNING: "
	}
	_, err := fmt.Fprintf(h.w, "%s%s\n", prefix, r.Message)
	return err
}
func (h *lineHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineHandler) WithGroup(string) slog.Handler      { return h }
