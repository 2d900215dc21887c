package main

import (
	"context"
	"fmt"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/printable"
	"github.com/audotics/soundalike/server"
)

func init() {
	register(command{name: "similar", summary: "the tracks that sound like one track, as GET /similar answers", run: runSimilar})
}

func runSimilar(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath, id string
		k          int
		asJSON     bool
		search     searchFlags
	)
	fs := newFlagSet("similar", stdio, &dbPath)
	fs.StringVar(&id, "track", "", "the catalogue track to start from (required): its `id`, a spotify:track:ID URI or an open.spotify.com/track/ID link")
	fs.IntVar(&k, "k", server.DefaultK, fmt.Sprintf("number of results, 1..%d", soundalike.MaxK))
	search.add(fs, "the query track's")
	fs.BoolVar(&asJSON, "json", false, "print the JSON that GET /similar answers")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: soundalike similar [--db PATH] --track ID [-k 20] [--exclude ID,...]... [--exclude-artist] [--no-dedupe] [--json]\n\nPrints the tracks that sound most like --track, with the same results as\nGET /similar (and, with --json, the same JSON).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("similar takes no arguments, got %q (give the track with --track ID)", fs.Args())
	}
	if id == "" {
		return usagef("--track is required: give %s", soundalike.TrackRefForms)
	}
	if k < 1 || k > soundalike.MaxK {
		return refuseFlag(fs, "k", k, "want 1..%d", soundalike.MaxK)
	}
	opts, err := search.options()
	if err != nil {
		return err
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	// A query loads the whole catalogue and index first: seconds at a
	// million tracks, so say so on a terminal.
	announceLoad(eng, dbPath, "the index", stdio)
	loadBeforeQuery(ctx, eng)
	// --track and --exclude are passed on as given: the engine finds a
	// stored id spelt so before it reads the reference as a URI or a link,
	// and refuses only one that no stored id could be (refUsage).
	resp, err := server.Similar(ctx, eng, soundalike.TrackID(id), k, &opts)
	if err != nil {
		if uerr := refUsage(err, "--track"); uerr != nil {
			return uerr
		}
		return fmt.Errorf("similar --track %s: %w", printable.String(id), reword(err))
	}
	if err := closeBeforePrinting(eng, dbPath); err != nil {
		return err
	}
	if asJSON {
		_, err := stdio.out.Write(append(resp.AppendJSON(nil), '\n'))
		return err
	}
	t := resp.Track
	fmt.Fprintf(stdio.out, "Tracks that sound like %s: %s by %s (model %s)\n\n", printable.String(t.TrackID), printable.String(t.Name), printableJoin(t.Artists, ", "), printable.String(resp.Model))
	return writeResults(stdio.out, resp.Results)
}
