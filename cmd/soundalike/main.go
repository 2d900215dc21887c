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
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
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

func run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) error {
	report := &reportWriter{w: out}
	err := runCommand(ctx, args, stdio{in, report, errw, &lockFlag{}})
	if report.err != nil && (err == nil || err == errSilent || errors.Is(err, report.err)) {
		// The report, or part of it, never arrived: a full disk or a
		// closed pipe must not pass for success, and says where it was.
		return fmt.Errorf("write the report to standard output: %w", report.err)
	}
	return err
}

// runCommand runs the command args name, or prints the manual.
func runCommand(ctx context.Context, args []string, stdio stdio) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				if err := c.run(ctx, []string{"-h"}, stdio); !errors.Is(err, flag.ErrHelp) {
					return err
				}
				return nil
			}
		}
		printUsage(stdio.out)
		if len(args) == 0 {
			return usagef("no command given")
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		printUsage(stdio.err)
		return usagef("unknown command %q", args[0])
	}
	err := c.run(ctx, args[1:], stdio)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return lockHint(damageHint(err))
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
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `soundalike COMMAND -h` for a command's flags.")
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if err != errSilent {
		fmt.Fprintln(stderr, "soundalike:", err)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting, with the --db flag every command shares.
func newFlagSet(name string, stdio stdio, db *string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdio.err)
	if db != nil {
		def := os.Getenv("SOUNDALIKE_DB")
		if def == "" {
			def = "soundalike.db"
		}
		fs.StringVar(db, "db", def, "database `path` (default from $SOUNDALIKE_DB, else soundalike.db)")
		if stdio.lock != nil {
			stdio.lock.timeout = defaultLockTimeout
			fs.Var(stdio.lock, "lock-timeout",
				"how long to wait for the database while another process (a batch job, a server reloading) holds it: a positive `duration` such as 60s or 5m")
		}
	}
	return fs
}

// parseFlags parses args, turning a flag error into a usage error. Flags
// may come before, between or after the positional arguments (soundalike
// import plays.csv --db w.db), as people type them; after "--" every
// argument is positional. fs.Args then holds the positional arguments in
// their order.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// Parse stops at the first positional argument, or consumes a
		// "--" and stops after it.
		if parsed := args[:len(args)-len(rest)]; len(parsed) > 0 && parsed[len(parsed)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	if len(positional) > 0 {
		// Parsing "--" and the positional arguments sets fs.Args to them.
		return fs.Parse(append([]string{"--"}, positional...))
	}
	return nil
}

// printIndentedJSON writes v to w as indented JSON: the --json output of
// the commands whose answer a person reads as often as a program.
func printIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
