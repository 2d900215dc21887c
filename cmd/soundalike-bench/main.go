// Command soundalike-bench measures soundalike's components: the vector
// index against exact search and coder/hnsw (index), a full reindex against
// the index build alone (reindex), and GET /similar over loopback HTTP
// (serve). docs/benchmarks.md lists each target with its command.
//
// Usage:
//
//	go run ./cmd/soundalike-bench MODE [flags]
//
// It is a development tool, kept apart from the soundalike command so that
// the product binary links neither the benchmark code nor coder/hnsw.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/audotics/soundalike/index"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// stdio is the process's output streams, passed explicitly so that tests
// can call run with buffers.
type stdio struct {
	out, err io.Writer
}

func run(ctx context.Context, args []string, out, errw io.Writer) error {
	err := runBench(ctx, args, stdio{out, errw})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// usageError marks an error caused by how the command was called: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "soundalike-bench:", err)
	if _, ok := errors.AsType[usageError](err); ok {
		return 2
	}
	return 1
}

// newFlagSet returns a flag set for a mode that reports errors instead of
// exiting.
func newFlagSet(name string, stdio stdio) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdio.err)
	return fs
}

// parseFlags parses args, turning a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// indexFlags binds the HNSW build flags, named as `soundalike reindex`
// names them.
func indexFlags(fs *flag.FlagSet, o *index.Options) {
	d := index.DefaultOptions()
	fs.IntVar(&o.M, "m", d.M, "HNSW `M`: neighbours per node (2M on layer 0)")
	fs.IntVar(&o.EfConstruction, "ef-construction", d.EfConstruction, "HNSW beam width while building")
	fs.IntVar(&o.EfSearch, "ef-search", d.EfSearch, "HNSW default beam width of a search")
	fs.IntVar(&o.Workers, "workers", d.Workers, "goroutines that build the index")
}
