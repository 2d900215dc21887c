// Package ingest turns rows from files or databases into tracks and
// interactions checked by soundalike.CheckTrack and CheckInteraction, and
// hands them to a Sink (the Engine's import transaction). File formats live here; the PostgreSQL source lives in
// package postgres and reuses Mapper and Run.
//
// # Files
//
// A file is CSV, TSV or JSON Lines, gzipped or not, its format read from
// its content (Open says how). The first line of a CSV or TSV file names
// its columns; in JSON Lines, the first object's keys do (a later object
// may add a known one).
//
// A tracks file has a track id column and the eleven feature columns; a
// row of it that also names a user is an interaction too. A file whose
// only known columns are a track id and a user (and optionally an action
// and a time) is an interaction log of tracks in the catalogue.
//
// # Columns
//
// A column is known by its name, case and every character but ASCII
// letters and digits ignored (Track ID, trackId and track_id are one
// name). Where two columns feed one field, the name listed first below
// is read; of two columns of one name, the first; a column of any other
// name is ignored. The names, best first:
//
//   - track id: track_id, trackId, id; or, when there is none of these,
//     spotify_id, uri, track_uri, spotify_uri. A spotify_id (or uri, …)
//     column beside a track id is the track's Spotify id.
//   - name: track_name, name, title
//   - artists: track_artist, track_artists, artists, artist, artist_name,
//     artist_names
//   - album: track_album_name, album, album_name
//   - popularity (0..100): track_popularity, popularity
//   - duration: duration_ms, track_duration_ms
//   - release date: track_album_release_date, release_date,
//     album_release_date
//   - genres: playlist_genre, genre, genres, track_genre
//   - subgenres: playlist_subgenre, subgenre, subgenres
//   - the features, each by its Spotify name (soundalike.FeatureNames):
//     acousticness, danceability, energy, instrumentalness, key, liveness,
//     loudness, mode, speechiness, tempo, valence
//   - user: user_id, userId, user, playlist_id (so each playlist of the
//     public Spotify songs set is read as one user's tracks)
//   - action: action, type, event (CanonicalAction; none is a play)
//   - time: timestamp, time, ts, played_at, created_at (ParseTime)
//
// A list cell (artists, genres, subgenres) is one name, commas included,
// or a JSON, Python or PostgreSQL array, or names separated by semicolons.
package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/audotics/soundalike"
)

// Record is one input row after column mapping: a track, an interaction, or
// both (a file row with a user column is both).
type Record struct {
	Source      string // file name, or "postgres"
	Line        int    // 1-based line in Source; 0 when rows have no lines
	RowID       string // the row's id where Line means nothing (database rows)
	Track       *soundalike.Track
	Interaction *soundalike.Interaction

	row *row // the memory Track and Interaction point into, for Recycle
	// checked and checkedIn are the track and interaction the Mapper
	// passed through soundalike.CheckTrack and CheckInteraction, which Run
	// then need not check again.
	checked   *soundalike.Track
	checkedIn *soundalike.Interaction
}

// RowError is one rejected row: where it was and why. It is what import
// reports per bad row and what --json prints under "errors".
type RowError struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Row    string `json:"row,omitempty"`
	Reason string `json:"reason"`
}

func (e *RowError) Error() string { return formatRowError(e) }

// Source yields records. Next returns io.EOF after the last record, a
// *RowError for a row that is rejected (the source goes on), and any other
// error for a failure that stops the import (a truncated gzip, a refused
// connection).
//
// Run calls Next from a goroutine of its own, reading ahead of the sink,
// so a Record (and what it points to) must stay valid and unchanged after
// later calls to Next: until Run gives it back through Recycle, when the
// source is a Recycler.
type Source interface {
	Next(ctx context.Context) (Record, error)
	Close() error
}

// Recycler is implemented by sources that can reuse a record's memory:
// Run calls Recycle for each record once the sink is done with it, on the
// goroutine that calls Next.
type Recycler interface {
	Recycle(rec Record)
}

// Sink stores records. storage's import transaction implements it; nothing
// is visible to readers until the caller commits. A sink must not keep t or
// in, nor the slices they hold, after the call returns: Run hands their
// memory back to the source (see Recycler). Strings may be kept.
type Sink interface {
	// PutTrack inserts or replaces a track (features replaced, genres
	// accumulated) and reports whether it was new and whether anything
	// changed.
	PutTrack(t *soundalike.Track) (added, changed bool, err error)
	// PutInteraction stores an interaction once: re-importing it adds
	// nothing. It fails with an error wrapping soundalike.ErrNotFound when
	// the track is not stored; Run rejects that row, or counts it as
	// waiting (Options.WaitForTracks).
	PutInteraction(in *soundalike.Interaction) (added bool, err error)
}

// Summary counts what an import did. Its JSON form is what
// `soundalike import --json` prints.
//
// TracksAdded and TracksUpdated count tracks, not rows: a track is added
// when the sink did not hold it, and updated when the sink held it and a
// row changed it. A row that repeats a track id an earlier row of the
// same source has (or of an earlier source, with Options.Repeats) counts
// no track again, so that a file listing a track once per playlist (the
// public Spotify set does) adds it once and updates nothing, and a track
// added by one file and changed by the next is counted once, as added;
// RepeatedIDs counts those repeats whose values differ.
// A Run stopped by an error returns the rows' counts so far, repeats
// included.
type Summary struct {
	TracksAdded       int `json:"tracks_added"`
	TracksUpdated     int `json:"tracks_updated"`
	InteractionsAdded int `json:"interactions_added"`
	// InteractionsWaiting counts the interactions whose track the sink
	// does not hold, with Options.WaitForTracks: not stored, not
	// rejected, read again by the next import, which adds those whose
	// track is stored by then. Their track may never be (it was deleted,
	// or the id is not a track's at all): nothing here tells. The JSON
	// leaves it out when 0, as it always is without WaitForTracks.
	InteractionsWaiting int        `json:"interactions_waiting,omitempty"`
	Rejected            int        `json:"rejected"`
	Errors              []RowError `json:"errors"` // the first MaxErrors
	// RepeatedIDs counts rows whose track id an earlier row of the same
	// source has (or of an earlier source, with Options.Repeats), with
	// other values: the last row's values are stored.
	RepeatedIDs int `json:"repeated_ids"`
	// Warnings are what was read but may not be what was meant: a source
	// without rows, repeated column names, repeated track ids, CSV rows
	// that a stray quote may have joined, interactions none of which names
	// a stored track (Options.WaitForTracks) (one warning per source, with
	// counts). --strict refuses them.
	Warnings []RowError `json:"warnings"`
	// rejectedBySource counts Rejected by source (see RejectedFrom);
	// nil when none was rejected. The JSON leaves it out: Errors name
	// each listed row's source.
	rejectedBySource map[string]int
}

// RejectedFrom returns how many of the rows counted in Rejected came
// from source, the RowError.File (Record.Source) of each rejected row,
// listed in Errors or past MaxErrors alike. It tells apart the rows of a
// source that yields several kinds under different names: package
// postgres names the tracks query's rows "postgres:tracks" and the
// interactions query's "postgres:interactions".
func (s *Summary) RejectedFrom(source string) int {
	return s.rejectedBySource[source]
}

// MaxErrors is how many row errors a Summary keeps.
const MaxErrors = 100

// Options control Run. The zero value (or nil) imports what the source
// yields, tracks and interactions, without progress reports. What a
// source reads is the source's option: FileOptions.NoInteractions for a
// file, MapperOptions.NoInteractions for a Mapper's rows.
type Options struct {
	// WaitForTracks counts an interaction whose track the sink does not
	// hold in Summary.InteractionsWaiting instead of rejecting its row.
	// It is for a source read whole again by every import (a database):
	// the first import after the track is stored adds the interaction, so
	// it waits rather than being lost. A file is read once: leave it false,
	// and its row is rejected.
	//
	// When a source's interactions all wait (none names a track the sink
	// holds, so none is added or found stored already), Run adds a
	// warning: the likelier cause is a source whose track ids are not the
	// catalogue's (a query reading the wrong column or kind of id), not
	// tracks still without features.
	WaitForTracks bool
	// Progress, when set, is called every ProgressEvery rows and once at
	// the end.
	Progress func(Progress)
	// ProgressEvery is how many rows pass between Progress calls; 0 means
	// 10,000. A negative value is refused.
	ProgressEvery int64
	// Repeats, when set, holds the track ids that earlier Runs into the
	// same sink stored (the other files of one import command), so that
	// a row repeating one of them is warned about when its values differ
	// and counts its track no second time, as a repeat within one source
	// does. nil compares the rows of this source alone.
	Repeats *Repeats
}

// Repeats is what Options.Repeats carries from Run to Run: per track id
// stored, hashes of the id and of its last values, the source that
// stored them and whether a Run counted the track, in 24 bytes, sorted
// by id. It is for the Runs of one import, one after the other.
type Repeats struct {
	seed    maphash.Seed
	ids     []idSeen
	sources []string
}

type idSeen struct {
	id, values uint64
	source     int32 // index in Repeats.sources
	counted    bool  // a Run counted the track as added or updated
}

// NewRepeats returns an empty Repeats, for the first Run of an import.
func NewRepeats() *Repeats {
	return &Repeats{seed: maphash.MakeSeed()}
}

// Progress is a snapshot of a running import, passed to Options.Progress.
type Progress struct {
	Source string // the source's name (file name), "" when unknown
	Rows   int64  // rows read so far, rejected ones included
	Bytes  int64  // bytes of the source read so far (for sources with a Position method, like FileSource); 0 when unknown
	Size   int64  // the source's size in bytes; -1 when unknown
}

// sourceBeginner is implemented by sinks that count identical
// interactions per source (the Engine's import transaction): Run calls
// BeginSource before reading src, so that giving a file twice in one
// import does not store its interactions twice.
type sourceBeginner interface {
	BeginSource()
}

// reserver is implemented by sinks that can prepare for a number of rows
// (the Engine's import transaction sizes its write buffer): Run calls Reserve
// once, with the rows still to come estimated from the source's size, when
// it has one.
type reserver interface {
	Reserve(rows int)
}

// positioner is implemented by sources that know how far they have read
// (FileSource does). Run uses it to fill Progress.Bytes and Size.
type positioner interface {
	Position() (read, size int64)
}

// Add adds o's counts to s and appends o's errors while s holds fewer than
// MaxErrors: the summary of several files.
func (s *Summary) Add(o Summary) {
	s.TracksAdded += o.TracksAdded
	s.TracksUpdated += o.TracksUpdated
	s.InteractionsAdded += o.InteractionsAdded
	s.InteractionsWaiting += o.InteractionsWaiting
	s.Rejected += o.Rejected
	s.RepeatedIDs += o.RepeatedIDs
	for source, n := range o.rejectedBySource {
		s.countRejected(source, n)
	}
	s.Warnings = append(s.Warnings, o.Warnings...)
	for _, e := range o.Errors {
		if len(s.Errors) >= MaxErrors {
			break
		}
		s.Errors = append(s.Errors, e)
	}
	if s.Errors == nil {
		s.Errors = []RowError{}
	}
	if s.Warnings == nil {
		s.Warnings = []RowError{}
	}
}

func (s *Summary) countRejected(source string, n int) {
	if s.rejectedBySource == nil {
		s.rejectedBySource = map[string]int{}
	}
	s.rejectedBySource[source] += n
}

func (s *Summary) reject(e *RowError) {
	s.Rejected++
	s.countRejected(e.File, 1)
	if len(s.Errors) < MaxErrors {
		s.Errors = append(s.Errors, *e)
	}
}

// Run reads src to the end, checks each record (soundalike.CheckTrack and
// CheckInteraction), and writes the good ones to sink: PutTrack for a
// record's track, then PutInteraction for its interaction. A rejected
// row (a *RowError from src, a record that fails a check, an interaction
// whose track the sink does not know unless Options.WaitForTracks) is
// counted and the first MaxErrors are kept; reading goes
// on. Any other error from src or sink stops Run, which returns the summary
// so far and the error; so does ctx being done.
//
// Strictness (discarding everything when a row was rejected) is the
// caller's decision, since only the caller holds the transaction.
//
// Run returns an error, before reading, for a nil ctx, src or sink or a
// negative Options.ProgressEvery. src is read on a goroutine of Run's; a
// panic in src.Next is raised again in the goroutine that called Run,
// where the caller can recover it.
func Run(ctx context.Context, src Source, sink Sink, opts *Options) (Summary, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := checkRunArgs(ctx, src, sink, opts); err != nil {
		return Summary{Errors: []RowError{}, Warnings: []RowError{}}, err
	}
	sum := Summary{Errors: []RowError{}, Warnings: []RowError{}}
	every := opts.ProgressEvery
	if every == 0 {
		every = 10_000
	}
	var rows, read, size int64 = 0, 0, -1
	pos, _ := src.(positioner)
	name := ""
	if n, ok := src.(interface{ Name() string }); ok {
		name = n.Name()
	}
	progress := func() {
		if opts.Progress == nil {
			return
		}
		p := Progress{Source: name, Rows: rows, Bytes: read, Size: size}
		opts.Progress(p)
	}
	sum.Warnings = append(sum.Warnings, repeatedColumnWarnings(src, name)...)
	w, ignored := ignoredLogWarning(src, name)
	if ignored {
		sum.Warnings = append(sum.Warnings, w)
	}
	if b, ok := sink.(sourceBeginner); ok {
		b.BeginSource()
	}
	repeats := newRepeatTracker()
	if opts.Repeats != nil {
		repeats.seed = opts.Repeats.seed
	}
	var waits waitCheck
	res, _ := sink.(reserver)
	rd := startReadAhead(ctx, src, pos, repeats.seed)
	defer rd.stop()
	for {
		b, ok := <-rd.full
		if !ok {
			if rd.panicked != nil {
				panic(fmt.Sprintf("ingest: the source panicked: %v", rd.panicked))
			}
			break
		}
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if pos != nil {
			read, size = b.read, b.size
		}
		if b.estimate > int(rows) {
			if res != nil {
				res.Reserve(b.estimate - int(rows))
			}
			repeats.reserve(b.estimate-int(rows), int(rows))
		}
		for _, it := range b.items {
			if re, ok := errors.AsType[*RowError](it.err); ok {
				sum.reject(re)
			} else if it.err != nil {
				return sum, it.err
			} else if err := put(&sum, it, sink, opts, repeats, &waits); err != nil {
				return sum, err
			}
			rows++
			if rows%every == 0 {
				progress()
			}
		}
		rd.recycle(b)
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	repeats.finish(&sum, opts.Repeats)
	if w, ok := waits.allWaitWarning(&sum); ok {
		sum.Warnings = append(sum.Warnings, w)
	}
	if w, ok := joinedRowsWarning(src, name); ok {
		sum.Warnings = append(sum.Warnings, w)
	}
	if w, ok := repeatedKeysWarning(src, name); ok {
		sum.Warnings = append(sum.Warnings, w)
	}
	if rows == 0 && name != "" && !ignored {
		sum.Warnings = append(sum.Warnings, RowError{File: name,
			Reason: "no rows after the header (is it the file meant? lines must end with LF, CRLF or CR)"})
	}
	progress()
	return sum, nil
}

// waitCheck notes what Options.WaitForTracks needs to tell interactions
// that wait for tracks still to come from interactions that name no track
// at all.
type waitCheck struct {
	found  bool   // an interaction's track was one the sink holds: added, or stored already
	source string // Record.Source of the first interaction that waits
}

// allWaitWarning is the warning of a source whose interactions all wait
// (sum.InteractionsWaiting) while none named a track the sink holds, if
// that is so. One interaction of a track with features is enough to
// silence it, so a catalogue being filled goes unwarned; a source whose
// track ids are not the catalogue's never does.
func (w *waitCheck) allWaitWarning(sum *Summary) (RowError, bool) {
	n := sum.InteractionsWaiting
	if n == 0 || w.found {
		return RowError{}, false
	}
	names := fmt.Sprintf("all %d interactions read name tracks", n)
	if n == 1 {
		names = "the 1 interaction read names a track"
	}
	return RowError{File: w.source, Reason: names + " not in the catalogue, so none was stored: " +
		"their track ids are likely not the catalogue's (a query reading another column as the track id, such as the user id; " +
		"ids of another kind, such as Spotify ids where the catalogue holds the app's ids; " +
		"tracks read from another database, schema or table), unless none of their tracks has its features yet or all were deleted"}, true
}

// repeatedColumnWarnings are the warnings of a source whose header names a
// column twice (the first is read): at most MaxErrors, then how many more.
func repeatedColumnWarnings(src Source, name string) []RowError {
	ms, ok := src.(interface{ Mapper() *Mapper })
	if !ok {
		return nil
	}
	var out []RowError
	reps := ms.Mapper().RepeatedColumns()
	for i, r := range reps {
		if i == MaxErrors {
			return append(out, RowError{File: name, Line: 1,
				Reason: fmt.Sprintf("… and %d more repeated column names", len(reps)-i)})
		}
		out = append(out, RowError{File: name, Line: 1,
			Reason: "column " + r + "; the first is read, the others are ignored"})
	}
	return out
}

// IgnoredLogReason is the reason of the warning Run gives for a file that
// is an interaction log opened with FileOptions.NoInteractions: its rows
// are not read, so it imports nothing, which was likely not meant. A
// command line may name its own flag in its place.
const IgnoredLogReason = "is an interaction log (a track id and a user, no features), opened to read tracks alone: nothing is imported from it"

// ignoredLogWarning is the warning of a source that is an interaction log
// (its Mapper maps InteractionsOnly) read with NoInteractions
// (MapperOptions): it yields no row (FileSource.Next), if src is one.
func ignoredLogWarning(src Source, name string) (RowError, bool) {
	ms, ok := src.(interface{ Mapper() *Mapper })
	if !ok || !ms.Mapper().ignoresRows() {
		return RowError{}, false
	}
	return RowError{File: name, Reason: IgnoredLogReason}, true
}

// repeatedKeysWarning is the warning of a JSON Lines source some of whose
// objects give a key twice (the first value is read), if it has any.
func repeatedKeysWarning(src Source, name string) (RowError, bool) {
	r, ok := src.(interface{ repeatedKeys() (int, int, string) })
	if !ok {
		return RowError{}, false
	}
	n, first, key := r.repeatedKeys()
	if n == 0 {
		return RowError{}, false
	}
	objs := fmt.Sprintf("%d objects give", n)
	if n == 1 {
		objs = "1 object gives"
	}
	return RowError{File: name, Line: first,
		Reason: fmt.Sprintf("%s a key twice (the first: %q); the first value is read, the others are ignored, as for a column named twice", objs, clip(key))}, true
}

// joinedRowsWarning is the warning of a CSV source some of whose rows may have
// been joined by a stray quote, if it has any.
func joinedRowsWarning(src Source, name string) (RowError, bool) {
	j, ok := src.(interface{ joinedRows() (int, int) })
	if !ok {
		return RowError{}, false
	}
	n, first := j.joinedRows()
	if n == 0 {
		return RowError{}, false
	}
	rs, them := fmt.Sprintf("%d rows have", n), "them"
	if n == 1 {
		rs, them = "1 row has", "it"
	}
	return RowError{File: name, Line: first,
		Reason: fmt.Sprintf(`%s a quoted field holding a line end and then commas, as when a stray quote (") joins the rows of several lines into one: one track gets another's values and the others are lost; check %s`, rs, them)}, true
}

// repeatTracker finds rows that repeat an earlier row's track id: those
// with other values (genres aside, which accumulate) are warned about, and
// none counts its track as added or updated again. The dev file lists a
// track once per playlist, with the same values, which is no conflict. It
// notes 32 bytes a stored track (hashes of the id and of the values, where
// the row was and what the sink did with it) and compares them when the
// source ends: appending is a fraction of what a map lookup per row costs.
type repeatTracker struct {
	seed   maphash.Seed
	rows   []trackSeen
	source string // Record.Source
	byLine bool   // the records have lines
}

type trackSeen struct {
	id, values uint64
	at         int       // Record.Line, or the row's ordinal when rows have no lines
	put        putResult // what the sink did with the row's track
}

// putResult is what a Sink's PutTrack did with a track, as Summary counts
// it.
type putResult uint8

const (
	putUnchanged putResult = iota
	putAdded
	putUpdated
)

func newRepeatTracker() *repeatTracker {
	return &repeatTracker{seed: maphash.MakeSeed()}
}

// trackHasher hashes a track's id and values for a repeatTracker. The
// read-ahead goroutine runs it, beside the parsing, so that the storing
// goroutine (the import's bottleneck) only appends the two hashes.
type trackHasher struct {
	seed maphash.Seed
	buf  []byte // a track's values, to hash
}

// hash returns the hashes of t's id and of its values (genres aside).
func (h *trackHasher) hash(t *soundalike.Track) (id, values uint64) {
	b := h.buf[:0]
	for _, v := range t.Features.Values() {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	for _, s := range t.Artists {
		b = append(append(b, s...), 0)
	}
	for _, s := range [...]string{t.Name, t.Album, t.ReleaseDate, t.SpotifyID} {
		b = append(append(b, s...), 0)
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(t.Popularity)<<32^uint64(t.DurationMS))
	h.buf = b
	return maphash.String(h.seed, string(t.ID)), maphash.Bytes(h.seed, b)
}

// add notes a stored track read at rec, by the hashes of its id and
// values (trackHasher.hash with the tracker's seed), and what the sink did
// with it.
func (r *repeatTracker) add(rec Record, id, values uint64, put putResult) {
	r.source, r.byLine = rec.Source, rec.Line > 0
	at := rec.Line
	if at <= 0 {
		at = len(r.rows) + 1
	}
	r.rows = append(r.rows, trackSeen{id: id, values: values, at: at, put: put})
}

// reserve makes room for the tracks of about n more rows, read rows
// having been read so far, so that the storing goroutine (the import's
// bottleneck) does not copy the notes as they grow. The room is in the
// proportion of the tracks among the rows read: none for an interaction
// log.
func (r *repeatTracker) reserve(n, read int) {
	if read <= 0 || len(r.rows) == 0 {
		return
	}
	r.rows = slices.Grow(r.rows, int(float64(n)*float64(len(r.rows))/float64(read)))
}

// finish adds the source's repeats to sum, once it is read: it warns of
// each row whose values differ from the previous row with its id, and
// takes back what put counted for rows that repeat a track it had counted
// (see Summary).
func (r *repeatTracker) finish(sum *Summary, across *Repeats) {
	r.rows = sortByID(r.rows)
	if across != nil {
		defer func() { across.add(sum, r) }()
	}
	count, first := 0, 0
	counted := false // the track of the rows' id is counted
	for i, b := range r.rows {
		if i == 0 || r.rows[i-1].id != b.id {
			counted = b.put != putUnchanged
			continue
		}
		if a := r.rows[i-1]; a.values != b.values {
			count++
			if first == 0 || b.at < first {
				first = b.at
			}
		}
		switch {
		case b.put == putUnchanged:
		case !counted:
			counted = true // a stored track that a repeat changed
		case b.put == putAdded:
			sum.TracksAdded--
		default:
			sum.TracksUpdated--
		}
	}
	if across == nil {
		r.rows = nil
	}
	r.warnRepeats(sum, count, first, "an earlier row")
}

// warnRepeats adds to sum the count rows of r's source, the first at line
// (or row) first, that repeat the track id of what ("an earlier row")
// with other values: one warning, none when count is 0.
func (r *repeatTracker) warnRepeats(sum *Summary, count, first int, what string) {
	if count == 0 {
		return
	}
	sum.RepeatedIDs += count
	rows := fmt.Sprintf("%d rows repeat", count)
	if count == 1 {
		rows = "1 row repeats"
	}
	w := RowError{File: r.source, Reason: rows + " the track id of " + what + " with other values; the last row's values are kept"}
	if r.byLine {
		w.Line = first
	} else {
		w.Reason = fmt.Sprintf("%s the track id of %s with other values, the first at row %d read; the last row's values are kept", rows, what, first)
	}
	sum.Warnings = append(sum.Warnings, w)
}

// add compares the tracks that r, a source's tracker that has finished,
// noted (sorted by id) with those of the earlier sources: it warns of
// the rows whose values differ from the last an earlier source stored
// for their id, and takes back what the source counted for a track an
// earlier source counted. It then keeps the source's tracks, last values
// first, with the earlier ones.
func (a *Repeats) add(sum *Summary, r *repeatTracker) {
	src := int32(len(a.sources))
	a.sources = append(a.sources, r.source)
	merged := make([]idSeen, 0, len(a.ids)+len(r.rows))
	count, first, firstOf := 0, 0, int32(0)
	j := 0
	rows := r.rows
	for i := 0; i < len(rows); {
		// The rows of one id: rows[i:k].
		k := i + 1
		for k < len(rows) && rows[k].id == rows[i].id {
			k++
		}
		g := rows[i:k]
		counted := false
		var kind putResult
		for _, b := range g {
			if b.put != putUnchanged {
				counted, kind = true, b.put
				break
			}
		}
		for j < len(a.ids) && a.ids[j].id < g[0].id {
			merged = append(merged, a.ids[j])
			j++
		}
		if j < len(a.ids) && a.ids[j].id == g[0].id {
			e := a.ids[j]
			j++
			if e.values != g[0].values {
				count++
				if first == 0 || g[0].at < first {
					first, firstOf = g[0].at, e.source
				}
			}
			if e.counted && counted {
				if kind == putAdded {
					sum.TracksAdded--
				} else {
					sum.TracksUpdated--
				}
			}
			counted = counted || e.counted
		}
		merged = append(merged, idSeen{id: g[0].id, values: g[len(g)-1].values, source: src, counted: counted})
		i = k
	}
	merged = append(merged, a.ids[j:]...)
	a.ids = merged
	r.rows = nil
	if count == 0 {
		return
	}
	earlier := "file"
	if !r.byLine {
		earlier = "source"
	}
	r.warnRepeats(sum, count, first, fmt.Sprintf("a row of an earlier %s of this import (%s)", earlier, a.sources[firstOf]))
}

// sortByID sorts rows by id, rows of one id staying in the order added
// (the order read). It is a radix sort, a byte of the id per pass: on
// the storing goroutine, a comparison sort of a large import's notes
// took a few percent of the import.
func sortByID(rows []trackSeen) []trackSeen {
	if len(rows) < 2 {
		return rows
	}
	var counts [8][256]int
	for _, t := range rows {
		for b := range 8 {
			counts[b][byte(t.id>>(8*b))]++
		}
	}
	buf := make([]trackSeen, len(rows))
	for b := range 8 {
		c := &counts[b]
		if c[byte(rows[0].id>>(8*b))] == len(rows) {
			continue // every id has the same byte here
		}
		sum := 0
		for i, n := range c {
			c[i] = sum
			sum += n
		}
		for _, t := range rows {
			k := byte(t.id >> (8 * b))
			buf[c[k]] = t
			c[k]++
		}
		rows, buf = buf, rows
	}
	return rows
}

// checkRunArgs reports the first argument Run cannot work with.
func checkRunArgs(ctx context.Context, src Source, sink Sink, opts *Options) error {
	switch {
	case ctx == nil:
		return errors.New("ingest: ctx is nil: want a context, such as context.Background()")
	case src == nil:
		return errors.New("ingest: src is nil: want a Source, such as one from Open or NewReader")
	case sink == nil:
		return errors.New("ingest: sink is nil: want a Sink, such as the Engine's import transaction")
	case opts.ProgressEvery < 0:
		return fmt.Errorf("ingest: Options.ProgressEvery = %d: want ≥ 1 rows, or 0 for the default 10,000", opts.ProgressEvery)
	}
	return nil
}

// readAhead runs a Source on its own goroutine, a batch of records ahead
// of the sink: parsing and storing each take about one core, so an import
// runs at the speed of the slower of the two rather than of their sum.
// Records must therefore stay valid after later calls to Next, which all
// sources here guarantee (Source says so), until the batch comes back
// consumed: the reader then recycles their memory. Fresh memory costs a
// page fault per 4 KiB here, and reusing the rows made the dev file's
// read phase 52 ms instead of 63 (median of five alternated rounds).
type readAhead struct {
	full, free chan *readBatch
	quit       chan struct{}
	done       chan struct{}
	// panicked is what src.Next panicked with, set before full is
	// closed, so that Run raises it again on its own goroutine.
	panicked any
}

type readBatch struct {
	items      []readItem
	read, size int64 // the source's Position after the batch
	estimate   int   // when > 0: the rows the source will yield, estimated
}

type readItem struct {
	rec Record
	err error
	// idHash and valueHash are trackHasher.hash of rec.Track, when it is
	// set, for the repeatTracker.
	idHash, valueHash uint64
}

// readAheadBatch is the number of records handed over at a time; the
// channels hold a few batches, so memory stays bounded.
const readAheadBatch = 256

const (
	estimateAfter = 8192
	maxEstimate   = 1 << 26
)

func startReadAhead(ctx context.Context, src Source, pos positioner, seed maphash.Seed) *readAhead {
	const depth = 4
	rd := &readAhead{
		full: make(chan *readBatch, depth),
		free: make(chan *readBatch, depth+2),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range depth + 2 {
		rd.free <- &readBatch{items: make([]readItem, 0, readAheadBatch)}
	}
	rc, _ := src.(Recycler)
	hasher := &trackHasher{seed: seed}
	go func() {
		defer close(rd.done)
		defer close(rd.full)
		defer func() { rd.panicked = recover() }()
		rows, estimated := 0, false
		for {
			var b *readBatch
			select {
			case b = <-rd.free:
			case <-rd.quit:
				return
			}
			if rc != nil {
				for _, it := range b.items {
					rc.Recycle(it.rec)
				}
			}
			clear(b.items) // drop the records for the collector
			b.items = b.items[:0]
			last := false
			for len(b.items) < readAheadBatch {
				rec, err := src.Next(ctx)
				if err == io.EOF {
					last = true
					break
				}
				it := readItem{rec: rec, err: err}
				if err == nil && rec.Track != nil {
					it.idHash, it.valueHash = hasher.hash(rec.Track)
				}
				b.items = append(b.items, it)
				if err != nil {
					if _, ok := errors.AsType[*RowError](err); !ok {
						last = true // Run stops at this error
						break
					}
				}
			}
			rows += len(b.items)
			b.estimate = 0
			if pos != nil {
				b.read, b.size = pos.Position()
				// Estimate once enough rows have been read that the
				// reader's buffering (bufSize) no longer skews bytes/row.
				if !estimated && !last && rows >= estimateAfter && b.read > 0 && b.size > b.read {
					estimated = true
					b.estimate = int(min(float64(b.size)/float64(b.read)*float64(rows)*1.05, maxEstimate))
				}
			}
			if len(b.items) > 0 || last {
				select {
				case rd.full <- b:
				case <-rd.quit:
					return
				}
			}
			if last || ctx.Err() != nil {
				return
			}
		}
	}()
	return rd
}

// recycle hands a consumed batch back to the reader.
func (rd *readAhead) recycle(b *readBatch) {
	rd.free <- b
}

// stop ends the reader and waits for it, so that the caller may close
// the source.
func (rd *readAhead) stop() {
	close(rd.quit)
	<-rd.done
}

// put validates and stores one record, counting it in sum. It returns an
// error only for a sink failure. Tracks and interactions are validated by
// soundalike.CheckTrack and CheckInteraction, the checks the Engine's
// import transaction makes; they run here first so that a row whose
// interaction is refused is rejected whole, its track included.
func put(sum *Summary, it readItem, sink Sink, opts *Options, repeats *repeatTracker, waits *waitCheck) error {
	rec := it.rec
	reject := func(reason string) {
		sum.reject(&RowError{File: rec.Source, Line: rec.Line, Row: rec.RowID, Reason: reason})
	}
	in := rec.Interaction
	if rec.Track == nil && in == nil {
		reject("row has neither a track nor an interaction")
		return nil
	}
	if err := checkRecord(rec.Track, rec.Track != rec.checked, in, in != rec.checkedIn); err != nil {
		reject(err.Error())
		return nil
	}
	if t := rec.Track; t != nil {
		added, changed, err := sink.PutTrack(t)
		if err != nil {
			return fmt.Errorf("%s: store track %s: %w", where(rec), t.ID, err)
		}
		res := putUnchanged
		switch {
		case added:
			sum.TracksAdded++
			res = putAdded
		case changed:
			sum.TracksUpdated++
			res = putUpdated
		}
		repeats.add(rec, it.idHash, it.valueHash, res)
	}
	if in != nil {
		added, err := sink.PutInteraction(in)
		switch {
		case errors.Is(err, soundalike.ErrNotFound) && opts.WaitForTracks:
			if sum.InteractionsWaiting == 0 {
				waits.source = rec.Source
			}
			sum.InteractionsWaiting++
			return nil
		case errors.Is(err, soundalike.ErrNotFound):
			reject(notInCatalogue(in.Track))
			return nil
		case err != nil:
			return fmt.Errorf("%s: store interaction: %w", where(rec), err)
		}
		waits.found = true
		if added {
			sum.InteractionsAdded++
		}
	}
	return nil
}

// notInCatalogue is why an interaction whose track names no catalogue
// track is rejected: a reference of no track's form (a Spotify album's
// URI, another site's link) is told what a reference must be; any other
// names a track never imported, or deleted since.
func notInCatalogue(ref soundalike.TrackID) string {
	if _, err := soundalike.ParseTrackRef(string(ref)); err != nil {
		if re, ok := errors.AsType[*soundalike.TrackRefError](err); ok {
			return "track " + re.Reason
		}
	}
	return fmt.Sprintf("track %q is not in the catalogue (never imported, or deleted since): import its features first", ref)
}

// checkRecord returns why a row of track t and interaction in (either may
// be nil, not both) is rejected, or nil. checkTrack and checkIn are false
// for a track and an interaction that the Mapper has checked.
func checkRecord(t *soundalike.Track, checkTrack bool, in *soundalike.Interaction, checkIn bool) error {
	if t != nil && checkTrack {
		if err := soundalike.CheckTrack(t); err != nil {
			return err
		}
	}
	if in != nil {
		if checkIn {
			if err := soundalike.CheckInteraction(in); err != nil {
				return err
			}
		}
		if t != nil && in.Track != t.ID {
			return fmt.Errorf("interaction is for track %q but the row's track is %q", in.Track, t.ID)
		}
	}
	return nil
}

// where names a record's position for an error message.
func where(rec Record) string {
	e := RowError{File: rec.Source, Line: rec.Line, Row: rec.RowID}
	return strings.TrimSuffix(formatRowError(&e), ": ")
}

func formatRowError(e *RowError) string {
	switch {
	case e.Line > 0:
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Reason
	case e.Row != "":
		return e.File + ": row " + e.Row + ": " + e.Reason
	}
	return e.File + ": " + e.Reason
}
