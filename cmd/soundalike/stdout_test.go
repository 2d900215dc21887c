package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audotics/soundalike/storage"
)

// asCommandEnv, set to 1, makes the test binary run main on its
// arguments (TestMain), so that a test can run the command as a process
// of its own: what the signals and file descriptors of a process do
// cannot be seen by calling run.
const asCommandEnv = "SOUNDALIKE_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(asCommandEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// stalledStdout is a standard output whose reader does not read (a pager
// the user has not scrolled, a pipe nobody drains): the first Write says
// so on writing, then every Write waits for release.
type stalledStdout struct {
	once    sync.Once
	writing chan struct{}
	release chan struct{}
	buf     bytes.Buffer
}

func newStalledStdout() *stalledStdout {
	return &stalledStdout{writing: make(chan struct{}), release: make(chan struct{})}
}

func (w *stalledStdout) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.writing) })
	<-w.release
	return w.buf.Write(p)
}

// Given a read-only command whose standard output is not being read,
// when another process opens the database to write, expect the open to
// succeed within a short lock timeout: the command let go of the file
// before it printed. Its output, written once the reader reads, is the
// answer the command gives when nothing waits.
func TestQueriesReleaseTheDatabaseBeforePrinting(t *testing.T) {
	db := testDB(t, 300)
	for _, args := range [][]string{
		{"similar", "--track", "t0007", "-k", "200", "--json"},
		{"similar", "--track", "t0007", "-k", "200"},
		{"recommend", "--positive", "t0007,t0008", "-k", "200"},
		{"search", "song", "-k", "100", "--json"},
		{"export"},
		{"runs", "--json"},
		{"models"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			args := append(args, "--db", db)
			want, _, err := runCmd(t.Context(), args...)
			if err != nil {
				t.Fatal(err)
			}
			stdout := newStalledStdout()
			var stderr bytes.Buffer
			done := make(chan error, 1)
			go func() { done <- run(t.Context(), args, strings.NewReader(""), stdout, &stderr) }()
			select {
			case <-stdout.writing:
			case err := <-done:
				t.Fatalf("%s ended before it wrote: %v", args[0], err)
			case <-time.After(30 * time.Second):
				t.Fatalf("%s wrote nothing in 30s", args[0])
			}
			w, err := storage.Open(db, &storage.Options{Timeout: 300 * time.Millisecond, Command: "soundalike import"})
			if err != nil {
				t.Errorf("open to write while %s's output waits for its reader = %v, want the database free", args[0], err)
			} else {
				w.Close()
			}
			close(stdout.release)
			if err := <-done; err != nil {
				t.Fatalf("%s = %v once its output was read, want success", args[0], err)
			}
			if got := stdout.buf.String(); normaliseTook(got) != normaliseTook(want) {
				t.Errorf("%s printed, after letting go of the database:\n%s\nwant\n%s", args[0], got, want)
			}
		})
	}
}

// normaliseTook blanks the time a JSON answer says it took.
func normaliseTook(s string) string {
	i := strings.Index(s, `"took_us":`)
	if i < 0 {
		return s
	}
	j := i + len(`"took_us":`)
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[:i] + s[j:]
}

// Given a standard output that is a pipe nobody reads any more (the
// reader of | head -1 has gone), when a query command prints, expect it
// to stop quietly with exit status 141 (128 + SIGPIPE) rather than be
// killed by SIGPIPE, and to leave no lock-info file beside the database.
func TestClosedStdoutPipe(t *testing.T) {
	db := testDB(t, 300)
	for _, args := range [][]string{
		{"similar", "--track", "t0007", "-k", "200", "--json"},
		{"recommend", "--positive", "t0007", "-k", "200"},
		{"export"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close() // the reader is gone before the command writes
			var stderr bytes.Buffer
			cmd := exec.Command(os.Args[0], append(args, "--db", db)...)
			cmd.Env = append(os.Environ(), asCommandEnv+"=1")
			cmd.Stdout, cmd.Stderr = w, &stderr
			err = cmd.Run()
			w.Close()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitBrokenPipe || stderr.Len() > 0 {
				t.Errorf("%s into a closed pipe: %v (%v), stderr %q; want exit status %d and nothing said", args[0], err, cmd.ProcessState, stderr.String(), exitBrokenPipe)
			}
			if left, _ := filepath.Glob(db + ".lock-info.*"); len(left) > 0 {
				t.Errorf("%s into a closed pipe left %q behind", args[0], left)
			}
		})
	}
}

// Given a standard output whose reader has gone (EPIPE), when a command
// prints its report, expect run to say nothing and main to exit 141:
// the reader had all it wanted.
func TestBrokenPipeExitsQuietly(t *testing.T) {
	db := testDB(t, 50)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	err = run(t.Context(), []string{"info", "--db", db}, strings.NewReader(""), w, os.Stderr)
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); err != errStdoutClosed || code != exitBrokenPipe || stderr.Len() > 0 {
		t.Errorf("info into a closed pipe = %v, exit %d, stderr %q; want %v, exit %d and nothing said", err, code, stderr.String(), errStdoutClosed, exitBrokenPipe)
	}
	// A command that failed on its own (an import with rejected rows)
	// keeps its exit status.
	err = run(t.Context(), []string{"import", "--db", filepath.Join(t.TempDir(), "r.db"), "../../testdata/rejects.csv"}, strings.NewReader(""), w, io.Discard)
	if code := exitCode(err, &stderr); code != 1 {
		t.Errorf("import of rejected rows into a closed pipe = %v, exit %d; want exit 1", err, code)
	}
}
