package soundalike

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	clippkg "github.com/audotics/soundalike/internal/clip"
	"github.com/audotics/soundalike/storage"
)

// ErrRollback, returned by an Import callback, discards everything the
// callback wrote without Import reporting an error. It is how strict
// imports drop their work when a row was rejected.
var ErrRollback = errors.New("import rolled back")

// ImportTx is the write side of an import. Everything written through it is
// committed together when the Import callback returns nil, or not at all.
// It satisfies ingest.Sink.
type ImportTx struct {
	tx  *storage.Tx
	buf []byte
	// refs resolves an interaction's track that is stored under no id
	// the interaction names, by the Spotify id a track keeps (see
	// PutInteraction).
	refs txRefs
	// ended is set when the Import callback has returned: the storage
	// transaction is gone, and every method refuses with errImportEnded.
	ended bool
	// wrote is set once a method has changed what is stored: an import
	// that changed nothing is rolled back (errUnchanged, see Import).
	wrote bool
}

// errImportEnded is the error of an ImportTx used after its Import
// callback returned.
var errImportEnded = errors.New("import tx: the import has ended (an ImportTx is valid only inside its Import callback)")

// Import runs fn in one write transaction: a failed, cancelled or
// interrupted import leaves the database exactly as it was. One that
// changed nothing (every row rejected, or all already stored) commits
// nothing, so the database's generation stays and no engine reloads. One
// that commits nothing (failed, rolled back with ErrRollback, or changed
// nothing) into a file it created removes the file, so that a mistyped
// path, or a file none of whose rows was accepted, leaves no database
// (storage.DB.RemoveCreated says why that never removes another
// process's file). The file readers in package ingest feed it:
//
//	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
//		src, err := ingest.Open("tracks.csv")
//		...
//		sum, err = ingest.Run(ctx, src, tx, nil)
//		return err
//	})
//
// The engine's writes (Import, SaveModel, PromoteModel, Reindex) run one
// at a time: Import waits for the one in progress until ctx ends, and
// then returns ctx's error naming the write it waited for. A write called
// from inside fn therefore waits for this Import, which waits for fn: it
// returns only when its ctx ends. Close, which has no ctx, called from
// inside fn never returns.
func (e *Engine) Import(ctx context.Context, fn func(tx *ImportTx) error) error {
	if err := checkCtx(ctx); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if fn == nil {
		return errors.New("import: fn is nil: pass the func that writes the import")
	}
	unlock, err := e.lockWrite(ctx, "import")
	if err != nil {
		return err
	}
	defer unlock()
	db, release, err := e.writable(ctx)
	if err != nil {
		return err
	}
	defer release()
	err = db.Update(func(stx *storage.Tx) error {
		itx := &ImportTx{tx: stx, refs: txRefs{tx: stx}}
		defer func() { itx.ended = true }()
		if err := storage.RunCaller(func() error { return fn(itx) }); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !itx.wrote {
			return errUnchanged
		}
		return nil
	})
	if err == nil {
		e.refresh(db)
		return nil
	}
	if _, rmErr := db.RemoveCreated(); rmErr != nil {
		if errors.Is(err, ErrRollback) || errors.Is(err, errUnchanged) {
			return rmErr
		}
		return fmt.Errorf("%w; and %w", err, rmErr)
	}
	if errors.Is(err, ErrRollback) || errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// MaxKeyLen is the longest track id, user or action an import accepts, in
// bytes: they are database keys (storage.MaxKeyLen).
const MaxKeyLen = storage.MaxKeyLen

// CheckTrack reports why an import refuses t, or nil when it accepts it:
// a track id of at most MaxKeyLen bytes without NUL bytes, features in
// their ranges (Track.Validate) and sane metadata. It is the one
// validation of an imported track: ImportTx.PutTrack calls it, and so do
// ingest's Mapper and ingest.Run, so that a bad row is rejected on its
// own (see docs/architecture.md, "The import path"). The error names the
// field and what is accepted: a *FieldError, but for a missing id.
func CheckTrack(t *Track) error {
	if t == nil {
		return errors.New("track is nil")
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if err := CheckReleaseDate(t.ReleaseDate); err != nil {
		return err
	}
	return checkKey("track id", string(t.ID))
}

// CheckReleaseDate accepts "" (unknown), YYYY, YYYY-MM and YYYY-MM-DD with
// a month of 01-12 and a day that the month has; the error says what is
// accepted. CheckTrack uses it, and so does the server for a query's
// features. It runs twice for every imported track (the reader's check and
// ImportTx.PutTrack's), so it only reads bytes: no parsing into time.Time,
// no allocation unless refusing.
func CheckReleaseDate(s string) error {
	if s == "" {
		return nil
	}
	n := len(s)
	if n != 4 && n != 7 && n != 10 || n > 4 && s[4] != '-' || n > 7 && s[7] != '-' {
		return badReleaseDate(s, "is not a date")
	}
	year, ok := dateDigits(s[:4])
	if !ok {
		return badReleaseDate(s, "is not a date")
	}
	if n == 4 {
		return nil
	}
	month, ok := dateDigits(s[5:7])
	if !ok {
		return badReleaseDate(s, "is not a date")
	}
	if month < 1 || month > 12 {
		return badReleaseDate(s, "has no month "+s[5:7])
	}
	if n == 7 {
		return nil
	}
	day, ok := dateDigits(s[8:10])
	if !ok {
		return badReleaseDate(s, "is not a date")
	}
	if last := daysIn(year, month); day < 1 || day > last {
		return badReleaseDate(s, fmt.Sprintf("has no day %s (the month has %d days)", s[8:10], last))
	}
	return nil
}

// dateDigits reads s as a decimal number of ASCII digits only.
func dateDigits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// daysIn returns the number of days of month (1-12) in year, by the
// proleptic Gregorian calendar as package time counts.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func badReleaseDate(s, why string) error {
	return fieldError("release_date", -1, ": %q %s (accepted: YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2019, 2019-06 or 2019-06-14)", clip(s), why)
}

// CheckInteraction reports why an import refuses in, or nil when it
// accepts it: a user and a track id, a user, track id and action of at
// most MaxKeyLen bytes without NUL bytes (an empty action means
// ActionPlay), and a time that is zero (unknown) or within
// 1677-09-21T00:12:43.145224192Z..2262-04-11T23:47:16.854775807Z, what
// 64-bit nanoseconds since 1970 hold. It is the one validation of an
// imported interaction, called by ImportTx.PutInteraction and ingest.Run;
// the error about one of those fields wraps a *FieldError. Whether the track is stored
// is checked when the interaction is written (ErrNotFound).
func CheckInteraction(in *Interaction) error {
	switch {
	case in == nil:
		return errors.New("interaction is nil")
	case in.User == "":
		return errors.New("interaction: missing user")
	case in.Track == "":
		return errors.New("interaction: missing track id")
	}
	for _, f := range [...]struct{ what, s string }{{"user", in.User}, {"track id", string(in.Track)}, {"action", in.Action}} {
		if err := checkKey(f.what, f.s); err != nil {
			return fmt.Errorf("interaction: %w", err)
		}
	}
	if !in.Time.IsZero() && (in.Time.Before(minTime) || in.Time.After(maxTime)) {
		// How to say the time is unknown is Interaction.Time's (the zero
		// time), so it wraps the FieldError rather than end it: a caller
		// that read the time from a field of its own says it as that
		// field does (ingest: an empty cell).
		return fmt.Errorf("interaction: %w; leave it zero when unknown", fieldError("time", -1, ": %s is outside %s..%s (it is stored as nanoseconds since 1970 in 64 bits)",
			in.Time.UTC().Format(time.RFC3339Nano), minTime.Format(time.RFC3339Nano), maxTime.Format(time.RFC3339Nano)))
	}
	return nil
}

// minTime and maxTime are the earliest and latest Interaction.Time an
// import accepts (besides the zero time, unknown): an interaction's time is
// stored as nanoseconds since 1970 in 64 bits (time.Time.UnixNano), which
// hold 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z.
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// InteractionTimes returns the earliest and latest Interaction.Time that
// CheckInteraction accepts besides the zero time (unknown), in UTC: for a
// reader that refuses a time out of range where it reads it (ingest quotes
// the cell as written).
func InteractionTimes() (earliest, latest time.Time) { return minTime, maxTime }

// checkKey refuses the value of field that cannot be part of a database
// key: more than MaxKeyLen bytes, or a NUL byte.
func checkKey(field, s string) error {
	if len(s) > MaxKeyLen {
		return fieldError(field, -1, " is %d bytes long; at most %d are accepted", len(s), MaxKeyLen)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fieldError(field, -1, " %q contains a NUL byte", clip(s))
	}
	return nil
}

// clip shortens a value quoted in an error message.
func clip(s string) string { return clippkg.String(s) }

// PutTrack inserts t, or updates the stored track with the same id: its
// features and the metadata t gives are replaced, genres and subgenres
// accumulate. A stored record that does not decode (damage) is replaced
// by t alone: importing a track again repairs it. It reports whether the
// track was new and whether anything changed. A track CheckTrack refuses
// is refused with its error.
func (tx *ImportTx) PutTrack(t *Track) (added, changed bool, err error) {
	if tx.ended {
		return false, false, errImportEnded
	}
	if t == nil {
		return false, false, errors.New("put track: track is nil")
	}
	if err := CheckTrack(t); err != nil {
		return false, false, fmt.Errorf("track %q: %w", clip(string(t.ID)), err)
	}
	merged := *t
	var prev Track
	if _, old, ok := tx.tx.Track(string(t.ID)); ok {
		if err := decodeTrack(old, &prev); err != nil {
			// A damaged record is replaced, not merged with: importing
			// the track again is how it is repaired. Its Spotify id is
			// unknown, as it was to tx.refs (forEachSpotifyID).
			prev = Track{}
		} else if err := tx.merge(&merged, &prev); err != nil {
			return false, false, err
		}
	}
	tx.buf = encodeTrack(tx.buf[:0], &merged)
	node, added, changed, err := tx.tx.PutTrack(string(t.ID), tx.buf)
	if err == nil {
		tx.refs.putTrack(node, &merged, prev.SpotifyID)
		tx.wrote = tx.wrote || added || changed
	}
	return added, changed, err
}

// mergeTrack fills what t leaves unknown from prev, and accumulates genres.
func mergeTrack(t, prev *Track) {
	if t.Name == "" {
		t.Name = prev.Name
	}
	if len(t.Artists) == 0 {
		t.Artists = prev.Artists
	}
	if t.Album == "" {
		t.Album = prev.Album
	}
	if t.Popularity == 0 {
		t.Popularity = prev.Popularity
	}
	if t.DurationMS == 0 {
		t.DurationMS = prev.DurationMS
	}
	if t.ReleaseDate == "" {
		t.ReleaseDate = prev.ReleaseDate
	}
	if t.SpotifyID == "" {
		t.SpotifyID = prev.SpotifyID
	}
	t.Genres = union(prev.Genres, t.Genres)
	t.Subgenres = union(prev.Subgenres, t.Subgenres)
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Reserve prepares the transaction for about rows more rows (an estimate;
// more or fewer are fine): ingest.Run calls it when the source's size is
// known, so the write buffer's tables are sized once instead of growing.
// It does nothing for rows ≤ 0 or after the import has ended.
func (tx *ImportTx) Reserve(rows int) {
	if tx.ended || rows <= 0 {
		return
	}
	tx.tx.Reserve(rows, rows)
}

// BeginSource marks the start of another file or query in this import:
// identical interactions are counted per source (see PutInteraction).
// ingest.Run calls it.
// It does nothing after the import has ended.
func (tx *ImportTx) BeginSource() {
	if tx.ended {
		return
	}
	tx.tx.BeginSource()
}

// PutInteraction stores an interaction. Identical interactions (same user,
// track, action and time) are counted: the stored count is the most times
// one source (file or query) held it, so importing the same rows again, in
// this import or a later one, adds nothing. An interaction
// CheckInteraction refuses is refused with its error. The track must
// already be stored, in this import or before; otherwise the error wraps
// ErrNotFound. in.Track is a track reference, resolved as a query
// resolves one (see Track references in the package doc): the id a track
// is stored under, else a Spotify URI or link to it, else, for a
// catalogue keyed by another system's ids, the Spotify id it keeps in
// Track.SpotifyID (where tracks share one, the track added last). The
// interaction is stored under the id the track is stored under. The
// first interaction that needs the Spotify ids reads them from every
// stored track, once an import (again only after this import deletes a
// track holding one or changes its Spotify id).
func (tx *ImportTx) PutInteraction(in *Interaction) (added bool, err error) {
	if tx.ended {
		return false, errImportEnded
	}
	if err := CheckInteraction(in); err != nil {
		return false, err
	}
	action := in.Action
	if action == "" {
		action = ActionPlay
	}
	// 0 is "unknown": the Unix epoch itself reads back as the zero time
	// (see Interaction.Time).
	var ts int64
	if !in.Time.IsZero() {
		ts = in.Time.UnixNano()
	}
	added, err = tx.tx.PutInteraction(in.User, string(in.Track), action, ts)
	if errors.Is(err, ErrNotFound) {
		// No track is stored under in.Track: under the id it names?
		var id TrackID
		if id, err = tx.refs.resolve(in.Track); err == nil {
			added, err = tx.tx.PutInteraction(in.User, string(id), action, ts)
		}
	}
	if errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("interaction of user %q: track %q: %w", clip(in.User), in.Track, ErrNotFound)
	}
	tx.wrote = tx.wrote || added
	return added, err
}

// DeleteTrack removes a track from the catalogue; the next reindex drops it
// from the index.
func (tx *ImportTx) DeleteTrack(id TrackID) (bool, error) {
	if tx.ended {
		return false, errImportEnded
	}
	tx.forgetSpotifyID(id)
	deleted, err := tx.tx.DeleteTrack(string(id))
	tx.wrote = tx.wrote || deleted
	return deleted, err
}

// merge merges the stored track prev into t, to be stored in its place.
func (tx *ImportTx) merge(t, prev *Track) error {
	mergeTrack(t, prev)
	// Genres accumulate: the union must still fit a record.
	if err := checkList("genres", t.Genres); err != nil {
		return fmt.Errorf("track %q: with the stored genres: %w", clip(string(t.ID)), err)
	}
	if err := checkList("subgenres", t.Subgenres); err != nil {
		return fmt.Errorf("track %q: with the stored subgenres: %w", clip(string(t.ID)), err)
	}
	return nil
}

// forgetSpotifyID tells tx.refs, when it holds the Spotify ids, of the
// deletion of the track id.
func (tx *ImportTx) forgetSpotifyID(id TrackID) {
	if tx.refs.spotify == nil {
		return
	}
	node, data, ok := tx.tx.Track(string(id))
	if !ok {
		return
	}
	var t Track
	if decodeTrack(data, &t) != nil {
		return // damaged: tx.refs never knew its Spotify id (forEachSpotifyID)
	}
	tx.refs.deleteTrack(node, t.SpotifyID)
}

func unixNanoTime(ts int64) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	return time.Unix(0, ts).UTC()
}
