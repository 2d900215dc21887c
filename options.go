package soundalike

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/audotics/soundalike/storage"
)

// Options configure Open. A nil *Options, or a zero field, means the
// documented default.
type Options struct {
	// Logger receives progress and warnings. Default: discard.
	Logger *slog.Logger
	// LockTimeout is how long Open waits for another process that holds the
	// database before failing. Default 1s.
	LockTimeout time.Duration
	// ReadOnly opens the database without write access: import, train and
	// reindex fail. Several read-only engines may share a file.
	ReadOnly bool
	// Detached loads what the engine serves (catalogue, model, index) into
	// memory and releases the database file, so that batch commands in
	// other processes can write to it. Reload (or Watch) picks up their
	// work. It is what `soundalike serve` uses. Writes fail.
	Detached bool
	// NoSync skips fsync on commit. For tests and benchmarks only.
	NoSync bool
	// ImportMemory bounds what an import buffers in memory, in bytes. A
	// larger import stages its writes in the database file as it goes
	// (the file grows by a copy of the catalogue meanwhile) and switches
	// them in at the end, still all or nothing. Default
	// DefaultImportMemory; negative: never stage.
	ImportMemory int
}

// DefaultImportMemory is Options.ImportMemory's default: 128 MiB (the dev
// file ten times over, 257,620 rows, imports below it; a million rows of
// it do not).
const DefaultImportMemory = storage.DefaultBulkAfter

// minImportMemory is the smallest ImportMemory: below it an import would
// commit every few rows.
const minImportMemory = 64 << 10

// DefaultOptions returns the defaults, a fresh copy each call.
func DefaultOptions() *Options {
	return &Options{LockTimeout: time.Second}
}

func (o *Options) withDefaults() (Options, error) {
	out := *DefaultOptions()
	if o != nil {
		out = *o
	}
	var errs []error
	if out.LockTimeout < 0 {
		errs = append(errs, fmt.Errorf("LockTimeout %v: must not be negative", out.LockTimeout))
	}
	if out.ImportMemory > 0 && out.ImportMemory < minImportMemory {
		errs = append(errs, fmt.Errorf("ImportMemory %d: want at least %d (64 KiB), 0 for the default, or negative to never stage", out.ImportMemory, minImportMemory))
	}
	if out.LockTimeout == 0 {
		out.LockTimeout = time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out, errors.Join(errs...)
}
