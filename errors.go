package soundalike

import (
	"errors"
	"fmt"

	"github.com/audotics/soundalike/storage"
)

// Sentinel errors, checked with errors.Is. Their messages name the library
// call that resolves them; the command line (cmd/soundalike/errors.go) and
// the server (server/errors.go) put them in terms of their commands.
var (
	// ErrNotFound: the track is not in the catalogue (or, from UserHistory
	// and RecommendUser, the user has no interactions). It is
	// storage.ErrNotFound, the one "unknown track" error of every layer.
	ErrNotFound = storage.ErrNotFound
	// ErrNoModel: no model has been stored yet.
	ErrNoModel = errors.New("no model: train one with trainer.Train and Engine.SaveModel")
	// ErrNoIndex: no index has been built yet (Engine.Reindex builds one).
	// It is the storage layer's sentinel, so a missing index is one error
	// however deep it is found.
	ErrNoIndex = storage.ErrNoIndex
	// ErrDimension: a vector does not have the model's dimension.
	ErrDimension = errors.New("vector has the wrong dimension")
)

// errNoIndexYet is ErrNoIndex as a query returns it: with what to call.
var errNoIndexYet = fmt.Errorf("%w: build one with Engine.Reindex", ErrNoIndex)

// ErrInvalidQuery: a query is malformed (nothing to search by, missing or
// non-finite features, an unknown seed track in a multi-track query is
// ErrNotFound instead). The wrapped message says what is wrong; a bad k or
// option value is an *OptionError, several joined (errors.Join), and a
// track reference that no stored id could be is a *TrackRefError, each
// naming where it was given (a reference that merely names no track is
// ErrNotFound).
var ErrInvalidQuery = errors.New("invalid query")

// OptionError is a bad value of a search's k or of one of its options
// (CheckSearch), found before the search waits for anything, or a filter
// genre no track of the catalogue has (Filter.Genres), found once the
// search has the catalogue. It wraps ErrInvalidQuery.
//
// Option names the value as the Go API spells it, as TrackRefError's
// Option does: "k" (the results asked for: Similar's k, RecommendQuery.K),
// "SearchOptions.Offset", "SearchOptions.Filter.YearMin", and so on, and
// Index its entry when it is a list's (SearchOptions.Filter.Genres,
// Artists, ExcludeArtists), -1 otherwise. Other is the option its value is
// judged against, "" for none: SearchOptions.Filter.YearMax for a YearMin
// above it, "k" for an Offset whose page ends past MaxK.
//
// Its message is the option's name, then what is wrong with the value and
// what is accepted: "SearchOptions.Filter.YearMin: 2030 is above
// SearchOptions.Filter.YearMax 2010: want SearchOptions.Filter.YearMin ≤
// SearchOptions.Filter.YearMax". A caller that takes the options under
// names of its own (the server's query parameters and JSON fields) says
// it with Named.
type OptionError struct {
	Option string
	Index  int
	Other  string
	// reason is the message after the option's name and ": ", given the
	// names of Option and Other.
	reason func(option, other string) string
}

// optionError returns the OptionError of option (entry -1: the option
// itself) judged against other ("" for none), whose message reason
// writes.
func optionError(option string, entry int, other string, reason func(option, other string) string) *OptionError {
	return &OptionError{Option: option, Index: entry, Other: other, reason: reason}
}

func (e *OptionError) Error() string { return e.Named(func(option string) string { return option }) }

func (e *OptionError) Unwrap() error { return ErrInvalidQuery }

// Named returns the error's message with name(option) in place of each
// option's Go name: Option's (with its entry) and Other's.
func (e *OptionError) Named(name func(option string) string) string {
	option := name(e.Option)
	head := option
	if e.Index >= 0 {
		head = fmt.Sprintf("%s[%d]", option, e.Index)
	}
	other := ""
	if e.Other != "" {
		other = name(e.Other)
	}
	return head + ": " + e.reason(option, other)
}

// Errors of opening the database file, checked with errors.Is. They are
// storage's sentinels, so callers need not import storage.
var (
	// ErrLocked: another process holds the database (a writer, or a
	// reader while a writer waits) beyond Options.LockTimeout.
	ErrLocked = storage.ErrLocked
	// ErrNotSoundalike: the file is not a soundalike database.
	ErrNotSoundalike = storage.ErrNotSoundalike
	// ErrSchema: the file has a schema version this build does not know.
	ErrSchema = storage.ErrSchema
	// ErrNoDatabase: the path holds no database (no file, or an empty
	// one) where a call must read one: Open of a ReadOnly or Detached
	// engine, and of a default engine its first query (or Model, Reload,
	// ForEachTrack, Backup), Reindex and PromoteModel. Import and
	// SaveModel create the database instead.
	ErrNoDatabase = storage.ErrNoDatabase
)

// ErrClosed: the engine was closed (Engine.Close), or was not made by
// Open (a zero or nil Engine); open a new one.
var ErrClosed = errors.New("engine is closed")

// ErrDamaged: the database file is damaged (a corrupt page, a file shorter
// than its own pages). Every read and write of the file returns it rather
// than crashing, naming the file and what was being read; restore the
// file from a backup (Engine.Backup), and Engine.Check lists the damage.
var ErrDamaged = storage.ErrDamaged

// IndexDamagedError is the error of a stored index (or its map layout)
// that fails to read or to check: Err says what was found, and wraps
// ErrDamaged when the file's bytes are at fault. The tracks and models
// are not affected, so the remedy is not a backup: a full reindex
// (Engine.Reindex with ReindexOptions.Full) rebuilds the index from them.
//
// Unlike the sentinels above, its message names the command as well as
// the library call (Remedy): a failed load is logged by the engine
// (Options.Logger) and shown by the server's /readyz (reload_error) as
// it is, to the operator of `soundalike serve` and of a program that
// embeds the engine alike.
type IndexDamagedError struct {
	Err error
}

func (e *IndexDamagedError) Error() string {
	if e.Err == nil {
		return "the stored index is damaged: " + e.Remedy()
	}
	return "the stored index is damaged (" + e.Err.Error() + "): " + e.Remedy()
}

func (e *IndexDamagedError) Unwrap() error { return e.Err }

// Remedy is what the error tells its reader to do. A damaged file's error
// gets the storage's remedy (restore a backup) unless it says its own.
func (e *IndexDamagedError) Remedy() string {
	return "rebuild it with `soundalike reindex --full` (Engine.Reindex with ReindexOptions.Full)"
}

// unknownUserError is ErrNotFound for a user with nothing to go by: its
// message names the user and why, and says nothing of tracks.
type unknownUserError struct{ user, why string }

func (e unknownUserError) Error() string { return fmt.Sprintf("user %q %s", clip(e.user), e.why) }

func (e unknownUserError) Is(target error) bool { return target == ErrNotFound }
