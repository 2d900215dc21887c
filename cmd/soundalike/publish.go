package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/words"
	"github.com/audotics/soundalike/weaviate"
)

func init() {
	register(command{name: "publish", summary: "publish the index's embeddings to a Weaviate cluster", run: runPublish})
}

type publishJSON struct {
	Alias      string  `json:"alias"`
	Collection string  `json:"collection"`
	Model      string  `json:"model"`
	Created    bool    `json:"created"`
	Switched   bool    `json:"switched"`
	Tracks     int     `json:"tracks"`
	Added      int     `json:"added"`
	Changed    int     `json:"changed"`
	Deleted    int     `json:"deleted"`
	Unchanged  int     `json:"unchanged"`
	TookMS     int64   `json:"took_ms"`
	PerSecond  float64 `json:"sent_per_second"`
}

func runPublish(ctx context.Context, args []string, stdio stdio) error {
	a, err := parsePublishArgs(args, stdio)
	if err != nil {
		return err
	}
	eng, err := soundalike.Open(a.dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	// The database before the cluster: a database with nothing to publish
	// says so without a request, whatever state the cluster is in.
	if err := checkPublishable(ctx, eng); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	cluster, err := dialWeaviate(a.nodes, &weaviate.Options{Timeout: a.timeout})
	if err != nil {
		return err
	}

	bar := newProgress(stdio.err, -1, "publish", "tracks")
	a.opts.Progress = func(done, total int) {
		if done == 0 {
			bar.Done()
			bar = newProgress(stdio.err, int64(total), "publish", "tracks")
		}
		bar.Set(int64(done))
	}
	start := time.Now()
	sum, err := weaviate.Publish(ctx, eng, cluster, &a.opts)
	bar.Done()
	if err != nil {
		return reword(err)
	}
	return printPublished(stdio, sum, time.Since(start), a.asJSON)
}

// checkPublishable returns why eng has nothing to publish, if it has not:
// no model, or no index, in the command line's terms. Model loads the
// snapshot (ctx stops that); Ready then only looks at it.
func checkPublishable(ctx context.Context, eng *soundalike.Engine) error {
	if _, err := eng.Model(ctx); err != nil {
		return reword(err)
	}
	return reword(eng.Ready(ctx))
}

// publishArgs are publish's flags.
type publishArgs struct {
	dbPath  string
	nodes   []string // --weaviate's URLs (weaviateNodes)
	opts    weaviate.PublishOptions
	timeout time.Duration // each request's: --request-timeout
	asJSON  bool
}

// parsePublishArgs reads and checks publish's flags.
func parsePublishArgs(args []string, stdio stdio) (publishArgs, error) {
	var (
		a    publishArgs
		urls string
	)
	fs := newFlagSet("publish", stdio, &a.dbPath)
	fs.StringVar(&urls, "weaviate", "", "the cluster's node `URLs`, comma-separated, or a file listing them one a line (required)")
	fs.StringVar(&a.opts.Alias, "collection", weaviate.DefaultAlias, "`alias` to publish under; each model version gets the collection ALIAS_vN")
	fs.IntVar(&a.opts.Shards, "shards", 0, "shards of a new collection (default: one per node)")
	fs.IntVar(&a.opts.Replicas, "replication", 0, "replicas of each shard of a new collection (default: 2 on 2 or more nodes, else 1)")
	fs.IntVar(&a.opts.BatchSize, "batch-size", 500, "objects sent in one request")
	fs.IntVar(&a.opts.InFlight, "in-flight", 4, "batch requests outstanding at once, spread over the nodes")
	fs.DurationVar(&a.timeout, "request-timeout", weaviate.DefaultTimeout, "how long each request to a Weaviate node (a batch, a read) may take; a node that has not answered by then counts as failed and the request goes to the next node (not a limit on the whole publish)")
	fs.BoolVar(&a.asJSON, "json", false, "print the summary as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike publish --weaviate URL[,URL…] [--db PATH] [--collection Tracks] [flags]

Publishes every indexed track with its embedding to a Weaviate cluster, in
the collection of the index's model version (Tracks_v3), created when
missing, then points the alias (Tracks) to it. A re-run sends only the
tracks added or changed since, and deletes those removed; it is safe to
run again after a failure. See docs/scaling.md.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, usagef("publish takes no arguments, got %q", fs.Args())
	}
	if a.timeout <= 0 {
		return a, refuseFlag(fs, "request-timeout", a.timeout, "want a positive duration such as 30s, the time each request to a Weaviate node may take")
	}
	if err := weaviate.CheckAlias(a.opts.Alias); err != nil {
		return a, usagef("--collection: %v", err)
	}
	if err := checkPublishSizes(fs, a.opts); err != nil {
		return a, err
	}
	var err error
	a.nodes, err = weaviateNodes(urls)
	return a, err
}

// checkPublishSizes reports every one of publish's numeric flags out of
// its range, naming the flag and what it takes.
func checkPublishSizes(fs *flag.FlagSet, o weaviate.PublishOptions) error {
	var refusals []string
	if o.Shards < 0 {
		refusals = append(refusals, flagRefusal("shards", o.Shards, "want a positive number of shards, or 0 for one per node"))
	}
	if o.Replicas < 0 {
		refusals = append(refusals, flagRefusal("replication", o.Replicas, "want a positive number of replicas, or 0 for the default (2 on 2 or more nodes, else 1)"))
	}
	if o.BatchSize < 1 {
		refusals = append(refusals, flagRefusal("batch-size", o.BatchSize, "want a positive number of objects a request"))
	}
	if o.InFlight < 1 {
		refusals = append(refusals, flagRefusal("in-flight", o.InFlight, "want a positive number of requests"))
	}
	return refuseFlags(fs, refusals)
}

// printPublished prints sum, what a publish did in took, as text or JSON.
func printPublished(stdio stdio, sum weaviate.PublishSummary, took time.Duration, asJSON bool) error {
	out := publishJSON{Alias: sum.Alias, Collection: sum.Collection, Model: sum.Model, Created: sum.Created,
		Switched: sum.Switched, Tracks: sum.Tracks, Added: sum.Added, Changed: sum.Changed, Deleted: sum.Deleted,
		Unchanged: sum.Unchanged, TookMS: took.Milliseconds()}
	if sent := sum.Added + sum.Changed + sum.Deleted; sent > 0 {
		out.PerSecond = float64(sent) / took.Seconds()
	}
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(out)
	}
	fmt.Fprintf(stdio.out, "published %s of model %s to %s: %d added, %d changed, %d deleted, %d unchanged in %v\n",
		words.Count(sum.Tracks, "track"), sum.Model, sum.Collection, sum.Added, sum.Changed, sum.Deleted, sum.Unchanged, took.Round(time.Millisecond))
	if sum.Switched {
		fmt.Fprintf(stdio.out, "alias %s now points to %s\n", sum.Alias, sum.Collection)
	}
	return nil
}

// weaviateNodes reads --weaviate: node URLs, comma-separated, or a file
// listing them one a line. It sends no request.
func weaviateNodes(flag string) ([]string, error) {
	if flag == "" {
		return nil, usagef("--weaviate: give the cluster's node URLs (http://host:port,…) or a file listing them")
	}
	list := flag
	st, err := os.Stat(flag)
	switch {
	case err == nil && st.Mode().IsRegular():
		b, err := os.ReadFile(flag)
		if err != nil {
			return nil, usagef("--weaviate %s: %v", flag, err)
		}
		list = string(b)
	case !strings.Contains(flag, "://"):
		// Not a URL list: a file that is not there (or not a file) is
		// the mistake to name, not the URLs it is not.
		why := "no such file"
		if err == nil {
			why = "not a regular file"
		} else if !errors.Is(err, os.ErrNotExist) {
			why = err.Error()
		}
		return nil, usagef("--weaviate %s: %s; want node URLs (http://host:port,…) or a file listing them", flag, why)
	}
	urls := weaviate.ParseURLs(list)
	if len(urls) == 0 {
		return nil, usagef("--weaviate %s: no URL in it", flag)
	}
	return urls, nil
}

// dialWeaviate connects to the cluster of nodes (weaviateNodes). nil opts
// means the defaults.
func dialWeaviate(nodes []string, opts *weaviate.Options) (*weaviate.Cluster, error) {
	c, err := weaviate.Dial(nodes, opts)
	if err != nil {
		return nil, usagef("--weaviate: %v", err)
	}
	return c, nil
}

// weaviateSource is serve's --weaviate: the vector source of the catalogue
// published under alias, whose reads hedge after hedgeDelay (serve's
// --weaviate-hedge-delay; negative: never). The per-node timeout is the
// default: each of a search's requests to a node already ends with the
// search's deadline (serve's --request-timeout, and the engine's 5 s bound
// on a call to its vector source), well before weaviate.DefaultTimeout.
func weaviateSource(urls, alias string, hedgeDelay time.Duration) (soundalike.VectorSource, error) {
	nodes, err := weaviateNodes(urls)
	if err != nil {
		return nil, err
	}
	c, err := dialWeaviate(nodes, &weaviate.Options{HedgeDelay: hedgeDelay})
	if err != nil {
		return nil, err
	}
	src, err := weaviate.NewSource(c, alias)
	if err != nil {
		return nil, usagef("--collection: %v", err)
	}
	return src, nil
}
