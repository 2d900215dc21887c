package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/eval"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/internal/words"
	"github.com/audotics/soundalike/trainer"
)

func init() {
	register(command{name: "eval", summary: "measure the model on held-out users against the raw-feature, same-artist and random baselines", run: runEval})
}

func runEval(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath, holdout, version, mode string
		asJSON                         bool
		maxLineBytes                   int
		opts                           eval.Options
	)
	fs := newFlagSet("eval", stdio, &dbPath)
	fs.IntVar(&opts.K, "k", 20, "neighbours scored per query, 1..(the catalogue's tracks − 2)")
	fs.StringVar(&holdout, "holdout", "", "`file` of held-out users' interactions (- for stdin; any import format; their tracks must already be in the catalogue, named by id, Spotify id, URI or link as for import). Default: the model's validation users")
	fs.IntVar(&maxLineBytes, "max-line-bytes", ingest.DefaultMaxLineBytes, "with --holdout: longest line (or CSV record) the file may have, in bytes, as for import")
	fs.StringVar(&version, "model", "", "model `version` to evaluate (default: the current one)")
	fs.IntVar(&opts.MaxQueries, "queries", 2000, "held-out tracks sampled as queries")
	fs.Uint64Var(&opts.Seed, "seed", 1, "`seed` of the query sample and the random baseline")
	fs.StringVar(&mode, "mode", "tracks", "`tracks`: each held-out track a query, against the baselines; user: each held-out user seeded with half their tracks, Recommend's strategies against the single-seed mean")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike eval [--db PATH] [-k 20] [--holdout FILE [--max-line-bytes N]] [--model VERSION]
                      [--mode tracks|user] [--queries 2000] [--seed 1] [--json]

For each held-out user's tracks (a seeded sample), ranks every other catalogue
track by exact cosine and reports precision@k, recall@k (hits / min(k, n-1))
and genre precision@k for the model, the eleven features standardised
(raw_features), the same with the query's artists' tracks first
(same_artist) and random vectors, plus the model's mean pairwise cosine.
p_cross and r_cross are precision and recall when every track sharing an
artist with the query is removed before taking the top k.

--mode user splits each held-out user's tracks in two (a shuffle seeded by
--seed), asks the served index for k recommendations from the first half and
counts the hits among the other half: precision@k and recall@k for
Recommend's average and best_score strategies and for the single-seed mean
(each seed's own Similar answer, the user's other seeds left out, averaged
over the seeds).

The held-out users are the model's validation users, or those of the
interactions --holdout reads from FILE ("-" is stdin), in any format import
takes. FILE's users that the database holds interactions for and that are
not among the model's validation users were (very likely) trained on: eval
warns of them, the report does not call them held out, and --json counts
them in users_trained_on.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("eval takes no arguments, got %q", fs.Args())
	}
	if opts.K < 1 {
		return refuseFlag(fs, "k", opts.K, "want at least 1 (neighbours)")
	}
	if opts.MaxQueries < 1 {
		return refuseFlag(fs, "queries", opts.MaxQueries, "want at least 1 (queries)")
	}
	version, err := checkModelFlag(fs, version)
	if err != nil {
		return err
	}
	if maxLineBytes < 1 {
		return refuseFlag(fs, "max-line-bytes", maxLineBytes, "want at least 1 (bytes)")
	}
	if isFlagSet(fs, "max-line-bytes") && holdout == "" {
		return usagef("--max-line-bytes needs --holdout: it limits the lines of the held-out file")
	}
	if mode != "tracks" && mode != "user" {
		return refuseFlag(fs, "mode", mode, "want tracks or user")
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	m, info, err := eng.LoadModel(ctx, version)
	if err != nil {
		return rewordVersion(ctx, eng, "--model", version, err)
	}
	tracks, err := eng.Tracks(ctx)
	if err != nil {
		return err
	}
	if err := checkEvalK(fs, opts.K, len(tracks), eng.Path()); err != nil {
		return err
	}
	actions := soundalike.DefaultSimilarityActions()
	var cfg trainer.RunConfig
	if json.Unmarshal(info.Config, &cfg) == nil && len(cfg.Actions) > 0 {
		actions = cfg.Actions
	}

	// One index of the catalogue for all that looks tracks up by id:
	// resolveHoldout, GroupUsers and evalUserSplits.
	index := eval.IndexTracks(tracks)
	var (
		users [][]uint32
		who   measured
	)
	if holdout != "" {
		hf, err := readHoldout(ctx, holdout, stdio.in, maxLineBytes, stdio.err)
		if err != nil {
			return err
		}
		if err := resolveHoldout(ctx, eng, index, hf.ins); err != nil {
			return err
		}
		var left []int
		who.names, users, left = index.GroupUsers(hf.ins, actions, nil)
		warnLeftOut(stdio.err, hf, left)
		if err := checkHoldoutUsers(ctx, eng, index, info, &cfg, actions, hf, &who, stdio.err); err != nil {
			return err
		}
	} else {
		if cfg.Synthetic {
			return fmt.Errorf("eval: model %s was trained on synthetic users (the database had no usable interactions), so it has no real held-out users; give --holdout FILE", info.Version)
		}
		valUsers, err := validationUsers(ctx, eng, info.Version)
		if err != nil {
			return err
		}
		keep := make(map[string]bool, len(valUsers))
		for _, u := range valUsers {
			keep[u] = true
		}
		ins, err := eng.Interactions(ctx, actions)
		if err != nil {
			return err
		}
		who.names, users, _ = index.GroupUsers(ins, actions, func(u string) bool { return keep[u] })
	}
	if mode == "user" {
		return evalUsers(ctx, eng, info, tracks, index, users, &who, &opts, asJSON, stdio)
	}
	rep, err := eval.Evaluate(m, tracks, users, &opts)
	if errors.Is(err, eval.ErrNoQueries) {
		return fmt.Errorf("eval: no held-out user has two or more of their tracks in the catalogue (model %s)", info.Version)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(evalJSON{info.Version, &rep, who.trainedCount(who.names)})
	}
	fmt.Fprintf(stdio.out, "model %s, %s\n%s", info.Version, who.label(who.names), rep)
	fmt.Fprintln(stdio.out, comparePrecision(fmt.Sprintf("model precision@%d", rep.K), rep.Model.Precision,
		baseline{"raw_features", rep.RawFeatures.Precision}, baseline{"same_artist", rep.SameArtist.Precision}))
	if rep.MeanPairwiseCosine > trainer.CollapseThreshold {
		fmt.Fprintln(stdio.out, "WARNING: the model's embeddings have collapsed (mean cosine of random pairs above 0.9); retrain with --loss contrastive.")
	}
	return nil
}

// baseline is a baseline's name and its precision, for comparePrecision.
type baseline struct {
	name      string
	precision float64
}

// comparePrecision is the sentence that puts what's precision p beside
// the baselines': "model precision@20 is 1.52× raw_features and 0.91×
// same_artist". A baseline that scored 0 (a small held-out set) has no
// ratio, so it is said to score 0 instead, and p is given as a number when
// no baseline is left to compare it with: "model precision@5 is 0.0400;
// raw_features and same_artist score 0".
func comparePrecision(what string, p float64, baselines ...baseline) string {
	var ratios, zeros []string
	for _, b := range baselines {
		if b.precision == 0 {
			zeros = append(zeros, b.name)
		} else {
			ratios = append(ratios, times(p, b.precision)+" "+b.name)
		}
	}
	if len(ratios) == 0 {
		ratios = []string{fmt.Sprintf("%.4f", p)}
	}
	s := what + " is " + strings.Join(ratios, " and ")
	switch len(zeros) {
	case 0:
	case 1:
		s += "; " + zeros[0] + " scores 0"
	default:
		s += "; " + strings.Join(zeros, " and ") + " score 0"
	}
	return s
}

// evalJSON is what eval --json prints: the report and, as the text's
// first line names it, the version of the model measured (model_version:
// the report's "model" is that model's scores beside the baselines').
//
// users_trained_on is, with --holdout, how many of the report's users
// the model trained on (checkHoldoutUsers), 0 when none, and at most so
// many when the database holds users imported since; it is left out
// when there was nothing to check (the model's validation users) or no
// way to (a model that recorded none).
type evalJSON struct {
	ModelVersion string `json:"model_version"`
	*eval.Report
	UsersTrainedOn *int `json:"users_trained_on,omitempty"`
}

// evalUsersJSON is what eval --mode user --json prints, named as evalJSON.
type evalUsersJSON struct {
	ModelVersion string `json:"model_version"`
	*eval.UserReport
	UsersTrainedOn *int `json:"users_trained_on,omitempty"`
}

// checkEvalK refuses a -k the catalogue of n tracks cannot rank
// meaningfully: with k ≥ n−1 each query's top k holds every other
// track, so every model, the random baseline too, scores the same
// precision and a recall of 1. train's validation precision@k has the
// same bound (trainer: a catalogue too small for it trains without
// validation figures).
func checkEvalK(fs *flag.FlagSet, k, n int, db string) error {
	if k <= n-2 {
		return nil
	}
	if n < 3 {
		return refuseFlag(fs, "k", k, "the catalogue in %s has %s, too few to rank: eval needs 3 or more", db, words.Count(n, "track"))
	}
	return refuseFlag(fs, "k", k, "the catalogue in %s has %d tracks, so each query's top %d would hold every other track and every model would score alike (recall 1); want 1..%d",
		db, n, k, n-2)
}

// validationUsers returns the users a stored model held out in training.
func validationUsers(ctx context.Context, eng *soundalike.Engine, version string) ([]string, error) {
	users, err := recordedValidationUsers(ctx, eng, version)
	if err == nil && len(users) == 0 {
		return nil, fmt.Errorf("eval: model %s has no recorded validation users; give --holdout FILE", version)
	}
	return users, err
}

// recordedValidationUsers returns the users a stored model held out in
// training, none when its history does not record them (a model trained
// before it did).
func recordedValidationUsers(ctx context.Context, eng *soundalike.Engine, version string) ([]string, error) {
	models, err := eng.Models(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(models, func(m soundalike.ModelVersion) bool { return m.Version == version })
	var h trainer.RunHistory
	if i < 0 || len(models[i].History) == 0 || json.Unmarshal(models[i].History, &h) != nil {
		return nil, nil
	}
	return h.ValidationUsers, nil
}

// measured is who eval measures: the users' names, in GroupUsers' order,
// and which of them the model trained on.
type measured struct {
	names []string
	// holdout is whether the users are --holdout's, checked against the
	// model's record (checkHoldoutUsers); the model's own validation
	// users need no check.
	holdout bool
	// unchecked is whether the model recorded no validation users, so
	// that which of --holdout's users it trained on is unknown.
	unchecked bool
	trained   map[string]bool // the users the model trained on
	// grown is whether the database holds more users than the model
	// trained with: users imported since are among trained, which then
	// holds those the model trained on at most.
	grown bool
}

// trainedCount is how many of names the model trained on, for the JSON
// report: nil when there was nothing to check or no way to.
func (m *measured) trainedCount(names []string) *int {
	if !m.holdout || m.unchecked {
		return nil
	}
	n := 0
	for _, u := range names {
		if m.trained[u] {
			n++
		}
	}
	return &n
}

// label names the users measured (names) as the report's first line
// does: "302 held-out users" only when none of them was trained on, and
// otherwise how many were.
func (m *measured) label(names []string) string {
	n := len(names)
	trained := m.trainedCount(names)
	on, all := "trained on", "all trained on (not held out)"
	if m.grown {
		on = "trained on or imported since training"
		all = "all " + on
	}
	switch {
	case m.unchecked:
		return words.Count(n, "user") + ", not checked as held out"
	case trained == nil || *trained == 0:
		return words.Count(n, "held-out user")
	case *trained == n:
		return words.Count(n, "user") + ", " + all
	}
	return fmt.Sprintf("%s: %d %s, %d held out", words.Count(n, "user"), *trained, on, n-*trained)
}

// checkHoldoutUsers marks the users of --holdout's file (who.names) that
// model info (its config cfg, its actions) very likely trained on, and
// warns of them: those the database holds interactions of the model's
// actions with catalogue tracks for that are not among its validation
// users, since train splits the users it finds so (trainer's
// splitUsers). Users imported since training are counted too, though the
// model never saw them; the warning says so when the database holds more
// users than the model trained with. A model that recorded no validation
// users cannot be checked, and one trained on synthetic users trained on
// no real user.
func checkHoldoutUsers(ctx context.Context, eng *soundalike.Engine, index eval.TrackIndex, info soundalike.ModelInfo, cfg *trainer.RunConfig, actions []string,
	hf *holdoutFile, who *measured, errw io.Writer) error {
	who.holdout = true
	if cfg.Synthetic {
		return nil
	}
	val, err := recordedValidationUsers(ctx, eng, info.Version)
	if err != nil {
		return err
	}
	if len(val) == 0 {
		who.unchecked = true
		fmt.Fprintf(errw, "warning: --holdout %s: model %s recorded no validation users (it was trained before they were recorded), so whether it trained on the file's users cannot be checked\n", hf.path, info.Version)
		return nil
	}
	ins, err := eng.Interactions(ctx, actions)
	if err != nil {
		return err
	}
	stored, _, _ := index.GroupUsers(ins, actions, nil)
	held := make(map[string]bool, len(val))
	for _, u := range val {
		held[u] = true
	}
	file := make(map[string]bool, len(who.names))
	for _, u := range who.names {
		file[u] = true
	}
	who.trained = map[string]bool{}
	for _, u := range stored {
		if file[u] && !held[u] {
			who.trained[u] = true
		}
	}
	if len(who.trained) == 0 {
		return nil
	}
	have, are := "have", "are"
	if len(who.trained) == 1 {
		have, are = "has", "is"
	}
	fmt.Fprintf(errw, "warning: --holdout %s: %d of its %s %s interactions in %s and %s not among model %s's validation users: the model trained on them, so their figures read high; "+
		"give held-out users (a file of users the database did not hold when the model trained, or the model's validation users: eval without --holdout)\n",
		hf.path, len(who.trained), words.Count(len(who.names), "user"), have, eng.Path(), are, info.Version)
	if since := len(stored) - cfg.NumUsers; cfg.NumUsers > 0 && since > 0 {
		who.grown = true
		fmt.Fprintf(errw, "warning: --holdout %s: %s holds %d more users than model %s trained with: those of the file's users imported since it trained are counted above, but it never saw them\n",
			hf.path, eng.Path(), since, info.Version)
	}
	return nil
}

// holdoutFile is what eval --holdout reads of its file.
type holdoutFile struct {
	path  string // the file's name in messages: "stdin" for -
	stdin bool
	ins   []soundalike.Interaction
	// lines[i] is the line of ins[i] in the file, 0 when its format has
	// no lines.
	lines []int
	// tracks is whether any row held a track (the file has feature
	// columns), so that an import of the file adds tracks.
	tracks bool
}

// readHoldout reads the interactions of an import file ("-" is stdin, as
// for import), whose lines may be maxLineBytes long. Rejected rows are
// reported and skipped.
func readHoldout(ctx context.Context, path string, stdin io.Reader, maxLineBytes int, errw io.Writer) (*holdoutFile, error) {
	opts := &ingest.FileOptions{MaxLineBytes: maxLineBytes, Context: ctx}
	hf := &holdoutFile{path: path, stdin: path == "-"}
	var (
		src *ingest.FileSource
		err error
	)
	if hf.stdin {
		hf.path = "stdin"
		src, err = ingest.NewFileReader(hf.path, stdin, opts)
	} else {
		src, err = ingest.OpenFile(path, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("--holdout: %w", lineLimitFlag(err))
	}
	defer src.Close()
	rejected := 0
	for {
		rec, err := src.Next(ctx)
		if err == io.EOF {
			break
		}
		if re, ok := errors.AsType[*ingest.RowError](err); ok {
			if rejected++; rejected <= 5 {
				fmt.Fprintf(errw, "warning: --holdout: %v (row skipped)\n", re)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("--holdout: %w", lineLimitFlag(err))
		}
		hf.tracks = hf.tracks || rec.Track != nil
		if rec.Interaction != nil {
			in := *rec.Interaction
			in.Action = ingest.CanonicalAction(in.Action)
			hf.ins = append(hf.ins, in)
			hf.lines = append(hf.lines, rec.Line)
		}
	}
	if rejected > 5 {
		fmt.Fprintf(errw, "warning: --holdout: %d rows skipped in all\n", rejected)
	}
	if len(hf.ins) == 0 {
		return nil, fmt.Errorf("--holdout %s: no interactions (the file needs a user column, e.g. playlist_id or user_id)", hf.path)
	}
	return hf, nil
}

// resolveHoldout names each held-out interaction's track by the id the
// catalogue (index) stores it under, as an import stores an interaction
// (Engine.ResolveTracks): a file that names tracks by Spotify id counts
// for a catalogue keyed by the app's own ids. Only the distinct
// references that are no catalogue id are looked up. A track that names
// none is left as it is, for GroupUsers to list as missing.
func resolveHoldout(ctx context.Context, eng *soundalike.Engine, index eval.TrackIndex, ins []soundalike.Interaction) error {
	var refs []soundalike.TrackID
	asked := map[soundalike.TrackID]int{} // a reference's place in refs
	for i := range ins {
		ref := ins[i].Track
		if _, ok := asked[ref]; ok {
			continue
		}
		if _, stored := index[ref]; !stored {
			asked[ref] = len(refs)
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	ids, err := eng.ResolveTracks(ctx, refs)
	if err != nil {
		return fmt.Errorf("--holdout: %w", err)
	}
	for i := range ins {
		if j, ok := asked[ins[i].Track]; ok && ids[j] != "" {
			ins[i].Track = ids[j]
		}
	}
	return nil
}

// maxLeftOutListed is how many of the interactions left out warnLeftOut
// names by their line.
const maxLeftOutListed = 5

// warnLeftOut warns of the held-out interactions left out (the indices
// of hf.ins in left) for naming a track not in the catalogue: how many,
// the first few by line and track reference, and what would add the
// tracks. An import of the file adds them only when it has feature
// columns; otherwise they were deleted or never imported.
func warnLeftOut(w io.Writer, hf *holdoutFile, left []int) {
	if len(left) == 0 {
		return
	}
	what := fmt.Sprintf("%d interactions name tracks that are not in the catalogue", len(left))
	them := "they are"
	if len(left) == 1 {
		what, them = "1 interaction names a track that is not in the catalogue", "it is"
	}
	if hf.tracks {
		file := hf.path
		if hf.stdin {
			file = "the file"
		}
		fmt.Fprintf(w, "warning: --holdout %s: %s; %s left out (import %s with --no-interactions first to add the file's tracks):\n", hf.path, what, them, file)
	} else {
		fmt.Fprintf(w, "warning: --holdout %s: %s (deleted, or never imported: the file has no feature columns to import tracks from); %s left out:\n", hf.path, what, them)
	}
	for _, i := range left[:min(len(left), maxLeftOutListed)] {
		at := hf.path
		if hf.lines[i] > 0 {
			at += ":" + strconv.Itoa(hf.lines[i])
		}
		fmt.Fprintf(w, "  %s: track %q\n", at, hf.ins[i].Track)
	}
	if more := len(left) - maxLeftOutListed; more > 0 {
		fmt.Fprintf(w, "  and %d more\n", more)
	}
}

// evalUsers is eval --mode user: Recommend's strategies and the
// single-seed mean on the held-out users, through the served index.
func evalUsers(ctx context.Context, eng *soundalike.Engine, info soundalike.ModelInfo, tracks []soundalike.Track, index eval.TrackIndex, users [][]uint32, who *measured, opts *eval.Options, asJSON bool, stdio stdio) error {
	served, err := eng.Model(ctx)
	if err != nil {
		return err
	}
	if served.Version != info.Version {
		return fmt.Errorf("eval --mode user: the index serves model %s, not %s: user mode measures the served index (run soundalike reindex to serve %s)", served.Version, info.Version, info.Version)
	}
	splits := eval.SplitUsers(users, opts.Seed)
	if len(splits) == 0 {
		return fmt.Errorf("eval: no held-out user has two or more of their tracks in the catalogue (model %s)", info.Version)
	}
	err = evalUserSplits(ctx, eng, info, tracks, index, splits, who, opts, asJSON, stdio)
	if errors.Is(err, soundalike.ErrNoIndex) {
		return fmt.Errorf("eval --mode user: %s has no index, and user mode measures the served index: run soundalike reindex first (or eval without --mode user)", eng.Path())
	}
	return err
}

// evalUserSplits scores the held-out users' splits through the served
// index and prints the report.
func evalUserSplits(ctx context.Context, eng *soundalike.Engine, info soundalike.ModelInfo, tracks []soundalike.Track, index eval.TrackIndex, splits []eval.UserSplit, who *measured, opts *eval.Options, asJSON bool, stdio stdio) error {
	indices := func(ns []soundalike.Neighbor) []uint32 {
		out := make([]uint32, len(ns))
		for i := range ns {
			out[i] = index[ns[i].ID]
		}
		return out
	}
	refs := func(ts []uint32) []soundalike.TrackID {
		out := make([]soundalike.TrackID, len(ts))
		for i, t := range ts {
			out[i] = tracks[t].ID
		}
		return out
	}
	recommend := func(st soundalike.Strategy) eval.Recommender {
		return func(seeds []uint32, k int) ([]uint32, error) {
			q := soundalike.RecommendQuery{Strategy: st, K: k}
			for _, id := range refs(seeds) {
				q.Positive = append(q.Positive, soundalike.Example{Track: id})
			}
			res, err := eng.Recommend(ctx, q)
			return indices(res.Neighbors), err
		}
	}
	var err error
	rep := eval.UserReport{K: opts.K, Users: len(splits)}
	if rep.Average, err = eval.ScoreUsers(splits, opts.K, recommend(soundalike.StrategyAverage)); err != nil {
		return err
	}
	if rep.BestScore, err = eval.ScoreUsers(splits, opts.K, recommend(soundalike.StrategyBestScore)); err != nil {
		return err
	}
	rep.SingleSeed, err = eval.ScoreSingleSeed(splits, opts.K, func(seed uint32, others []uint32, k int) ([]uint32, error) {
		res, err := eng.Similar(ctx, tracks[seed].ID, k, &soundalike.SearchOptions{Exclude: refs(others)})
		return indices(res.Neighbors), err
	})
	if err != nil {
		return err
	}
	// The users measured are those with a split (two tracks or more).
	names := make([]string, len(splits))
	for i, sp := range splits {
		names[i] = who.names[sp.User]
	}
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(evalUsersJSON{info.Version, &rep, who.trainedCount(names)})
	}
	fmt.Fprintf(stdio.out, "model %s, user mode, %s\n%s", info.Version, who.label(names), rep)
	if rep.SingleSeed.Precision == 0 {
		// No ratio to a mean of 0: the precisions themselves.
		fmt.Fprintf(stdio.out, "precision@%d: average %.4f and best_score %.4f; the single-seed mean scores 0\n", rep.K, rep.Average.Precision, rep.BestScore.Precision)
		return nil
	}
	fmt.Fprintf(stdio.out, "precision@%d: average %s and best_score %s the single-seed mean\n", rep.K, times(rep.Average.Precision, rep.SingleSeed.Precision), times(rep.BestScore.Precision, rep.SingleSeed.Precision))
	return nil
}
