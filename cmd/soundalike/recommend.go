package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/printable"
	"github.com/audotics/soundalike/internal/words"
	"github.com/audotics/soundalike/server"
)

func init() {
	register(command{name: "recommend", summary: "tracks for a user's history, or like and unlike given tracks, as the recommend endpoints answer", run: runRecommend})
}

func runRecommend(ctx context.Context, args []string, stdio stdio) error {
	dbPath, q, asJSON, err := parseRecommendArgs(args, stdio)
	if err != nil {
		return err
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	announceLoad(eng, dbPath, "the index", stdio)
	loadBeforeQuery(ctx, eng)
	resp, err := server.Recommend(ctx, eng, q)
	if err != nil {
		if cerr, ok := errors.AsType[*soundalike.ExampleConflictError](err); ok {
			return conflictUsage(q, cerr)
		}
		if uerr := refUsage(err, ""); uerr != nil {
			return uerr
		}
		if q.User != "" {
			return fmt.Errorf("recommend --user %s: %w", printable.String(q.User), reword(err))
		}
		if errors.Is(err, soundalike.ErrNotFound) {
			if merr := missingExample(ctx, eng, q); merr != nil {
				return merr
			}
		}
		return fmt.Errorf("recommend: %w", reword(err))
	}
	if err := closeBeforePrinting(eng, dbPath); err != nil {
		return err
	}
	if asJSON {
		_, err := stdio.out.Write(append(resp.AppendJSON(nil), '\n'))
		return err
	}
	fmt.Fprintf(stdio.out, "%s (model %s, strategy %s)\n\n", printable.String(recommendTitle(q)), printable.String(resp.Model), resp.Strategy)
	return writeResults(stdio.out, resp.Results)
}

// parseRecommendArgs reads recommend's flags into the query they ask.
func parseRecommendArgs(args []string, stdio stdio) (dbPath string, q soundalike.RecommendQuery, asJSON bool, err error) {
	var (
		user, positive, negative, strategy string
		k                                  int
		search                             searchFlags
	)
	fs := newFlagSet("recommend", stdio, &dbPath)
	fs.StringVar(&user, "user", "", "recommend for this user `id` from their history (likes, adds and plays; skips count against)")
	fs.StringVar(&positive, "positive", "", fmt.Sprintf("comma-separated `tracks` to recommend like (ids, spotify:track: URIs or open.spotify.com links); at most %d examples, --negative's included", server.MaxSeeds))
	fs.StringVar(&negative, "negative", "", "comma-separated `tracks` to recommend unlike, with --positive (ids, spotify:track: URIs or open.spotify.com links)")
	fs.StringVar(&strategy, "strategy", "", "how the examples combine: average (one index search) or best_score (several; it finds more of a user's tracks, docs/quality.md); default average")
	fs.IntVar(&k, "k", server.DefaultK, fmt.Sprintf("number of results, 1..%d", soundalike.MaxK))
	search.add(fs, "the examples'")
	fs.BoolVar(&asJSON, "json", false, "print the JSON that GET /users/{id}/recommend or POST /recommend answers")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike recommend [--db PATH] --user ID [--strategy average|best_score] [-k 20] [--json]
                            [--exclude ID,...]... [--exclude-artist] [--no-dedupe]
       soundalike recommend [--db PATH] --positive ID,... [--negative ID,...] [--strategy average|best_score] [-k 20] [--json]
                            [--exclude ID,...]... [--exclude-artist] [--no-dedupe]

Prints the tracks recommended for a user's history (as GET /users/{id}/recommend
answers) or for positive and negative example tracks (as POST /recommend answers;
with --json, the same JSON). The examples and the user's tracks are never
recommended.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return "", q, false, err
	}
	if fs.NArg() > 0 {
		return "", q, false, usagef("recommend takes no arguments, got %q (give --user ID or --positive ID,...)", fs.Args())
	}
	// From the most particular mistake to the least: --negative alone
	// would otherwise read as nothing given.
	switch {
	case user != "" && (positive != "" || negative != ""):
		return "", q, false, usagef("--user and --positive/--negative are alternatives: give one")
	case negative != "" && positive == "":
		return "", q, false, usagef("--negative needs --positive: at least one positive example")
	case user == "" && positive == "":
		return "", q, false, usagef("give --user ID (a user's history) or --positive ID,... (example tracks)")
	}
	if k < 1 || k > soundalike.MaxK {
		return "", q, false, refuseFlag(fs, "k", k, "want 1..%d", soundalike.MaxK)
	}
	st, err := soundalike.ParseStrategy(strategy)
	if err != nil {
		return "", q, false, refuseFlag(fs, "strategy", strategy, "want %s", soundalike.StrategyList())
	}
	opts, err := search.options()
	if err != nil {
		return "", q, false, err
	}
	q = soundalike.RecommendQuery{User: user, Strategy: st, K: k, Options: opts}
	for _, side := range []struct {
		flag, list string
		exs        *[]soundalike.Example
	}{{"--positive", positive, &q.Positive}, {"--negative", negative, &q.Negative}} {
		refs, err := trackList(side.flag, side.list)
		if err != nil {
			return "", q, false, err
		}
		for _, ref := range refs {
			*side.exs = append(*side.exs, soundalike.Example{Track: ref})
		}
	}
	// POST /recommend's limit: the command answers what it answers.
	if n := len(q.Positive) + len(q.Negative); n > server.MaxSeeds {
		return "", q, false, usagef("--positive, --negative: %d examples: at most %d in one query", n, server.MaxSeeds)
	}
	return dbPath, q, asJSON, nil
}

// recommendTitle is the line above the results of q.
func recommendTitle(q soundalike.RecommendQuery) string {
	if q.User != "" {
		return fmt.Sprintf("Recommended for user %s", q.User)
	}
	title := "Recommended like " + words.Count(len(q.Positive), "track")
	if len(q.Negative) > 0 {
		title += fmt.Sprintf(" and unlike %d", len(q.Negative))
	}
	return title
}

// conflictUsage is the usage error of a negative example that is also a
// positive one, named by the flags and references as given (Recommend's
// names them as the JSON body places them).
func conflictUsage(q soundalike.RecommendQuery, e *soundalike.ExampleConflictError) error {
	neg := printable.String(string(q.Negative[e.Negative].Track))
	pos := printable.String(string(q.Positive[e.Positive].Track))
	if neg == pos {
		return usagef("--negative %s is also given in --positive: give each track on one side only", neg)
	}
	return usagef("--negative %s and --positive %s name one track: give each track on one side only", neg, pos)
}

// missingExample returns the error of the first example of q, positive
// then negative as Recommend resolves them, that names no catalogue
// track, named by its flag and reference as given ("recommend --positive
// nope: track "nope" is not in the catalogue (never imported, or deleted
// since)"); nil when Track finds every example (Recommend's ErrNotFound was then about something else). The
// engine's own error names the example by its place in the query
// ("positive[0]"), which is the JSON body's name for it, not the
// command line's.
func missingExample(ctx context.Context, eng *soundalike.Engine, q soundalike.RecommendQuery) error {
	for _, side := range []struct {
		flag string
		exs  []soundalike.Example
	}{{"--positive", q.Positive}, {"--negative", q.Negative}} {
		for _, ex := range side.exs {
			if _, err := eng.Track(ctx, ex.Track); errors.Is(err, soundalike.ErrNotFound) {
				return fmt.Errorf("recommend %s %s: %w", side.flag, printable.String(string(ex.Track)), err)
			}
		}
	}
	return nil
}
