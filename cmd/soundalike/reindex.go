package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/index"
	"github.com/audotics/soundalike/internal/words"
)

func init() {
	register(command{name: "reindex", summary: "embed every track with the model and build the HNSW index", run: runReindex})
}

// indexFlags binds the HNSW parameters onto o. Each usage gives the
// flag's range and what 0 means, as checkIndexFlags checks them. --workers
// defaults to 0 (all cores), not to this machine's count, so that -h says
// what the default is rather than a number true here only.
func indexFlags(fs interface {
	IntVar(*int, string, int, string)
}, o *index.Options) {
	d := index.DefaultOptions()
	fs.IntVar(&o.M, "m", d.M, fmt.Sprintf("HNSW `M`: neighbours per node (2M on layer 0), 2..%d or 0 for the default", index.MaxM))
	fs.IntVar(&o.EfConstruction, "ef-construction", d.EfConstruction, fmt.Sprintf("HNSW beam width while building, 1..%d or 0 for the default", index.MaxEf))
	fs.IntVar(&o.EfSearch, "ef-search", d.EfSearch, fmt.Sprintf("HNSW beam width of a search that sets none (stored with the index), 1..%d or 0 for the default", index.MaxEf))
	fs.IntVar(&o.Workers, "workers", 0, fmt.Sprintf("goroutines that build the index, 1..%d or 0 for all cores", maxIndexWorkers))
}

// maxIndexWorkers is index's limit on Options.Workers, which it does not
// export; index.Options.Validate still has the last word.
const maxIndexWorkers = 1024

// checkIndexFlags reports every HNSW flag out of its range, naming the
// flag and the range (index.Options.Validate names the option fields).
func checkIndexFlags(fs *flag.FlagSet, o index.Options) error {
	var refusals []string
	for _, f := range []struct {
		flag        string
		v, min, max int
		zero        string
	}{
		{"m", o.M, 2, index.MaxM, fmt.Sprintf("the default, %d", index.DefaultM)},
		{"ef-construction", o.EfConstruction, 1, index.MaxEf, fmt.Sprintf("the default, %d", index.DefaultEfConstruction)},
		{"ef-search", o.EfSearch, 1, index.MaxEf, fmt.Sprintf("the default, %d", index.DefaultEfSearch)},
		{"workers", o.Workers, 1, maxIndexWorkers, "all cores"},
	} {
		if f.v != 0 && (f.v < f.min || f.v > f.max) {
			refusals = append(refusals, flagRefusal(f.flag, f.v, "want %d..%d (0: %s)", f.min, f.max, f.zero))
		}
	}
	return refuseFlags(fs, refusals)
}

type reindexJSON struct {
	Tracks   int    `json:"tracks"`
	Embedded int    `json:"embedded"`
	Inserted int    `json:"inserted"`
	Deleted  int    `json:"deleted"`
	TookMS   int64  `json:"took_ms"`
	Full     bool   `json:"full"`
	Model    string `json:"model"`
}

func runReindex(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath string
		opts   soundalike.ReindexOptions
		asJSON bool
	)
	fs := newFlagSet("reindex", stdio, &dbPath)
	fs.StringVar(&opts.Model, "model", "", "model `version` to embed with (default: the current one)")
	fs.BoolVar(&opts.Full, "full", false, "rebuild from scratch instead of updating what changed")
	fs.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	indexFlags(fs, &opts.Index)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike reindex [--db PATH] [--model VERSION] [--full] [--json]
                         [-m 16] [--ef-construction 200] [--ef-search 80] [--workers N]

Embeds every track with the model (--model, or the current one) and stores
the HNSW index that similar, recommend and serve answer from. It updates the
stored index: only the tracks imported, changed or deleted since it was
built are embedded and inserted or removed, unless the model, -m or
--ef-construction changed, which rebuilds it, as --full always does. The new
index replaces the old in one transaction: an interrupted reindex leaves the
previous one, and a running serve picks the new one up at its next reload.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("reindex takes no arguments, got %q", fs.Args())
	}
	if err := checkIndexFlags(fs, opts.Index); err != nil {
		return err
	}
	if err := opts.Index.Validate(); err != nil { // what checkIndexFlags does not know of
		return usagef("%v\n%s", err, flagsPointer(fs))
	}
	model, err := checkModelFlag(fs, opts.Model)
	if err != nil {
		return err
	}
	opts.Model = model
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(nil))
	if err != nil {
		return err
	}
	defer eng.Close()

	bar := newProgress(stdio.err, -1, "reindex", "tracks")
	stage := ""
	opts.Progress = func(s string, done, total int) {
		if s != stage {
			stage = s
			bar.Done()
			bar = newProgress(stdio.err, int64(total), s, "tracks")
		}
		bar.Set(int64(done))
	}
	sum, err := eng.Reindex(ctx, &opts)
	bar.Done()
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return interruptedReindex(eng, context.Cause(ctx))
	}
	if err != nil {
		return rewordVersion(ctx, eng, "--model", opts.Model, err)
	}
	out := reindexJSON{Tracks: sum.Tracks, Embedded: sum.Embedded, Inserted: sum.Inserted,
		Deleted: sum.Deleted, TookMS: sum.Took.Milliseconds(), Full: sum.Full, Model: sum.Model}
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(out)
	}
	kind := "incremental"
	if sum.Full {
		kind = "full"
	}
	fmt.Fprintf(stdio.out, "reindexed %s with model %s (%s): %d embedded, %d inserted, %d deleted in %v\n",
		words.Count(sum.Tracks, "track"), sum.Model, kind, sum.Embedded, sum.Inserted, sum.Deleted, sum.Took.Round(1e6))
	return nil
}

// interruptedReindex is the error of a reindex stopped by cause (Ctrl-C).
// Reindex honours its context only before it stores anything: the save
// phase, once begun, writes the whole index and switches to it in one
// transaction. So an error wrapping the context's means the database
// holds, and a server serves, the index it had before.
func interruptedReindex(eng *soundalike.Engine, cause error) error {
	before := "its previous index"
	st, err := eng.IndexState(context.Background())
	switch {
	case err == nil:
		before = fmt.Sprintf("its previous index (model %s, %s, built %s)", st.Model, words.Count(st.Tracks, "track"), st.Created.Local().Format("2006-01-02 15:04"))
	case errors.Is(err, soundalike.ErrNoIndex):
		return fmt.Errorf("reindex: interrupted (%w) before the new index was stored: %s still has no index; run soundalike reindex again to build one", cause, eng.Path())
	}
	return fmt.Errorf("reindex: interrupted (%w) before the new index was stored: %s still holds %s, unchanged, and that is the index served; run soundalike reindex again to replace it",
		cause, eng.Path(), before)
}
