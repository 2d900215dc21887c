package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/words"
)

func init() {
	register(command{name: "info", summary: "show the catalogue's counts and the model and index state", run: runInfo})
}

// infoJSON is what `info --json` prints. Model and Index are null when
// there is none yet.
type infoJSON struct {
	DB           string     `json:"db"`
	Tracks       int        `json:"tracks"`
	Users        int        `json:"users"`
	Interactions int        `json:"interactions"`
	Model        *modelJSON `json:"model"`
	Models       int        `json:"models"`
	Index        *indexJSON `json:"index"`
}

type modelJSON struct {
	Version string    `json:"version"`
	Dim     int       `json:"dim"`
	Created time.Time `json:"created"`
	Inputs  []string  `json:"inputs"`
}

type indexJSON struct {
	Model   string    `json:"model"`
	Tracks  int       `json:"tracks"`
	Created time.Time `json:"created,omitzero"`
	// Stale is true when the catalogue changed after the index was built:
	// `soundalike reindex` brings it up to date.
	Stale bool `json:"stale"`
}

func runInfo(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath string
		asJSON bool
	)
	fs := newFlagSet("info", stdio, &dbPath)
	fs.BoolVar(&asJSON, "json", false, "print as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike info [--db PATH] [--json]

Prints the catalogue's counts (tracks, users, interactions), the current
model (its version, dimension, inputs and when it was trained, and how many
versions are stored) and the index (its tracks, the model it was built with,
when, and whether it is stale: the catalogue or the current model changed
since, which soundalike reindex brings up to date). It only reads the
database. With --json, a model or index not there yet is null.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("info takes no arguments, got %q", fs.Args())
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()

	out := infoJSON{DB: dbPath}
	c, err := eng.Counts()
	if err != nil {
		return err
	}
	out.Tracks, out.Users, out.Interactions = c.Tracks, c.Users, c.Interactions
	models, err := eng.Models(ctx)
	if err != nil {
		return err
	}
	out.Models = len(models)
	for _, m := range models {
		if m.Current {
			out.Model = &modelJSON{Version: m.Version, Dim: m.Dim, Created: m.Created, Inputs: m.Inputs}
		}
	}
	switch ix, err := eng.IndexState(ctx); {
	case err == nil:
		out.Index = &indexJSON{Model: ix.Model, Tracks: ix.Tracks, Created: ix.Created, Stale: ix.Stale}
	case !errors.Is(err, soundalike.ErrNoIndex):
		return err
	}
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(out)
	}
	w := stdio.out
	fmt.Fprintf(w, "database      %s\n", out.DB)
	fmt.Fprintf(w, "tracks        %d\n", out.Tracks)
	fmt.Fprintf(w, "users         %d\n", out.Users)
	fmt.Fprintf(w, "interactions  %d\n", out.Interactions)
	switch m := out.Model; {
	case m != nil:
		fmt.Fprintf(w, "model         %s (dim %d, %d inputs, trained %s; %s stored)\n",
			m.Version, m.Dim, len(m.Inputs), m.Created.UTC().Format(time.RFC3339), words.Count(out.Models, "version"))
	case out.Tracks == 0:
		fmt.Fprintln(w, "model         none: run `soundalike import`, then `soundalike train`")
	default:
		fmt.Fprintln(w, "model         none: run `soundalike train`")
	}
	switch ix := out.Index; {
	case ix == nil && out.Model == nil:
		fmt.Fprintln(w, "index         none (it needs a model)")
	case ix == nil:
		fmt.Fprintln(w, "index         none: run `soundalike reindex`")
	default:
		state := "up to date"
		if ix.Stale {
			state = "stale: the catalogue changed since; run `soundalike reindex`"
		}
		if out.Model != nil && ix.Model != out.Model.Version {
			state = fmt.Sprintf("built with model %s, not the current %s; run `soundalike reindex`", ix.Model, out.Model.Version)
		}
		fmt.Fprintf(w, "index         %s, model %s, built %s (%s)\n",
			words.Count(ix.Tracks, "track"), ix.Model, ix.Created.UTC().Format(time.RFC3339), state)
	}
	return nil
}
