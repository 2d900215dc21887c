package main

import (
	"context"
	"fmt"
	"os"

	"github.com/audotics/soundalike"
)

func init() {
	register(command{name: "backup", summary: "write a consistent copy of the database (--out FILE)", run: runBackup})
}

func runBackup(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath, out string
		check       bool
	)
	fs := newFlagSet("backup", stdio, &dbPath)
	fs.StringVar(&out, "out", "", "the copy's `file` (required; replaced if it exists, once the copy is written and checked)")
	fs.BoolVar(&check, "check", true, "check the copy as the check command does before it replaces --out (--check=false skips it)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: soundalike backup [--db PATH] --out FILE [--check=false]\n\n"+
			"Writes a consistent copy of the database as of one read transaction, while serve runs.\n"+
			"A running import, train or reindex holds the file: backup waits for it like any reader.\n"+
			"The copy is checked before it replaces FILE: a damaged database leaves FILE as it was.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("backup takes no arguments, got %q", fs.Args())
	}
	if out == "" {
		return usagef("backup needs --out FILE, the copy to write")
	}
	if err := checkOutFile("--out", out, dbPath); err != nil {
		return err
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	if !check {
		n, err := eng.Backup(ctx, out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdio.err, "backed up %s to %s (%d bytes, not checked)\n", dbPath, out, n)
		return nil
	}

	// The copy goes to a name of its own beside --out, is checked there and
	// only then renamed over --out: a backup of a damaged database must not
	// replace the last good one (a nightly backup to the same name).
	f, err := os.CreateTemp(dirOf(out), ".backup-check-*")
	if err != nil {
		return fmt.Errorf("backup to %s: %w", out, err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // after the rename, there is nothing there
	n, err := eng.Backup(ctx, tmp)
	if err != nil {
		return err
	}
	// The source is not needed while the copy is checked: a writer
	// waiting for it may go on.
	eng.Close()
	r, err := checkFile(ctx, tmp, stdio)
	if err != nil {
		return fmt.Errorf("backup to %s: checking the copy: %w", out, err)
	}
	if !r.OK {
		return fmt.Errorf("backup of %s: %w: the copy has %d problem(s), the first: %s; %s was left as it was "+
			"(--check=false writes the damaged copy)", dbPath, soundalike.ErrDamaged, len(r.Problems)+r.Omitted, r.Problems[0], out)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("backup to %s: %w", out, err)
	}
	if d, err := os.Open(dirOf(out)); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	fmt.Fprintf(stdio.err, "backed up %s to %s (%d bytes, checked: %d tracks, %d models, an index of %d tracks)\n",
		dbPath, out, n, r.Tracks, r.Models, r.Indexed)
	return nil
}
