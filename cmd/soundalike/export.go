package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/outfile"
	"github.com/audotics/soundalike/internal/words"
)

func init() {
	register(command{name: "export", summary: "write every indexed track's embedding as JSON Lines", run: runExport})
}

type exportLine struct {
	TrackID   string    `json:"track_id"`
	Embedding []float32 `json:"embedding"`
	Name      string    `json:"name,omitempty"`
	Artists   []string  `json:"artists,omitempty"`
}

func runExport(ctx context.Context, args []string, stdio stdio) error {
	var dbPath, out string
	fs := newFlagSet("export", stdio, &dbPath)
	fs.StringVar(&out, "out", "-", "output `file` (- for standard output)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: soundalike export [--db PATH] [--out FILE]\n\nWrites one JSON object per indexed track: {\"track_id\",\"embedding\",\"name\",\"artists\"}.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("export takes no arguments, got %q", fs.Args())
	}
	if out == "" {
		return usagef("--out is empty: give a file to write, or - for standard output")
	}
	if out != "-" {
		if err := checkOut("--out", out, dbPath, "omit --out"); err != nil {
			return err
		}
	}
	// Detached: the engine loads the index and catalogue, then lets go of
	// the file before the first line is written, so that a reader that
	// takes its time (| less) holds up no import, train or reindex.
	eng, err := soundalike.OpenContext(ctx, dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true, Detached: true}))
	if err != nil {
		return err
	}
	defer eng.Close()

	var w io.Writer = stdio.out
	var f *outfile.File
	if out != "-" {
		// A new file is 0666 under the umask, as a shell's > makes it:
		// an export is made for other programs to read.
		f, err = outfile.Create(out, 0o666)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer f.Discard()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	n := 0
	err = eng.ForEachEmbedding(ctx, func(t *soundalike.Track, v soundalike.Embedding) error {
		n++
		return enc.Encode(exportLine{TrackID: string(t.ID), Embedding: v, Name: t.Name, Artists: t.Artists})
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("export: %w", reword(err))
	}
	if f != nil {
		if err := f.Commit(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(stdio.err, "exported %s to %s\n", words.Count(n, "track"), out)
	}
	return nil
}
