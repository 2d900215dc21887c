package main

import (
	"context"
	"fmt"

	"github.com/audotics/soundalike"
)

func init() {
	register(command{name: "backup", summary: "write a consistent copy of the database (--out FILE)", run: runBackup})
}

func runBackup(ctx context.Context, args []string, stdio stdio) error {
	var dbPath, out string
	fs := newFlagSet("backup", stdio, &dbPath)
	fs.StringVar(&out, "out", "", "the copy's `file` (required; replaced if it exists)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: soundalike backup [--db PATH] --out FILE\n\n"+
			"Writes a consistent copy of the database as of one read transaction, while serve runs.\n"+
			"A running import, train or reindex holds the file: backup waits for it like any reader.")
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
	n, err := eng.Backup(ctx, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.err, "backed up %s to %s (%d bytes)\n", dbPath, out, n)
	return nil
}
