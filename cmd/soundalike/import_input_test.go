package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImportMaxLineBytes: a line over the limit stops the import, names
// file, line, limit and flag, and quotes the line clipped; the flag
// raises the limit.
func TestImportMaxLineBytes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	sample, err := os.ReadFile(testdata + "spotify_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(sample), "\n", 3)
	// A 2 MiB track name on line 2.
	cols := strings.Split(lines[1], ",")
	cols[1] = strings.Repeat("n", 2<<20)
	file := filepath.Join(dir, "long.csv")
	if err := os.WriteFile(file, []byte(lines[0]+"\n"+strings.Join(cols, ",")+"\n"+lines[2]), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := cli(t, "", "import", "--db", db, file)
	if code == 0 {
		t.Fatalf("import of a 2 MiB line: exit 0, want a failure")
	}
	for _, want := range []string{"long.csv:2:", "1 MiB", "--max-line-bytes", "nothing was written"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q: %.300s", want, errOut)
		}
	}
	if len(errOut) > 1000 {
		t.Errorf("stderr is %d bytes: the line is echoed", len(errOut))
	}
	out, errOut, code := cli(t, "", "import", "--db", db, "--max-line-bytes", "4194304", file)
	if code != 0 && !strings.Contains(out, "added") {
		t.Fatalf("import --max-line-bytes 4 MiB: exit %d: %.300s", code, errOut)
	}
	if got := info(t, db); got.Tracks == 0 {
		t.Errorf("after a raised limit: %d tracks, want the file's", got.Tracks)
	}
}

// TestImportWarnings: repeated column names and track ids are warned
// about with counts; --strict writes nothing then.
func TestImportWarnings(t *testing.T) {
	dir := t.TempDir()
	sample, err := os.ReadFile(testdata + "spotify_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sample)), "\n")
	// Repeat the energy column, and give line 2's track a second row
	// with another name.
	cols := strings.Split(lines[1], ",")
	cols[1] = "another name"
	var b strings.Builder
	for i, l := range append(lines, strings.Join(cols, ",")) {
		b.WriteString(l)
		if i == 0 {
			b.WriteString(",energy\n")
		} else {
			b.WriteString(",0.5\n")
		}
	}
	file := filepath.Join(dir, "rep.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	strictDB := filepath.Join(dir, "strict.db")
	out, errOut, code := cli(t, "", "import", "--db", strictDB, "--strict", file)
	if code != 1 || !strings.Contains(out, "--strict: 0 rows rejected, 2 warnings, nothing was written") {
		t.Errorf("import --strict: exit %d, stdout %q, want 0 rows rejected, 2 warnings", code, out)
	}
	for _, want := range []string{`warning: ` + file + `:1: column "energy" appears 2 times`,
		`warning: ` + file + `:` + strconv.Itoa(len(lines)+1) + `: 1 row repeats the track id of an earlier row with other values`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
	if _, err := os.Stat(strictDB); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--strict left the database file it created (%v), want none: nothing was written", err)
	}
	out, errOut, code = cli(t, "", "import", "--db", filepath.Join(dir, "lax.db"), file)
	if code != 0 || !strings.Contains(errOut, "warning: ") || !strings.Contains(out, "added") {
		t.Errorf("import without --strict: exit %d, stdout %q, stderr %q: want the import done, with warnings", code, out, errOut)
	}
}

// TestImportInterruptedWhileStdinWaits: an interrupt ends an import whose
// stdin sends nothing (a terminal, a stalled pipe), writing nothing. It
// waited, deaf to the interrupt, for as long as stdin sent nothing.
func TestImportInterruptedWhileStdinWaits(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close() // ends the read given up on
	importEndsOnInterrupt(t, "waits on stdin", "-", pr)
}

// TestImportInterruptedWhileFIFOWaits: an interrupt ends an import of a
// FIFO that no writer has opened, writing nothing. Opening it waited in
// the kernel for a writer, deaf to the interrupt.
func TestImportInterruptedWhileFIFOWaits(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "in.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	importEndsOnInterrupt(t, "waits for a writer of the FIFO", fifo, strings.NewReader(""))
}

// TestImportInterruptedWhileImporting: an interrupt part-way through the
// rows writes nothing, removes the database file the import created, and
// says so as train and reindex do, without Go's bare "context canceled";
// a database that was there is unchanged, and said to be.
func TestImportInterruptedWhileImporting(t *testing.T) {
	rows, err := os.ReadFile(testdata + "spotify_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	// A pipe that sends the header and some rows, then nothing: the
	// import is reading rows when it is interrupted.
	stalled := func() io.Reader {
		pr, pw := io.Pipe()
		go pw.Write(rows[:bytes.LastIndexByte(rows[:4096], '\n')+1])
		t.Cleanup(func() { pw.Close() })
		return pr
	}
	db := filepath.Join(t.TempDir(), "w.db")
	err = importInterrupted(t, "waits for rows on stdin", db, "-", stalled())
	if want := "import: interrupted (context canceled) before anything was committed: nothing was written, and there is still no database at " + db; err == nil || err.Error() != want {
		t.Errorf("import = %v, want %q", err, want)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database file is there (%v), want it removed: the import created it and committed nothing", err)
	}

	if _, errOut, code := cli(t, "", "import", "--db", db, testdata+"tracks.tsv"); code != 1 {
		t.Fatalf("import tracks.tsv: exit %d, %s", code, errOut)
	}
	before := info(t, db)
	err = importInterrupted(t, "waits for rows on stdin", db, "-", stalled())
	if want := "import: interrupted (context canceled) before anything was committed: nothing was written, " + db + " is unchanged"; err == nil || err.Error() != want {
		t.Errorf("import = %v, want %q", err, want)
	}
	if after := info(t, db); after != before {
		t.Errorf("after the interrupted import: %+v, want %+v", after, before)
	}
}

// importEndsOnInterrupt runs `import FILE` with stdin, interrupted after
// 50 ms, and fails t unless it ends within 10 s with context.Canceled,
// saying that it was interrupted and nothing was written, and creates no
// database. waits says what the import was waiting on.
func importEndsOnInterrupt(t *testing.T, waits, file string, stdin io.Reader) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "w.db")
	err := importInterrupted(t, waits, db, file, stdin)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "import: interrupted") || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("import = %v, want interrupted, nothing was written and context.Canceled", err)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database was created (%v), want nothing written", err)
	}
}

// importInterrupted runs `import --db db FILE` with stdin, interrupted
// after 50 ms, and returns its error; it fails t unless the import ends
// within 10 s. waits says what the import was waiting on.
func importInterrupted(t *testing.T, waits, db, file string, stdin io.Reader) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		var out, errw bytes.Buffer
		done <- run(ctx, []string{"import", "--db", db, file}, stdin, &out, &errw)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("import still %s 10s after the interrupt", waits)
	}
	return nil
}
