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

// Given --out empty, a directory, in a missing directory or a symlink
// into one, when export
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
	// A symlink is written through: the directory it points into counts.
	link := filepath.Join(dir, "link")
	if err := os.Symlink("gone/e.jsonl", link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ out, want string }{
		{"", "--out is empty: give a file to write, or - for standard output"},
		{dir, "--out " + dir + ": is a directory"},
		{filepath.Join(dir, "no", "e.jsonl"), "does not exist"},
		{pipe, "--out " + pipe + ": is a pipe, not a regular file; give the path of a regular file to write, or omit --out to write to standard output"},
		{link, "--out " + link + ": the directory " + dir + "/gone/ does not exist"},
	} {
		_, _, err := runCmd(t.Context(), "export", "--db", db, "--out", tc.out)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err, io.Discard) != 2 {
			t.Errorf("export --out %q = %v, want a usage error saying %q", tc.out, err, tc.want)
		}
	}
}

// Given --out naming a file that is not a regular one (a device, a pipe),
// when export or backup runs, expect a usage error saying in words what
// the file is and what is accepted: standard output too for export,
// which writes there without --out; backup, which does not, says only a
// regular file.
func TestOutNotRegularSaysWhat(t *testing.T) {
	db := testDB(t, 20)
	pipe := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	const regular = "not a regular file; give the path of a regular file to write"
	const stdout = ", or omit --out to write to standard output"
	for _, tc := range []struct {
		cmd, out, want string
	}{
		{"export", os.DevNull, "--out " + os.DevNull + ": is a character device (such as a terminal or /dev/null), " + regular + stdout},
		{"export", pipe, "--out " + pipe + ": is a pipe, " + regular + stdout},
		{"backup", os.DevNull, "--out " + os.DevNull + ": is a character device (such as a terminal or /dev/null), " + regular},
		{"backup", pipe, "--out " + pipe + ": is a pipe, " + regular},
	} {
		_, _, err := runCmd(t.Context(), tc.cmd, "--db", db, "--out", tc.out)
		if err == nil || exitCode(err, io.Discard) != 2 || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("%s --out %s = %v, want a usage error ending %q", tc.cmd, tc.out, err, tc.want)
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

// Given --out naming a new file, a file of mode 0640, or a symlink to
// one, when export, backup (checked or not) or train writes it, expect a
// new file to have the mode a shell's > or cp gives it (0666, a backup the
// database's mode, under the umask), a replaced file to keep its mode, and
// a symlink to stay one, its target written: the rename of the temporary
// file left 0600 and turned the link into a file of its own.
func TestOutKeepsModeAndSymlink(t *testing.T) {
	db, trainDB := testDB(t, 20), importFile(t, "../../trainer/testdata/tracks.csv")
	if err := os.Chmod(db, 0o640); err != nil { // a mode of its own, which a new backup takes
		t.Fatal(err)
	}
	for _, tc := range []struct {
		db      string
		args    []string
		newPerm os.FileMode // before the umask
	}{
		{db, []string{"export"}, 0o666},
		{db, []string{"backup"}, 0o640},
		{db, []string{"backup", "--check=false"}, 0o640},
		{trainDB, append([]string{"train", "--no-save", "--runs", t.TempDir()}, strings.Fields(smallTrain)...), 0o666},
	} {
		name := strings.Join(tc.args[:min(2, len(tc.args))], " ")
		t.Run(name+" to a new file", func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "new")
			if _, stderr, err := runCmd(t.Context(), append([]string{tc.args[0], "--db", tc.db, "--out", out}, tc.args[1:]...)...); err != nil {
				t.Fatalf("%s --out %s: %v\n%s", name, out, err, stderr)
			}
			if got, want := fileMode(t, out), umasked(t, tc.newPerm); got != want {
				t.Errorf("%s --out a new file: mode %v, want %v", name, got, want)
			}
			if names := dirNames(t, dir); len(names) != 1 {
				t.Errorf("%s --out %s left %q in its directory, want only new", name, out, names)
			}
		})
		t.Run(name+" over a file of mode 0640", func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "old")
			if err := os.WriteFile(out, []byte("old"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(out, 0o640); err != nil { // whatever the umask
				t.Fatal(err)
			}
			if _, stderr, err := runCmd(t.Context(), append([]string{tc.args[0], "--db", tc.db, "--out", out}, tc.args[1:]...)...); err != nil {
				t.Fatalf("%s --out %s: %v\n%s", name, out, err, stderr)
			}
			if b, err := os.ReadFile(out); err != nil || len(b) <= len("old") {
				t.Errorf("%s --out a file: it holds %.20q (%v), want it replaced", name, b, err)
			}
			if got := fileMode(t, out); got != 0o640 {
				t.Errorf("%s --out a file of mode 0640: mode %v after, want it kept", name, got)
			}
		})
		t.Run(name+" through a symlink", func(t *testing.T) {
			dir := t.TempDir()
			target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
			if err := os.WriteFile(target, []byte("old"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(target, 0o640); err != nil { // whatever the umask
				t.Fatal(err)
			}
			if err := os.Symlink("target", link); err != nil {
				t.Fatal(err)
			}
			if _, stderr, err := runCmd(t.Context(), append([]string{tc.args[0], "--db", tc.db, "--out", link}, tc.args[1:]...)...); err != nil {
				t.Fatalf("%s --out %s: %v\n%s", name, link, err, stderr)
			}
			if to, err := os.Readlink(link); err != nil || to != "target" {
				t.Errorf("%s --out a symlink: the link now reads %q (%v), want it kept, pointing to target", name, to, err)
			}
			if b, err := os.ReadFile(target); err != nil || len(b) <= len("old") {
				t.Errorf("%s --out a symlink: its target holds %.20q (%v), want it written", name, b, err)
			}
			if got := fileMode(t, target); got != 0o640 {
				t.Errorf("%s --out a symlink to a file of mode 0640: mode %v after, want it kept", name, got)
			}
			if names := dirNames(t, dir); len(names) != 2 {
				t.Errorf("%s --out %s left %q in its directory, want only link and target", name, link, names)
			}
		})
	}
	// A symlink to a file that does not exist yet: the file is created,
	// as a shell's > creates it.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("sub/e.jsonl", link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t.Context(), "export", "--db", db, "--out", link); err != nil {
		t.Fatalf("export --out a dangling symlink: %v", err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("export --out a dangling symlink replaced the link (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "e.jsonl")); err != nil {
		t.Errorf("export --out a dangling symlink did not create its target: %v", err)
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// umasked is perm as the process's umask leaves a new file's.
func umasked(t *testing.T, perm os.FileMode) os.FileMode {
	t.Helper()
	probe := filepath.Join(t.TempDir(), "probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return fileMode(t, probe)
}
