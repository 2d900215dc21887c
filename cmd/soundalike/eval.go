package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/eval"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/trainer"
)

func init() {
	register(command{name: "eval", summary: "measure the model on held-out users against the raw-feature, same-artist and random baselines", run: runEval})
}

func runEval(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath, holdout, version string
		asJSON                   bool
		opts                     eval.Options
	)
	fs := newFlagSet("eval", stdio, &dbPath)
	fs.IntVar(&opts.K, "k", 20, "neighbours scored per query")
	fs.StringVar(&holdout, "holdout", "", "`file` of held-out users' interactions (any import format; their tracks must already be in the catalogue). Default: the model's validation users")
	fs.StringVar(&version, "model", "", "model `version` to evaluate (default: the current one)")
	fs.IntVar(&opts.MaxQueries, "queries", 2000, "held-out tracks sampled as queries")
	fs.Uint64Var(&opts.Seed, "seed", 1, "`seed` of the query sample and the random baseline")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike eval [--db PATH] [-k 20] [--holdout FILE] [--model VERSION] [--json]

For each held-out user's tracks (a seeded sample), ranks every other catalogue
track by exact cosine and reports precision@k, recall@k (hits / min(k, n-1))
and genre precision@k for the model, the eleven features standardised
(raw_features), the same with the query's artists' tracks first
(same_artist) and random vectors, plus the model's mean pairwise cosine.
p_cross and r_cross are precision and recall when every track sharing an
artist with the query is removed before taking the top k.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("eval takes no arguments, got %q", fs.Args())
	}
	if opts.K < 1 {
		return usagef("-k: %d is not a positive number of neighbours", opts.K)
	}
	if opts.MaxQueries < 1 {
		return usagef("--queries: %d is not a positive number", opts.MaxQueries)
	}
	if _, err := soundalike.ParseModelVersion(version); err != nil {
		return usagef("--model: %v", err)
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	m, info, err := eng.LoadModel(ctx, version)
	if err != nil {
		return err
	}
	tracks, err := eng.Tracks(ctx)
	if err != nil {
		return err
	}
	actions := soundalike.DefaultSimilarityActions()
	var cfg trainer.RunConfig
	if json.Unmarshal(info.Config, &cfg) == nil && len(cfg.Actions) > 0 {
		actions = cfg.Actions
	}

	var users [][]uint32
	if holdout != "" {
		ins, err := readHoldout(ctx, holdout, stdio.err)
		if err != nil {
			return err
		}
		var missing int
		_, users, missing = eval.GroupUsers(tracks, ins, actions, nil)
		if missing > 0 {
			fmt.Fprintf(stdio.err, "warning: --holdout %s: %d interactions name tracks that are not in the catalogue; they are left out (import the file with --no-interactions first)\n", holdout, missing)
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
		_, users, _ = eval.GroupUsers(tracks, ins, actions, func(u string) bool { return keep[u] })
	}
	rep, err := eval.Evaluate(m, tracks, users, &opts)
	if errors.Is(err, eval.ErrNoQueries) {
		return fmt.Errorf("eval: no held-out user has two or more of their tracks in the catalogue (model %s)", info.Version)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(rep)
	}
	fmt.Fprintf(stdio.out, "model %s, %d held-out users\n%s", info.Version, len(users), rep)
	fmt.Fprintf(stdio.out, "model precision@%d is %.2f× raw_features and %.2f× same_artist\n", rep.K, ratio(rep.Model.Precision, rep.RawFeatures.Precision), ratio(rep.Model.Precision, rep.SameArtist.Precision))
	if rep.MeanPairwiseCosine > trainer.CollapseThreshold {
		fmt.Fprintln(stdio.out, "WARNING: the model's embeddings have collapsed (mean cosine of random pairs above 0.9); retrain with --loss contrastive.")
	}
	return nil
}

// validationUsers returns the users a stored model held out in training.
func validationUsers(ctx context.Context, eng *soundalike.Engine, version string) ([]string, error) {
	models, err := eng.Models(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(models, func(m soundalike.ModelVersion) bool { return m.Version == version })
	var h runHistory
	if i < 0 || len(models[i].History) == 0 || json.Unmarshal(models[i].History, &h) != nil || len(h.ValidationUsers) == 0 {
		return nil, fmt.Errorf("eval: model %s has no recorded validation users; give --holdout FILE", version)
	}
	return h.ValidationUsers, nil
}

// readHoldout reads the interactions of an import file. Rejected rows are
// reported and skipped.
func readHoldout(ctx context.Context, path string, errw io.Writer) ([]soundalike.Interaction, error) {
	src, err := ingest.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--holdout: %w", err)
	}
	defer src.Close()
	var ins []soundalike.Interaction
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
			return nil, fmt.Errorf("--holdout: %w", err)
		}
		if rec.Interaction != nil {
			in := *rec.Interaction
			in.Action = ingest.CanonicalAction(in.Action)
			ins = append(ins, in)
		}
	}
	if rejected > 5 {
		fmt.Fprintf(errw, "warning: --holdout: %d rows skipped in all\n", rejected)
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("--holdout %s: no interactions (the file needs a user column, e.g. playlist_id or user_id)", path)
	}
	return ins, nil
}
