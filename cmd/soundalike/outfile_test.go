package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Given --out naming the database file by any spelling, when train,
// export or backup runs, expect a usage error naming --out and the
// database file as it was.
func TestOutIsTheDatabase(t *testing.T) {
	db := testDB(t, 20)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(db)
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	relative, err := filepath.Rel(cwd, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink, hardlink := filepath.Join(t.TempDir(), "sym.db"), filepath.Join(dir, "hard.db")
	if err := os.Symlink(db, symlink); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(db, hardlink); err != nil {
		t.Fatal(err)
	}
	spellings := map[string]string{
		"the same path": db, "another path": dir + "/./x/../test.db",
		"a relative path": relative, "a symlink": symlink, "a hard link": hardlink,
	}
	for _, command := range [][]string{
		append([]string{"train", "--runs", t.TempDir()}, strings.Fields(smallTrain)...),
		{"export"},
		{"backup"},
	} {
		for name, out := range spellings {
			t.Run(command[0]+" to "+name, func(t *testing.T) {
				args := append([]string{command[0], "--db", db, "--out", out}, command[1:]...)
				_, _, err := runCmd(t.Context(), args...)
				if err == nil || !strings.Contains(err.Error(), "--out "+out+": that is the database itself") || exitCode(err, io.Discard) != 2 {
					t.Errorf("%s --out %s = %v, want a usage error naming --out and the database", command[0], out, err)
				}
				if after, err := os.ReadFile(db); err != nil || !bytes.Equal(after, before) {
					t.Fatalf("%s --out %s changed the database (%v)", command[0], out, err)
				}
			})
		}
	}
}

// Given --out in a directory that does not exist, or naming a directory,
// when train runs, expect a usage error naming --out before any training,
// and no model stored.
func TestTrainOutCheckedFirst(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	dir := t.TempDir()
	for _, tc := range []struct{ out, want string }{
		{filepath.Join(dir, "nonexistent", "m.bin"), "does not exist"},
		{dir, "is a directory"},
	} {
		args := append([]string{"train", "--db", db, "--runs", t.TempDir(), "--out", tc.out}, strings.Fields(smallTrain)...)
		_, stderr, err := runCmd(t.Context(), args...)
		if err == nil || !strings.Contains(err.Error(), "--out "+tc.out+": ") || !strings.Contains(err.Error(), tc.want) || exitCode(err, io.Discard) != 2 {
			t.Errorf("train --out %s = %v, want a usage error naming --out saying it %s", tc.out, err, tc.want)
		}
		if strings.Contains(stderr, "training on") {
			t.Errorf("train --out %s trained before refusing it:\n%s", tc.out, stderr)
		}
		if stdout, _, err := runCmd(t.Context(), "models", "--db", db, "--json"); err != nil || strings.TrimSpace(stdout) != "[]" {
			t.Errorf("models after train --out %s = %s (%v), want none stored", tc.out, stdout, err)
		}
	}
}

// Given --out empty, a directory or in a missing directory, when export
// runs, expect a usage error naming --out and saying what it accepts.
func TestExportOutErrors(t *testing.T) {
	db := testDB(t, 20)
	dir := t.TempDir()
	// A named pipe stands for /dev/null: renaming the export over it
	// would replace it rather than write into it.
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ out, want string }{
		{"", "--out is empty: give a file to write, or - for standard output"},
		{dir, "--out " + dir + ": is a directory"},
		{filepath.Join(dir, "no", "e.jsonl"), "does not exist"},
		{pipe, "--out " + pipe + ": is not a regular file"},
	} {
		_, _, err := runCmd(t.Context(), "export", "--db", db, "--out", tc.out)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err, io.Discard) != 2 {
			t.Errorf("export --out %q = %v, want a usage error saying %q", tc.out, err, tc.want)
		}
	}
}

// Given --out -, when backup or train runs, expect a usage error naming
// --out and saying the command writes a file, and no file named "-": to
// export "-" is standard output, and backup wrote a file of that name.
func TestOutDashIsNotAFile(t *testing.T) {
	db := testDB(t, 20)
	t.Chdir(t.TempDir())
	for _, args := range [][]string{
		{"backup", "--db", db, "--out", "-"},
		append([]string{"train", "--db", db, "--runs", t.TempDir(), "--out", "-"}, strings.Fields(smallTrain)...),
	} {
		_, _, err := runCmd(t.Context(), args...)
		if err == nil || !strings.Contains(err.Error(), "--out -: this command writes a file, not standard output") || exitCode(err, io.Discard) != 2 {
			t.Errorf("%s --out - = %v, want a usage error naming --out and saying it writes a file", args[0], err)
		}
		if _, err := os.Stat("-"); err == nil {
			t.Errorf("%s --out - wrote a file named -", args[0])
			os.Remove("-")
		}
	}
}
