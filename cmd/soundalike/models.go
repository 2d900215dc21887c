package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/audotics/soundalike"
)

func init() {
	register(command{name: "models", summary: "list model versions with their figures; `models promote vN` makes one current", run: runModels})
}

// modelRow is one version as `models --json` prints it.
type modelRow struct {
	Version              string    `json:"version"`
	Current              bool      `json:"current"`
	Created              time.Time `json:"created"` // RFC 3339, as runs --json and GET /model
	Features             string    `json:"features,omitempty"`
	Seed                 uint64    `json:"seed"`
	K                    int       `json:"k,omitempty"`
	Precision            float64   `json:"precision"`
	PrecisionCrossArtist float64   `json:"precision_cross_artist"`
	GenrePrecision       float64   `json:"genre_precision"`
	SameArtistPrecision  float64   `json:"same_artist_precision"`
}

func runModels(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath string
		asJSON bool
	)
	fs := newFlagSet("models", stdio, &dbPath)
	fs.BoolVar(&asJSON, "json", false, `print the versions as a JSON array; with promote, {"version":…,"changed":…}`)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike models [--db PATH] [--json]
       soundalike models [--db PATH] [--json] promote VERSION

Lists the stored model versions, oldest first, with their validation figures
(precision@k, cross-artist precision@k, genre precision@k, and the same_artist
baseline's precision@k on the same users). "promote VERSION" makes a stored
version the current model (a rollback, or a version train kept aside under
--promote auto or never); run soundalike reindex next.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 0:
		return listModels(ctx, dbPath, asJSON, stdio)
	case fs.Arg(0) == "promote" && fs.NArg() == 2:
		return promoteModel(ctx, dbPath, fs.Arg(1), asJSON, stdio)
	case fs.Arg(0) == "promote" && fs.NArg() == 1:
		return usagef("models promote needs the version to make current: give one as %s (`soundalike models` lists them)", soundalike.ModelVersionForms)
	case fs.Arg(0) == "promote":
		return usagef("models promote takes one version; got %d: %s", fs.NArg()-1, quoteList(fs.Args()[1:]))
	}
	return usagef("models: unknown subcommand %q; want none (list) or promote VERSION", fs.Arg(0))
}

// promoteJSON is what `models promote --json` prints.
type promoteJSON struct {
	Version string `json:"version"`
	Changed bool   `json:"changed"` // false when it was the current model already
}

func promoteModel(ctx context.Context, dbPath, version string, asJSON bool, stdio stdio) error {
	canonical, ok := modelVersionArg(version)
	if !ok {
		return usagef("models promote %s: want a model version: %s (`soundalike models` lists them)", quoteText(version), soundalike.ModelVersionForms)
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(nil))
	if err != nil {
		return err
	}
	defer eng.Close()
	info, changed, err := eng.PromoteModel(ctx, canonical)
	if err != nil {
		return rewordVersion(ctx, eng, "models promote", version, err)
	}
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(promoteJSON{Version: info.Version, Changed: changed})
	}
	if !changed {
		fmt.Fprintf(stdio.out, "%s is already the current model: nothing changed\n", info.Version)
		return nil
	}
	fmt.Fprintf(stdio.out, "%s is now the current model\nnext: soundalike reindex\n", info.Version)
	return nil
}

func listModels(ctx context.Context, dbPath string, asJSON bool, stdio stdio) error {
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	models, err := eng.Models(ctx)
	if err != nil {
		return err
	}
	if err := closeBeforePrinting(eng, dbPath); err != nil {
		return err
	}
	rows := make([]modelRow, 0, len(models))
	for _, m := range models {
		r := modelRow{Version: m.Version, Current: m.Current, Created: m.Created}
		s := summarise(m)
		if s.Config != nil {
			r.Features, r.Seed = s.Config.Features, s.Config.Seed
		}
		if s.Metrics != nil {
			f := s.Metrics
			r.K, r.Precision, r.PrecisionCrossArtist, r.GenrePrecision = f.K, f.Model.Precision, f.Model.PrecisionCrossArtist, f.Model.GenrePrecision
			r.SameArtistPrecision = f.SameArtist.Precision
		}
		rows = append(rows, r)
	}
	if asJSON {
		return printIndentedJSON(stdio.out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdio.out, "no models yet: soundalike train")
		return nil
	}
	tw := tabwriter.NewWriter(stdio.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCREATED\tFEATURES\tSEED\tP@K\tCROSS-ARTIST P@K\tGENRE P@K\tSAME_ARTIST P@K")
	for _, r := range rows {
		v := r.Version
		if r.Current {
			v += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.4f\t%.4f\t%.3f\t%.4f\n", v, r.Created.Format("2006-01-02 15:04"), orDash(r.Features, "-"), r.Seed,
			r.Precision, r.PrecisionCrossArtist, r.GenrePrecision, r.SameArtistPrecision)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdio.out, "* current model (reindex builds with it); figures on each run's validation users")
	return nil
}
