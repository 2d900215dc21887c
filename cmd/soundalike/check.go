package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/printable"
	"github.com/audotics/soundalike/internal/words"
)

func init() {
	register(command{name: "check", summary: "verify the database file: pages, schema, records, model and index checksums", run: runCheck})
}

// checkJSON is what `check --json` prints.
type checkJSON struct {
	DB           string `json:"db"`
	OK           bool   `json:"ok"`
	Tracks       int    `json:"tracks"`
	Interactions int    `json:"interactions"`
	Models       int    `json:"models"`
	Indexed      int    `json:"indexed"`
	// IndexUnreadable is set when the current index could not be read
	// (a problem says why): indexed is then 0, counting nothing.
	IndexUnreadable bool     `json:"index_unreadable,omitempty"`
	Problems        []string `json:"problems"`
	Omitted         int      `json:"omitted,omitempty"`
	// Opened is set when the file opened and was read record by record:
	// the counts are of what was read, all 0 for a file too damaged to
	// open.
	Opened bool `json:"opened"`
}

func runCheck(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath string
		asJSON bool
	)
	fs := newFlagSet("check", stdio, &dbPath)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: soundalike check [--db PATH] [--json]\n\n"+
			"Verifies the database: bbolt's page check, the schema, every record's decoding,\n"+
			"the models' and the index chunks' checksums. Prints what is wrong; exit 1 when anything is.\n"+
			"A path that holds no soundalike database (another file, a newer soundalike's) is an\n"+
			"error, as for every command, not damage.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("check takes no arguments, got %q", fs.Args())
	}
	out, err := checkFile(ctx, dbPath, stdio)
	if err != nil {
		return err
	}
	if asJSON {
		if err := json.NewEncoder(stdio.out).Encode(out); err != nil {
			return err
		}
	} else {
		printCheck(stdio, out)
	}
	if !out.OK {
		return errSilent
	}
	return nil
}

// maxProblemBytes bounds each problem as check reports it, counted as
// printed (escapes included). A problem quotes what it found, and a
// damaged key or record may be megabytes long (a length field flipped
// into the millions): the report stays a list of lines a person can read.
const maxProblemBytes = 400

// checkFile checks the database file at path: its report, or the error
// for a check that could not run, as every command reports it (no file
// there, a file that is no soundalike database or has a newer schema, the
// file locked, ctx done): those are no damage, and a backup is not their
// remedy. A soundalike database too damaged to open is a report of that
// one problem. Each problem is escaped and cut to about maxProblemBytes.
func checkFile(ctx context.Context, path string, stdio stdio) (checkJSON, error) {
	out := checkJSON{DB: path, Problems: []string{}}
	eng, err := soundalike.Open(path, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	switch {
	case errors.Is(err, soundalike.ErrDamaged):
		// Not readable at all: that is the check's finding.
		out.Problems = append(out.Problems, err.Error())
	case err != nil:
		return out, err
	default:
		r, err := eng.Check(ctx)
		eng.Close()
		if err != nil {
			return out, err
		}
		out.Opened = true
		out.Tracks, out.Interactions, out.Models, out.Indexed = r.Tracks, r.Interactions, r.Models, r.Indexed
		out.IndexUnreadable = r.IndexUnreadable
		out.Problems, out.Omitted = append(out.Problems, r.Problems...), r.Omitted
	}
	for i, p := range out.Problems {
		// A problem ends with what is wrong: its middle goes.
		out.Problems[i] = printable.CutMiddle(indexProblemRemedy(p), maxProblemBytes)
	}
	out.OK = len(out.Problems) == 0
	return out, nil
}

// cliIndexRemedy is a damaged index's remedy in the command line's words,
// as indexRemedy gives it.
const cliIndexRemedy = "rebuild it with `soundalike reindex --full`"

// indexProblemRemedy is problem p with a damaged index's remedy in the
// command line's words: the library's names the library call beside the
// command (soundalike.IndexDamagedError.Remedy), as indexRemedy rewords it
// in an error. The check's problems come as strings, so the remedy is
// found by its text.
func indexProblemRemedy(p string) string {
	return strings.Replace(p, (&soundalike.IndexDamagedError{}).Remedy(), cliIndexRemedy, 1)
}

// isIndexProblem reports whether p, as indexProblemRemedy left it, is a
// damaged index's, whose remedy is a full reindex, not a backup.
func isIndexProblem(p string) bool { return strings.HasSuffix(p, cliIndexRemedy) }

func printCheck(stdio stdio, r checkJSON) {
	w := stdio.out
	fmt.Fprintf(w, "database      %s\n", r.DB)
	if r.Opened {
		index := "an index of " + words.Count(r.Indexed, "track")
		if r.IndexUnreadable {
			index = "an index that could not be read"
		}
		fmt.Fprintf(w, "checked       %s, %s, %s, %s\n", words.Count(r.Tracks, "track"),
			words.Count(r.Interactions, "interaction"), words.Count(r.Models, "model"), index)
	} else {
		fmt.Fprintln(w, "checked       nothing more: the file does not open")
	}
	if r.OK {
		fmt.Fprintln(w, "result        ok: no damage found")
		return
	}
	fmt.Fprintf(w, "result        DAMAGED: %s\n", words.Count(len(r.Problems)+r.Omitted, "problem"))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	if r.Omitted > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", r.Omitted)
	}
	if r.Omitted == 0 && !slices.ContainsFunc(r.Problems, func(p string) bool { return !isIndexProblem(p) }) {
		fmt.Fprintln(w, "Only the index is damaged: `soundalike reindex --full` rebuilds it from the tracks and the model; no backup is needed.")
		return
	}
	fmt.Fprintln(w, "Restore the file from a backup (`soundalike backup` makes them). A damaged index alone is rebuilt by `soundalike reindex --full`.")
}
