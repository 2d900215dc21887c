package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/internal/words"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/trainer"
)

func init() {
	register(command{name: "demo", summary: "import the built-in sample, train, reindex and serve it", run: runDemo})
}

func runDemo(ctx context.Context, args []string, stdio stdio) error {
	addr, keep, epochs, err := parseDemoArgs(args, stdio)
	if err != nil {
		return err
	}
	// Listen first: a busy port should fail before a minute of work.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w (choose another with --addr 127.0.0.1:PORT)", listenError(addr, err))
	}
	defer ln.Close()

	dbPath := keep
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "soundalike-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "demo.db")
	} else if _, err := os.Stat(dbPath); err == nil {
		return usagef("--db %s: the file exists; the demo builds a fresh database", dbPath)
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdio.err, format+"\n", a...) }
	start := time.Now()

	eng, err := soundalike.Open(dbPath, nil)
	if err != nil {
		return err
	}
	defer eng.Close()

	say("[1/4] importing the built-in sample (whole playlists of the Spotify songs set)…")
	if err := demoImport(ctx, eng, say); err != nil {
		return err
	}
	say("[2/4] training the embedding model (%s)…", words.Count(epochs, "epoch"))
	tracks, err := demoTrain(ctx, eng, epochs, say)
	if err != nil {
		return err
	}

	say("[3/4] embedding every track and building the index…")
	rs, err := eng.Reindex(ctx, nil)
	if err != nil {
		return fmt.Errorf("demo: reindex: %w", err)
	}
	say("      %d tracks indexed in %v", rs.Inserted, rs.Took.Round(time.Millisecond))

	if _, err := eng.Reload(ctx); err != nil { // load before the first query
		return err
	}
	base := "http://" + ln.Addr().String()
	say("[4/4] serving on %s (ready after %v; Ctrl-C stops)\n", base, time.Since(start).Round(100*time.Millisecond))
	printExamples(stdio, base, tracks)

	// Reloaded as serve reloads by default, so that import, delete, train
	// and reindex on its --db show in its answers.
	go eng.Watch(ctx, defaultReload)
	logger := slog.New(slog.NewTextHandler(stdio.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := server.New(eng, &server.Options{Logger: logger})
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// defaultReload is how often a server checks its database for changes:
// serve's default --reload, and the demo's.
const defaultReload = 2 * time.Second

// parseDemoArgs reads demo's flags: the address to serve on, the
// database to build ("" for a temporary one) and the training epochs.
func parseDemoArgs(args []string, stdio stdio) (addr, keep string, epochs int, err error) {
	fs := newFlagSet("demo", stdio, nil)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "`address` to serve on")
	fs.StringVar(&keep, "db", "", "database `path` to build (default: a temporary file, deleted on exit)")
	fs.IntVar(&epochs, "epochs", trainer.DefaultConfig().Epochs, "training epochs")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: soundalike demo [--addr 127.0.0.1:8080] [--db PATH] [--epochs N]\n\nImports the sample built into the binary (whole playlists of the public Spotify\nsongs set) into a fresh database, trains a model, builds the index and serves it,\nreloading the database every %v as serve does.\n", defaultReload)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return "", "", 0, err
	}
	switch {
	case fs.NArg() > 0:
		return "", "", 0, usagef("demo takes no arguments, got %q", fs.Args())
	case epochs < 1:
		return "", "", 0, refuseFlag(fs, "epochs", epochs, "want at least 1")
	}
	return addr, keep, epochs, checkAddr(addr)
}

// demoImport imports the sample built into the binary into eng.
func demoImport(ctx context.Context, eng *soundalike.Engine, say func(string, ...any)) error {
	var sum ingest.Summary
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		src, err := ingest.NewReader("spotify_sample.csv.gz", bytes.NewReader(demoSample))
		if err != nil {
			return err
		}
		defer src.Close()
		sum, err = ingest.Run(ctx, src, tx, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("demo: import: %w", err)
	}
	counts, _ := eng.Counts()
	say("      %d tracks, %d interactions from %d users (%d rows rejected)", counts.Tracks, counts.Interactions, counts.Users, sum.Rejected)
	return nil
}

// demoTrain trains a model on eng's tracks and interactions, with the
// default configuration but epochs, and saves it as the current model. It
// returns the tracks, which the demo's example queries name.
func demoTrain(ctx context.Context, eng *soundalike.Engine, epochs int, say func(string, ...any)) ([]soundalike.Track, error) {
	tracks, err := eng.Tracks(ctx)
	if err != nil {
		return nil, err
	}
	cfg := trainer.DefaultConfig()
	cfg.Epochs = epochs
	inter, err := eng.Interactions(ctx, cfg.Actions)
	if err != nil {
		return nil, err
	}
	cfg.Progress = func(m trainer.EpochMetrics) {
		if m.Epoch == 1 || m.Epoch%10 == 0 || m.Epoch == m.TotalEpochs {
			say("      epoch %d/%d  loss %.4f  val_loss %s  val precision@20 %s", m.Epoch, m.TotalEpochs, m.Loss, trainer.Figure(m.ValLoss), trainer.Figure(m.ValPrecision))
		}
	}
	res, err := trainer.Train(ctx, tracks, inter, cfg)
	if err != nil {
		return nil, fmt.Errorf("demo: train: %w", err)
	}
	if res.EarlyStop != "" {
		say("      early stop after epoch %d of %d: %s; keeping epoch %d", len(res.Epochs), epochs, res.EarlyStop, res.BestEpoch)
	}
	run, err := res.ModelRun() // a part that does not encode is left out
	if err != nil {
		say("      warning: %v", err)
	}
	info, err := eng.SaveModel(ctx, res.Model, run)
	if err != nil {
		return nil, err
	}
	say("      model %s (best epoch %d)", info.Version, res.BestEpoch)
	return tracks, nil
}

// printExamples prints ready-to-paste requests about real tracks: the most
// popular ones of the sample, one per artist.
func printExamples(stdio stdio, base string, tracks []soundalike.Track) {
	sorted := append([]soundalike.Track(nil), tracks...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Popularity > sorted[j].Popularity })
	seen := map[string]bool{}
	var picks []soundalike.Track
	for _, t := range sorted {
		if t.Name == "" || len(t.Artists) == 0 || seen[t.Artists[0]] {
			continue
		}
		seen[t.Artists[0]] = true
		picks = append(picks, t)
		if len(picks) == 3 {
			break
		}
	}
	w := stdio.out
	fmt.Fprintf(w, "Explore in a browser: %s/\n", base)
	if len(picks) > 0 {
		fmt.Fprintf(w, "  or open a track's view: %s/?track=%s\n", base, url.QueryEscape(string(picks[0].ID)))
	}
	fmt.Fprintln(w, "Try:")
	for _, t := range picks {
		fmt.Fprintf(w, "  # tracks that sound like %q by %s\n", t.Name, strings.Join(t.Artists, ", "))
		fmt.Fprintf(w, "  curl '%s/similar?track=%s&k=5'\n", base, url.QueryEscape(string(t.ID)))
	}
	if len(picks) >= 2 {
		fmt.Fprintf(w, "  # a mix of two seeds, without their artists\n")
		fmt.Fprintf(w, "  curl -X POST %s/similar -H 'Content-Type: application/json' -d '{\"tracks\":[\"%s\",\"%s\"],\"k\":5,\"exclude_artist\":true}'\n", base, picks[0].ID, picks[1].ID)
		fmt.Fprintf(w, "  # recommendations: like the first, unlike the second, at most one per artist\n")
		fmt.Fprintf(w, "  curl -X POST %s/recommend -H 'Content-Type: application/json' -d '{\"positive\":[\"%s\"],\"negative\":[\"%s\"],\"strategy\":\"best_score\",\"k\":5,\"max_per_artist\":1}'\n", base, picks[0].ID, picks[1].ID)
	}
	fmt.Fprintf(w, "  # a track that is not in the catalogue, by its audio features\n")
	fmt.Fprintf(w, "  curl -X POST %s/similar -H 'Content-Type: application/json' -d '{\"features\":{\"acousticness\":0.1,\"danceability\":0.8,\"energy\":0.7,\"instrumentalness\":0,\"key\":5,\"liveness\":0.1,\"loudness\":-5,\"mode\":1,\"speechiness\":0.05,\"tempo\":120,\"valence\":0.6},\"k\":5}'\n", base)
	if len(picks) > 0 {
		fmt.Fprintf(w, "  curl %s/tracks/%s\n", base, url.PathEscape(string(picks[0].ID)))
	}
	fmt.Fprintf(w, "  curl %s/model\n  curl %s/metrics\n", base, base)
}
