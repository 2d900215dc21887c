// Command soundalike imports a music catalogue, trains track embeddings,
// builds a similarity index and serves "tracks that sound like this one".
// See doc.go (printed by `soundalike help`) for the manual.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/audotics/soundalike/internal/printable"
)

func main() {
	// A write to a closed pipe fails with EPIPE instead of killing the
	// process (Go's default for standard output and error), so that a
	// reader that stops early (| head) never leaves the database's
	// lock-info file behind, or a training run unsaved; run turns the
	// closed standard output into exitBrokenPipe.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := notifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	code := exitStatus(ctx, err, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand. Each lives in its own file and registers itself
// in init, so adding a command touches no other file.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdio stdio) error
}

// stdio is the process's standard streams, passed explicitly so that tests
// can call run with buffers.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	// lock holds --lock-timeout of the command being run (newFlagSet
	// binds it); nil leaves the library's default.
	lock *lockFlag
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// usageError marks an error caused by how the command was called: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// errSilent is returned when the command has already reported the problem
// (e.g. import printed its rejected rows) and only the exit code is left.
var errSilent = errors.New("")

// errStdoutClosed is run's error when standard output is a pipe whose
// reader went away (soundalike similar … | head -1): the reader has all
// it wanted, so the command stops without a word, with exitBrokenPipe.
var errStdoutClosed = errors.New("standard output closed")

// exitBrokenPipe is the exit status of a command whose standard output
// was closed: 128 + SIGPIPE, what a shell reports for a process the
// signal killed, so that scripts (set -o pipefail) see what they saw of
// programs that do not catch it.
const exitBrokenPipe = 128 + int(syscall.SIGPIPE)

func run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) error {
	report := &reportWriter{w: out}
	err := runCommand(ctx, args, stdio{in, report, errw, &lockFlag{}})
	if report.err != nil && (err == nil || err == errSilent || errors.Is(err, report.err)) {
		if errors.Is(report.err, syscall.EPIPE) {
			if err == errSilent {
				return err // the command's own failure (rejected rows): exit 1
			}
			return errStdoutClosed
		}
		// The report, or part of it, never arrived: a full disk must not
		// pass for success, and says where it was.
		return fmt.Errorf("write the report to standard output: %w", report.err)
	}
	return err
}

// runCommand runs the command args name, or prints the manual: on
// standard output when asked for (help, -h, --help; exit 0), and on
// standard error, as a usage error, when no command is given. A command
// that does not exist is named in one line with the commands that do.
func runCommand(ctx context.Context, args []string, stdio stdio) error {
	if len(args) == 0 {
		printUsage(stdio.err)
		return usagef("no command given")
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	if isHelp(args[0]) {
		// help help, help -h: the manual as well.
		if len(args) == 1 || isHelp(args[1]) {
			printUsage(stdio.out)
			return nil
		}
		c, ok := commands[args[1]]
		if !ok {
			return unknownCommand(args[1:])
		}
		if err := c.run(ctx, []string{"-h"}, stdio); !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		return unknownCommand(args)
	}
	err := c.run(ctx, args[1:], stdio)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return withHints(err)
}

// withHints adds to err what its reader can do about it: reindex, wait
// longer for the lock, or repair a damaged file (errors.go).
func withHints(err error) error { return lockHint(damageHint(indexRemedy(err))) }

// isHelp reports whether arg asks for the manual.
func isHelp(arg string) bool { return arg == "help" || arg == "-h" || arg == "--help" }

// unknownCommand is the usage error for args, whose first is not a
// command: a flag given before the command is shown after it, where
// flags go (soundalike info --db x); anything else is named with the
// commands there are.
func unknownCommand(args []string) error {
	name := args[0]
	if strings.HasPrefix(name, "-") {
		for i, a := range args {
			if _, ok := commands[a]; ok {
				line := append([]string{"soundalike", a}, args[:i]...)
				line = append(line, args[i+1:]...)
				return usagef("%s: flags follow the command: %s", printable.String(name), printable.String(strings.Join(line, " ")))
			}
		}
		return usagef("%s: flags follow the command: soundalike COMMAND [flags]; the commands are %s", printable.String(name), strings.Join(commandNames(), ", "))
	}
	return usagef("unknown command %q; the commands are %s (soundalike help prints the manual)", name, strings.Join(commandNames(), ", "))
}

// commandNames returns the names of the commands in order.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// reportWriter is a command's standard output. It remembers the first
// write error, after which it writes nothing more, so that run can fail a
// command whose report was lost however the command wrote it (fmt.Fprintf
// results go unchecked).
type reportWriter struct {
	w   io.Writer
	err error
}

func (r *reportWriter) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	r.err = err
	return n, err
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, manual)
	fmt.Fprintln(w, "\nCommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `soundalike COMMAND -h` for a command's flags.")
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if err == errStdoutClosed {
		return exitBrokenPipe
	}
	if le, ok := errors.AsType[loggedError](err); ok {
		le.log.Error(err.Error()) // serve --log json: its log is all JSON
	} else if err != errSilent {
		fmt.Fprintln(stderr, "soundalike:", err)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting, with the --db flag of every command that uses a
// database (db non-nil).
func newFlagSet(name string, stdio stdio, db *string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdio.err)
	if db != nil {
		// The flag package shows the default after the usage, so the
		// usage says only where it comes from.
		def, usage := os.Getenv("SOUNDALIKE_DB"), "database `path`; the default is $SOUNDALIKE_DB"
		if def == "" {
			def, usage = "soundalike.db", "database `path`; set $SOUNDALIKE_DB to change the default"
		}
		fs.StringVar(db, "db", def, usage)
		if stdio.lock != nil {
			stdio.lock.timeout = defaultLockTimeout
			fs.Var(stdio.lock, "lock-timeout",
				"how long to wait for the database while another process (a batch job, a server reloading) holds it: a positive `duration` such as 60s or 5m")
		}
	}
	return fs
}

// checkDBFlag refuses an empty --db, newFlagSet's database path (a
// script's unset variable, --db ""): it names no file, and is the
// command line's mistake, not the database's. A --db whose default is
// empty (demo's: a temporary file) takes "" as that default.
func checkDBFlag(fs *flag.FlagSet) error {
	f := fs.Lookup("db")
	if f == nil || f.DefValue == "" || f.Value.String() != "" {
		return nil
	}
	return refuseFlag(fs, "db", "", "want a path")
}

// splitList splits list, the value of flag, a comma-separated list of
// what (such as "track references"), into its entries, spaces trimmed;
// an empty value gives none. An empty entry (a,,b, a trailing comma) is a
// usage error naming the flag and the entry's place: dropping it would
// run a command other than the one typed.
func splitList(flag, list, what string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	entries := strings.Split(list, ",")
	for i, e := range entries {
		if entries[i] = strings.TrimSpace(e); entries[i] == "" {
			return nil, usagef("%s: entry %d of %d is empty: give comma-separated %s, none empty", flag, i+1, len(entries), what)
		}
	}
	return entries, nil
}

// printIndentedJSON writes v to w as indented JSON: the --json output of
// the commands whose answer a person reads as often as a program.
func printIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
