package main

import (
	"context"
	"fmt"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/words"
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
	// Attached, not ReadOnly: the engine holds the database only while it
	// copies it, and releases it before the copy is checked, so that a
	// writer waiting for it may go on.
	eng, err := soundalike.OpenContext(ctx, dbPath, stdio.engineOptions(nil))
	if err != nil {
		return err
	}
	defer eng.Close()
	// The copy goes to a temporary file beside --out (beside its target
	// when --out is a symlink), is checked there and only then renamed
	// over --out (Engine.BackupVerified): a backup of a damaged database
	// must not replace the last good one (a nightly backup to the same
	// name). --check=false renames it unchecked.
	//
	// A new backup gets the database file's permission (under the umask),
	// as cp gives a copy: it holds every user's listening history, so it
	// is no more readable than the database (0600 when bbolt made it). One
	// that replaces a file keeps that file's permission, as every --out
	// does: a nightly backup made readable by a backup group stays so.
	// The engine's Backup does both.
	var (
		r      checkJSON
		verify func(copy string) error
	)
	if check {
		verify = func(copy string) error {
			var err error
			if r, err = checkFile(ctx, copy, stdio); err != nil {
				return fmt.Errorf("backup to %s: checking the copy: %w", out, err)
			}
			if !r.OK {
				return fmt.Errorf("backup of %s: %w: the copy has %s, the first: %s; %s was left as it was "+
					"(--check=false writes the damaged copy)", dbPath, soundalike.ErrDamaged, words.Count(len(r.Problems)+r.Omitted, "problem"), r.Problems[0], out)
			}
			return nil
		}
	}
	n, err := eng.BackupVerified(ctx, out, verify)
	if err != nil {
		return err
	}
	if !check {
		fmt.Fprintf(stdio.err, "backed up %s to %s (%d bytes, not checked)\n", dbPath, out, n)
		return nil
	}
	fmt.Fprintf(stdio.err, "backed up %s to %s (%d bytes, checked: %s, %s, an index of %s)\n",
		dbPath, out, n, words.Count(r.Tracks, "track"), words.Count(r.Models, "model"), words.Count(r.Indexed, "track"))
	return nil
}
