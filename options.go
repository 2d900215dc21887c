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
	// LockTimeout is how long an open of the database file (at Open, for
	// a load, for a write) waits for another process that holds it before
	// failing with ErrLocked, which names the holder. Default 1s; the
	// soundalike commands wait 60s (--lock-timeout), as long as a server's
	// reload or a batch job can hold it. The ctx of the call that opens
	// the file ends the wait sooner.
	LockTimeout time.Duration
	// OnLockWait, when set, is called when an open of the file finds it
	// locked and starts waiting, with who holds it ("held by soundalike
	// import (pid 4242, writing since 16:02:11)").
	OnLockWait func(holders string)
	// ReadOnly opens the database without write access and holds a shared
	// lock on it until Close: import, train and reindex fail, and writers
	// in other processes wait. Several read-only engines may share a file.
	ReadOnly bool
	// Detached loads what the engine serves (catalogue, model, index) into
	// memory and releases the database file, so that batch commands in
	// other processes can write to it. Reload (or Watch) picks up their
	// work. It is what `soundalike serve` uses. Writes fail. With
	// ReadOnly set as well, the engine is Detached: it holds no lock
	// after loading.
	Detached bool
	// NoSync skips fsync on commit. For tests and benchmarks only.
	NoSync bool
	// ImportBuffer is the size in bytes of an import's write buffer,
	// which holds its writes until they are written in key order. An
	// import whose writes outgrow it stages them in the database file as
	// it goes (the file grows by a copy of the catalogue meanwhile) and
	// switches them in at the end, still all or nothing. It bounds the
	// buffer, not the process, whose peak is several times larger (see
	// docs/architecture.md, "The database"). Default
	// DefaultImportBuffer; negative: never stage.
	ImportBuffer int
	// VectorSource, when set, answers the nearest-neighbour step of every
	// search (a Weaviate cluster: package weaviate). The engine then loads
	// no index graph, only the current index's metadata, which names the
	// model it serves with. Default nil: the local index.
	VectorSource VectorSource
	// HugeTLB loads the index's layer 0 (its vectors and layer-0 links,
	// 256 bytes a track at 64-d: 256 MB of a 1M snapshot) onto the pool of
	// huge pages that sysctl vm.nr_hugepages reserves, when the pool has
	// room. The kernel's page-access monitor (DAMON), where it runs, does
	// not check those pages, so its checks do not stall the searches that
	// read them (docs/scaling.md). A reload holds two snapshots for a
	// moment: reserve room for two. Without room the index loads onto the
	// heap and the load logs why; Stats.HugeTLB says where it went.
	// Default false.
	HugeTLB bool
	// ImportMemory is the former name of ImportBuffer, used when
	// ImportBuffer is zero.
	//
	// Deprecated: use ImportBuffer.
	ImportMemory int
}

// DefaultImportBuffer is Options.ImportBuffer's default, 128 MiB.
const DefaultImportBuffer = storage.DefaultWriteBuffer

// DefaultImportMemory is the former name of DefaultImportBuffer.
//
// Deprecated: use DefaultImportBuffer.
const DefaultImportMemory = DefaultImportBuffer

// minImportBuffer is the smallest ImportBuffer: below it an import would
// commit every few rows.
const minImportBuffer = 64 << 10

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
	bufferField := "ImportBuffer"
	if out.ImportBuffer == 0 && out.ImportMemory != 0 {
		out.ImportBuffer, bufferField = out.ImportMemory, "ImportMemory"
	}
	if out.ImportBuffer > 0 && out.ImportBuffer < minImportBuffer {
		errs = append(errs, fmt.Errorf("%s %d: want at least %d (64 KiB), 0 for the default, or negative to never stage", bufferField, out.ImportBuffer, minImportBuffer))
	}
	if out.LockTimeout == 0 {
		out.LockTimeout = time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out, errors.Join(errs...)
}
