package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/internal/words"
)

func init() {
	register(command{name: "import", summary: "import tracks and interactions from CSV, TSV or JSON Lines files, or the app's PostgreSQL database", run: runImport})
}

// importFlags are import's options.
type importFlags struct {
	db             string
	strict         bool
	noInteractions bool
	asJSON         bool
	bufferMiB      int
	maxLineBytes   int
	// bufferFlag is the name of the flag that set bufferMiB: buffer-mib,
	// or its deprecated alias memory.
	bufferFlag string
}

// engineOptions are the engine options the flags ask for.
func (f *importFlags) engineOptions() *soundalike.Options {
	o := soundalike.DefaultOptions()
	o.ImportBuffer = f.bufferMiB << 20
	return o
}

// maxBufferMiB is the largest --buffer-mib: 1 TiB, far beyond any
// machine's memory, and small enough that its bytes fit an int (on a
// 32-bit build, the largest that does), so that a huge value is refused
// rather than wrapped round to 0 (the default) or a negative (never stage).
const maxBufferMiB = min(1<<20, math.MaxInt>>20)

// bufferMiBUsage documents --buffer-mib.
const bufferMiBUsage = "size of the write buffer in MiB: an import whose writes outgrow it stages them in the database file as it goes (still all or nothing). It bounds the buffer, not the process, which peaks at several times it"

// addBufferFlags binds --buffer-mib, and --memory, its deprecated alias,
// to f.bufferMiB.
func (f *importFlags) addBufferFlags(fs *flag.FlagSet) {
	f.bufferMiB, f.bufferFlag = soundalike.DefaultImportBuffer>>20, "buffer-mib"
	fs.IntVar(&f.bufferMiB, "buffer-mib", f.bufferMiB, fmt.Sprintf("%s; 1..%d", bufferMiBUsage, maxBufferMiB))
	fs.Func("memory", "deprecated, the former name of --buffer-mib: the write buffer in `MiB`", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return errors.New("want a whole number of MiB")
		}
		f.bufferMiB, f.bufferFlag = n, "memory"
		return nil
	})
}

// importUsage is import's help text, before its flags.
const importUsage = `Usage: soundalike import [--db PATH] [--strict] [--no-interactions] [--json] [--buffer-mib MiB] [--max-line-bytes N] FILE...
       soundalike import [--db PATH] [--strict] [--no-interactions] [--json] [--buffer-mib MiB] --postgres [URL]
                         [--tracks-query SQL] [--interactions-query SQL] [--actions LIST] [--stall-timeout D]
                         [--prune [--prune-max PERCENT]]

Imports CSV, TSV or JSON Lines files, each optionally gzip-compressed ("-" is
stdin). Columns are found by name: the track id (track_id, id, spotify_id,
uri), the eleven Spotify audio features, metadata (track_name, track_artist,
…) and, for interactions, a user (user_id, playlist_id) with action and
timestamp. In JSON Lines, the first object's keys are the columns: give it
every key, null where a value is unknown. A file of only a track id, a
user, an action and a timestamp (an interaction log) adds interactions
to tracks already imported or given by the command's other files (it is
read after them), named by their ids or, in a catalogue keyed by
another system's ids, by Spotify id, URI or link. Rejected rows are listed with file, line and reason; the exit code
is then 1. Warnings (repeated column names or JSON keys, where the first
is read; a track id repeated with other values, in one file or across the
files of the command, where the last row wins; a file without rows; a CSV
row that a stray quote may have joined with the next; an interaction log
given with --no-interactions, which imports nothing from it) are listed
too, and --strict writes nothing when there is any. A track is counted
once however many rows give it: added if the import added it, else
updated if a row changed it. Errors name a field by the file's own
column. Files with CR, LF, CRLF or CR CR LF line ends are read alike. The
import is all or nothing: one that fails, is refused by --strict or is
interrupted (Ctrl-C) writes nothing, and leaves no file at a --db path
that had none. One whose writes outgrow the write buffer (--buffer-mib)
stages them in the database file as it goes, which keeps its memory flat.
A line longer than --max-line-bytes (1 MiB) stops the import: it is almost
always a damaged or wrong file.

With --postgres, reads the app's PostgreSQL database instead (URL, or
$DATABASE_URL when none is given; ?search_path=SCHEMA in the URL for tables
outside public): "Track" joined with "TrackFeatures" (no genre, release date
or duration: see --tracks-query), then every row of "TrackInteraction" (or
the older "UserInteraction"), skips too as from a file, or only those of
--actions. docs/postgres.md lists the tables and columns read.
Rejected rows are listed with their id. An interaction that names a
track not in the catalogue is not rejected: the track's features may not
be computed yet (the tracks query returns only tracks with features), or
the track was deleted, and import cannot tell which. It waits: it is not
stored, and is counted ("N interactions wait for tracks not in the
catalogue"; --json: interactions_waiting); every import from the
database reads it again and adds it once its track is there. --strict does not refuse it, unless
every interaction read names such a track: that is warned about as a
likely wrong --interactions-query (one reading the user id, or Spotify
ids where the catalogue holds the app's), and --strict refuses it.
--prune also deletes the catalogue's tracks that the tracks query no
longer returns, files' too, in the same all-or-nothing import ("N tracks
deleted"; --json: tracks_deleted); their interactions are kept. It is
refused, writing nothing, when the tracks query returns no rows (an empty
or wrong table would delete the whole catalogue) or when it would delete
more than --prune-max (10%) of the catalogue, and deletes nothing
after a rejected row of the tracks query (a rejected interaction does not
stop it). A running serve stops returning a deleted track at its next
reload; the next reindex drops it from the index. A track taken down
with soundalike delete comes back at the next import --postgres while
the app still has it: take a track down in the app (remove it, or leave
it out of the tracks query), and --prune then deletes it here; delete
suits catalogues fed by files. A server that sends nothing for
--stall-timeout (10m) stops the import. The password is never printed;
give it through $DATABASE_URL (--postgres alone), ~/.pgpass or $PGPASSWORD,
since other local users can read a command line.

`

func runImport(ctx context.Context, args []string, stdio stdio) error {
	var f importFlags
	fs := newFlagSet("import", stdio, &f.db)
	fs.BoolVar(&f.strict, "strict", false, "write nothing if any row is rejected or any warning is given (repeated track ids, column names or JSON keys, a file without rows, rows a stray quote may have joined, an interaction log with --no-interactions)")
	fs.BoolVar(&f.noInteractions, "no-interactions", false, "import tracks only, ignoring user columns")
	fs.BoolVar(&f.asJSON, "json", false, `print the summary as JSON; an import that fails prints it too, with its "error"`)
	f.addBufferFlags(fs)
	fs.IntVar(&f.maxLineBytes, "max-line-bytes", ingest.DefaultMaxLineBytes, "longest line (or CSV record) a file may have, in bytes; a longer one stops the import")
	pg := addPostgresFlags(fs) // import_postgres.go
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), importUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if isFlagSet(fs, "memory") {
		if isFlagSet(fs, "buffer-mib") {
			return usagef("import: --memory is the deprecated name of --buffer-mib: give --buffer-mib alone")
		}
		fmt.Fprintln(stdio.err, "import: --memory is deprecated: use --buffer-mib (it sizes the write buffer; the process peaks at several times it)")
	}
	if f.bufferMiB < 1 || f.bufferMiB > maxBufferMiB {
		return refuseFlag(fs, f.bufferFlag, f.bufferMiB, "want 1..%d (MiB)", maxBufferMiB)
	}
	if f.maxLineBytes < 1 {
		return refuseFlag(fs, "max-line-bytes", f.maxLineBytes, "want at least 1 (bytes)")
	}
	if pg.given() {
		return runImportPostgres(ctx, pg, fs, &f, stdio)
	}
	if err := pg.checkUnused(fs); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("import: no FILE given (give one or more CSV, TSV or JSON Lines files, or - for stdin)")
	}
	return importFiles(ctx, &f, fs.Args(), stdio)
}

// importFiles imports the named files in one transaction and prints the
// summary.
func importFiles(ctx context.Context, f *importFlags, names []string, stdio stdio) error {
	// Open every file first: one whose columns cannot make tracks is
	// refused before anything is written. ctx ends the wait for a header
	// that a pipe or a terminal does not send. --no-interactions leaves
	// the user columns unread, so that a bad cell there rejects no track,
	// and an interaction log's rows unread.
	var total ingest.Summary
	failed := func(err error) error { return importFailed(stdio, f.asJSON, importReport{Summary: total}, err) }
	srcs, err := openSources(names, stdio.in, &ingest.FileOptions{MaxLineBytes: f.maxLineBytes, Context: ctx, NoInteractions: f.noInteractions})
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	if err != nil {
		if ctx.Err() != nil {
			return failed(interruptedImport(f.db, context.Cause(ctx)))
		}
		return failed(lineLimitFlag(err))
	}

	eng, err := soundalike.Open(f.db, stdio.engineOptions(f.engineOptions()))
	if err != nil {
		return failed(err)
	}
	defer eng.Close()

	srcs = tracksFirst(srcs)
	bar := newImportProgress(stdio.err, srcs)
	total.Errors = []ingest.RowError{}
	rolledBack := false
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		// The files are one import: a track id repeated across them is
		// warned about, and counted once, as within one file.
		repeats := ingest.NewRepeats()
		for i, src := range srcs {
			sum, err := ingest.Run(ctx, src, tx, &ingest.Options{
				Progress: func(p ingest.Progress) { bar.update(i, p) },
				Repeats:  repeats,
			})
			noInteractionsFlag(sum.Warnings)
			total.Add(sum)
			if err != nil {
				return err
			}
		}
		if f.strict && strictRefuses(total) {
			rolledBack = true
			return soundalike.ErrRollback
		}
		return nil
	})
	bar.done()
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return failed(interruptedImport(f.db, context.Cause(ctx)))
	}
	if err != nil {
		return failed(fmt.Errorf("import: nothing was written: %w", lineLimitFlag(err)))
	}
	if rolledBack {
		total.TracksAdded, total.TracksUpdated, total.InteractionsAdded = 0, 0, 0
	}
	if err := printImport(stdio, importReport{Summary: total}, f.asJSON, rolledBack); err != nil {
		return err
	}
	if total.Rejected > 0 || rolledBack {
		return errSilent
	}
	return nil
}

// importFailed returns err, the error of an import that wrote nothing,
// once it has printed, under --json, rep with the error: a script reading
// standard output gets one JSON object whether the import ran or failed.
// What rep counts as written is zeroed, since nothing was; the rows
// rejected and the warnings given before the failure are kept. A usage
// error (exit 2: the command line is wrong) prints nothing: the command
// line may not even have been read as asking for --json.
func importFailed(stdio stdio, asJSON bool, rep importReport, err error) error {
	if _, usage := errors.AsType[usageError](err); !asJSON || usage {
		return err
	}
	rep.TracksAdded, rep.TracksUpdated, rep.InteractionsAdded, rep.TracksDeleted = 0, 0, 0, nil
	if rep.Errors == nil {
		rep.Errors = []ingest.RowError{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []ingest.RowError{}
	}
	rep.Error = withHints(err).Error()   // as runCommand shows it on stderr
	printImport(stdio, rep, true, false) // a write error is run's to report
	return err
}

// ignoredLogReason is ingest.IgnoredLogReason in the command line's
// words: the flag that leaves the file unread.
const ignoredLogReason = "is an interaction log (a track id and a user, no features), and --no-interactions imports no interactions: nothing is imported from it"

// noInteractionsFlag names --no-interactions in the warnings of the
// interaction logs it leaves unread, which the library words without it.
func noInteractionsFlag(warnings []ingest.RowError) {
	for i := range warnings {
		if warnings[i].Reason == ingest.IgnoredLogReason {
			warnings[i].Reason = ignoredLogReason
		}
	}
}

// interruptedImport is the error of an import stopped by cause, its
// context's: main's names the signal (Ctrl-C's SIGINT, or SIGTERM: see
// notifyContext) and is context.Canceled to errors.Is. It is worded as
// train's and reindex's are. Import commits all or nothing, and
// honours its context only before it commits, so nothing was written: db
// holds what it held, or is still missing (Engine.Import removes a file
// it created and committed nothing to).
func interruptedImport(db string, cause error) error {
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("import: interrupted (%w) before anything was committed: nothing was written, and there is still no database at %s", cause, db)
	}
	return fmt.Errorf("import: interrupted (%w) before anything was committed: nothing was written, %s is unchanged", cause, db)
}

// openSources opens each named file ("-" is in), closing what it opened
// when one fails.
func openSources(names []string, in io.Reader, opts *ingest.FileOptions) ([]*ingest.FileSource, error) {
	stdin := 0
	for _, name := range names {
		if name == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return nil, usagef("import: - (stdin) given %d times; it can be read only once", stdin)
	}
	var srcs []*ingest.FileSource
	for _, name := range names {
		var (
			src *ingest.FileSource
			err error
		)
		if name == "-" {
			src, err = ingest.NewFileReader("stdin", in, opts)
		} else {
			src, err = ingest.OpenFile(name, opts)
		}
		if err != nil {
			return srcs, err
		}
		srcs = append(srcs, src)
	}
	return srcs, nil
}

// tracksFirst orders srcs for import: the interaction logs after the
// files that give tracks, each kind in the order given. An interaction
// log adds interactions to tracks already stored, so one given before the
// file of its tracks (import plays.csv tracks.csv) had every row rejected;
// the order of the files that give tracks is kept, since the last row of
// a repeated track id wins.
func tracksFirst(srcs []*ingest.FileSource) []*ingest.FileSource {
	var tracks, logs []*ingest.FileSource
	for _, s := range srcs {
		if s.Mapper().InteractionsOnly() {
			logs = append(logs, s)
		} else {
			tracks = append(tracks, s)
		}
	}
	return append(tracks, logs...)
}

// strictRefuses reports whether --strict writes nothing after sum: a row
// was rejected, or something was read that may not be what was meant
// (Summary.Warnings).
func strictRefuses(sum ingest.Summary) bool {
	return sum.Rejected > 0 || len(sum.Warnings) > 0
}

// importReport is what import prints: the ingest summary, and with
// --prune (import_postgres.go) the tracks it deleted. Its JSON form is
// --json's.
type importReport struct {
	ingest.Summary
	// TracksDeleted counts the tracks --prune deleted; nil (and left out
	// of the JSON) without --prune.
	TracksDeleted *int `json:"tracks_deleted,omitempty"`
	// Error is why the import failed, writing nothing, as stderr says it
	// too (importFailed); "" (and left out of the JSON) for an import that
	// ran to its end, rejected rows and --strict included.
	Error string `json:"error,omitempty"`
}

func printImport(stdio stdio, rep importReport, asJSON, rolledBack bool) error {
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(rep)
	}
	sum := rep.Summary
	for _, w := range sum.Warnings {
		fmt.Fprintln(stdio.err, "warning: "+w.Error())
	}
	for _, e := range sum.Errors {
		fmt.Fprintln(stdio.err, e.Error())
	}
	if more := sum.Rejected - len(sum.Errors); more > 0 {
		fmt.Fprintf(stdio.err, "… and %d more rejected rows\n", more)
	}
	if rolledBack {
		warnings := ""
		if len(sum.Warnings) > 0 {
			warnings = ", " + words.Count(len(sum.Warnings), "warning")
		}
		fmt.Fprintf(stdio.out, "--strict: %s rejected%s, nothing was written\n", words.Count(sum.Rejected, "row"), warnings)
		return nil
	}
	fmt.Fprintf(stdio.out, "tracks: %d added, %d updated; interactions: %d added; rejected rows: %d\n",
		sum.TracksAdded, sum.TracksUpdated, sum.InteractionsAdded, sum.Rejected)
	switch n := sum.InteractionsWaiting; {
	case n == 1:
		fmt.Fprintln(stdio.out, "1 interaction waits for a track not in the catalogue (its features not computed yet, or the track deleted): not stored; each import reads it again")
	case n > 1:
		fmt.Fprintf(stdio.out, "%d interactions wait for tracks not in the catalogue (their features not computed yet, or the track deleted): not stored; each import reads them again\n", n)
	}
	if d := rep.TracksDeleted; d != nil {
		fmt.Fprintf(stdio.out, "--prune: %s deleted\n", words.Count(*d, "track"))
	}
	return nil
}

// importProgress draws one bar over all files: by bytes (so with a
// percentage) when every size is known, else by rows. The label carries
// the rows read and their rate.
type importProgress struct {
	bar    *progress
	offset []int64 // bytes of the files before each one
	byRows bool
	start  time.Time
	rows   []int64
}

func newImportProgress(w io.Writer, srcs []*ingest.FileSource) *importProgress {
	p := &importProgress{start: time.Now(), rows: make([]int64, len(srcs))}
	var total int64
	for _, s := range srcs {
		_, size := s.Position()
		p.offset = append(p.offset, total)
		if size < 0 {
			p.byRows = true
		}
		total += size
	}
	if p.byRows {
		total = -1
	}
	unit := "B"
	if p.byRows {
		unit = "rows"
	}
	p.bar = newProgress(w, total, "import", unit)
	return p
}

func (p *importProgress) update(i int, pr ingest.Progress) {
	p.rows[i] = pr.Rows
	var rows int64
	for _, r := range p.rows {
		rows += r
	}
	rate := float64(rows) / max(time.Since(p.start).Seconds(), 1e-3)
	p.bar.Describe(fmt.Sprintf("import %s: %d rows, %.0f rows/s", pr.Source, rows, rate))
	if p.byRows {
		p.bar.Set(rows)
	} else {
		p.bar.Set(p.offset[i] + pr.Bytes)
	}
}

func (p *importProgress) done() { p.bar.Done() }

// lineLimitFlag names --max-line-bytes in err's *ingest.LineTooLongError,
// which names the library's FileOptions.MaxLineBytes.
func lineLimitFlag(err error) error {
	if lt, ok := errors.AsType[*ingest.LineTooLongError](err); ok {
		lt.Option = "--max-line-bytes"
	}
	return err
}
