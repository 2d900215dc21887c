package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/audotics/soundalike"
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
		if err := checkOutFile("--out", out, dbPath); err != nil {
			return err
		}
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()

	var w io.Writer = stdio.out
	var f *os.File
	if out != "-" {
		// Write to a temporary file and rename, so a failed export never
		// leaves a half-written file under the final name.
		f, err = os.CreateTemp(dirOf(out), ".export-*")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
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
		return fmt.Errorf("export: %w", withHint(err))
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		f.Close()
		if err := os.Rename(f.Name(), out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(stdio.err, "exported %d tracks to %s\n", n, out)
	}
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}
