package index

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// Options configures an HNSW index. A nil *Options or a zero field means the
// documented default; DefaultOptions returns the defaults filled in.
type Options struct {
	// M is the number of neighbours kept per node on the upper layers; layer 0
	// keeps 2·M. Default 16. Larger M raises recall and memory.
	M int

	// EfConstruction is the beam width used while linking a new node.
	// Default 200.
	EfConstruction int

	// EfSearch is the beam width of a search that passes ef = 0; a search
	// uses max(ef, k). Default 80 (its recall is in docs/benchmarks.md).
	// It does not shape the graph: SetOptions changes it on a built or
	// read index, and WriteTo saves the value in effect.
	EfSearch int

	// Seed drives the level draws. With Workers = 1 a build is fully
	// deterministic; with more workers only the levels are, since the link
	// order depends on scheduling. Default 1 (zero means 1).
	Seed int64

	// Workers is the number of goroutines AddBatch and Compact link with.
	// Default runtime.GOMAXPROCS(0). It is not saved: Read gives the
	// default, SetOptions another.
	Workers int

	// MaxTombstoneRatio is the share of deleted (or superseded) nodes above
	// which NeedsCompact reports true. Default 0.2. Like EfSearch, it does
	// not shape the graph: SetOptions changes it.
	MaxTombstoneRatio float64
}

// Defaults used when a field of Options is zero.
const (
	DefaultM                 = 16
	DefaultEfConstruction    = 200
	DefaultEfSearch          = 80
	DefaultSeed              = 1
	DefaultMaxTombstoneRatio = 0.2
)

// Limits on Options and dimensions, checked by Validate and New.
const (
	MaxM        = 256
	MaxEf       = 1 << 16
	MaxDim      = 1 << 16
	maxWorkers  = 1024
	maxLevelCap = 32
)

// DefaultOptions returns a fresh Options with every default filled in.
func DefaultOptions() *Options {
	return &Options{
		M:                 DefaultM,
		EfConstruction:    DefaultEfConstruction,
		EfSearch:          DefaultEfSearch,
		Seed:              DefaultSeed,
		Workers:           runtime.GOMAXPROCS(0),
		MaxTombstoneRatio: DefaultMaxTombstoneRatio,
	}
}

// Validate reports every problem with o in one error, or nil. Zero fields
// are valid (they mean the default).
func (o *Options) Validate() error {
	if o == nil {
		return nil
	}
	var errs []string
	if o.M < 0 || o.M == 1 || o.M > MaxM {
		errs = append(errs, fmt.Sprintf("M = %d: want 0 (default %d) or 2..%d", o.M, DefaultM, MaxM))
	}
	if o.EfConstruction < 0 || o.EfConstruction > MaxEf {
		errs = append(errs, fmt.Sprintf("EfConstruction = %d: want 0 (default %d) or 1..%d", o.EfConstruction, DefaultEfConstruction, MaxEf))
	}
	if o.EfSearch < 0 || o.EfSearch > MaxEf {
		errs = append(errs, fmt.Sprintf("EfSearch = %d: want 0 (default %d) or 1..%d", o.EfSearch, DefaultEfSearch, MaxEf))
	}
	if o.Workers < 0 || o.Workers > maxWorkers {
		errs = append(errs, fmt.Sprintf("Workers = %d: want 0 (all cores) or 1..%d", o.Workers, maxWorkers))
	}
	if !(o.MaxTombstoneRatio >= 0 && o.MaxTombstoneRatio < 1) {
		errs = append(errs, fmt.Sprintf("MaxTombstoneRatio = %v: want 0 (default %v) or a value in (0, 1)", o.MaxTombstoneRatio, DefaultMaxTombstoneRatio))
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New("index options: " + strings.Join(errs, "; "))
}

// WithDefaults returns a copy of o (which may be nil) with every zero
// field set to its default. It does not validate o: Validate does.
func (o *Options) WithDefaults() Options {
	d := *DefaultOptions()
	if o == nil {
		return d
	}
	r := *o
	if r.M == 0 {
		r.M = d.M
	}
	if r.EfConstruction == 0 {
		r.EfConstruction = d.EfConstruction
	}
	if r.EfSearch == 0 {
		r.EfSearch = d.EfSearch
	}
	if r.Seed == 0 {
		r.Seed = d.Seed
	}
	if r.Workers == 0 {
		r.Workers = d.Workers
	}
	if r.MaxTombstoneRatio == 0 {
		r.MaxTombstoneRatio = d.MaxTombstoneRatio
	}
	return r
}
