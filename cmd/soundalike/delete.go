package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/printable"
	"github.com/audotics/soundalike/internal/words"
)

func init() {
	register(command{name: "delete", summary: "remove tracks from the catalogue (a takedown), all or nothing", run: runDelete})
}

// deleteUsage is delete's help text, before its flags.
const deleteUsage = `Usage: soundalike delete [--db PATH] [--missing-ok] [--json] ID...
       soundalike delete [--db PATH] [--missing-ok] [--json] --from FILE [ID...]

Removes tracks from the catalogue in one transaction: all of them or, when
anything fails or is interrupted (Ctrl-C), or the database is held by
another process beyond --lock-timeout, none. Each ID is a track reference
as queries take it: the id as stored, a spotify:track:ID URI or an
open.spotify.com/track/ID link, or the Spotify id of a track whose id is
another system's (its spotify_id column): a takedown is of what Spotify
names by that id, so every track sharing that Spotify id is deleted. References of a Spotify id's
form cost one pass over the catalogue, to find them. --from reads references
from FILE ("-" is stdin), one a line; blank lines and lines starting with #
are skipped.

A reference that names no track is an error naming it (the argument, or
FILE:LINE), and nothing is deleted: it may be a typo, or the wrong system's
id, and the track it meant would go on being recommended. --missing-ok
deletes the others and counts it as not found instead, so that a takedown
list can be run again.

A running serve stops returning the deleted tracks at its next reload
(every --reload, or on SIGHUP), before any reindex: searches skip them.
The index keeps their vectors until the next soundalike reindex, which
drops them. Their interactions stay, as history: a user's history still
lists them, while recommendations and train leave them out. A later
import of a file that holds a deleted track adds it back, and so does
import --postgres while the app still has it: there, take a track down
in the app, and import --postgres --prune removes it here.

`

// deleteRef is a track reference to delete and where it was given, for
// errors: "argument 2", or "takedowns.txt:3" for --from.
type deleteRef struct {
	ref   string
	where string
}

// deleteJSON is what `delete --json` prints: References counts the
// references given, Deleted holds the deleted tracks' ids as stored,
// NotFound the references (as given) that named no track, with
// --missing-ok, and Repeated counts the references that named only tracks
// an earlier reference named (given twice, or as an id and as its URI).
// A reference of a Spotify id names every track sharing it, so Deleted
// may hold more tracks than there are references.
type deleteJSON struct {
	References int      `json:"references"`
	Deleted    []string `json:"deleted"`
	NotFound   []string `json:"not_found"`
	Repeated   int      `json:"repeated"`
	// shared is whether a reference named more than one track (a
	// Spotify id that tracks share), for the summary's note.
	shared bool
}

// maxListed is how many references not found delete lists on standard
// error; the rest are counted.
const maxListed = 20

func runDelete(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath, from      string
		missingOK, asJSON bool
	)
	fs := newFlagSet("delete", stdio, &dbPath)
	fs.StringVar(&from, "from", "", "read track references from `FILE`, one a line (- for stdin); blank lines and # comments are skipped")
	fs.BoolVar(&missingOK, "missing-ok", false, "count a reference that names no track as not found, and delete the others, instead of deleting nothing")
	fs.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), deleteUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var refs []deleteRef
	for i, a := range fs.Args() {
		if strings.TrimSpace(a) == "" {
			return usagef("delete: argument %d is empty: give %s", i+1, soundalike.TrackRefForms)
		}
		refs = append(refs, deleteRef{a, fmt.Sprintf("argument %d", i+1)})
	}
	if from != "" {
		listed, err := readRefsContext(ctx, from, stdio.in)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return interruptedDelete(dbPath, context.Cause(ctx))
			}
			return err
		}
		refs = append(refs, listed...)
	}
	if len(refs) == 0 {
		if from != "" {
			return usagef("delete: --from %s holds no track reference (only blank lines or # comments)", printable.String(from))
		}
		return usagef("delete: no track given: give one or more IDs, or --from FILE")
	}

	eng, err := soundalike.Open(dbPath, stdio.engineOptions(nil))
	if err != nil {
		return err
	}
	defer eng.Close()
	// Open reads nothing yet: the lookup of the references is the first
	// read, and a path with no database fails it with ErrNoDatabase
	// naming the path, before any reference is called not found.
	out, err := deleteTracks(ctx, eng, refs, missingOK, stdio)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return interruptedDelete(dbPath, context.Cause(ctx))
	}
	if err != nil {
		return err
	}
	return printDelete(ctx, eng, stdio, out, asJSON)
}

// deleteTracks deletes the tracks refs name in one import transaction,
// which it rolls back when any reference names no track (unless
// missingOK), and when there is nothing to delete: a run that deletes
// nothing commits nothing, and its catalogue (and index) stay up to date.
func deleteTracks(ctx context.Context, eng *soundalike.Engine, refs []deleteRef, missingOK bool, stdio stdio) (deleteJSON, error) {
	out := deleteJSON{References: len(refs), Deleted: []string{}, NotFound: []string{}}
	// Resolved before the write transaction, in read transactions of
	// their own: bbolt must not hold a read transaction open in the
	// goroutine of a write one, whose remap would wait for it. A track
	// that another process deletes in between is reported as not deleted
	// (DeleteTrack says it is gone); one it adds is not deleted.
	res, err := resolveRefs(ctx, eng, refs)
	if err != nil {
		return deleteJSON{}, err
	}
	ids, missing := res.ids, res.missing
	out.Repeated, out.shared = res.repeated, res.shared
	if len(missing) > 0 {
		listMissing(stdio.err, missing, missingOK)
		if !missingOK {
			return deleteJSON{}, missingError(missing)
		}
	}
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, id := range ids {
			deleted, err := tx.DeleteTrack(id)
			if err != nil {
				return fmt.Errorf("delete %s: %w", printable.String(string(id)), err)
			}
			if deleted {
				out.Deleted = append(out.Deleted, string(id))
			}
		}
		for _, m := range missing {
			out.NotFound = append(out.NotFound, m.ref)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(out.Deleted) == 0 {
			return soundalike.ErrRollback // nothing to write
		}
		return nil
	})
	if err != nil {
		return deleteJSON{}, err
	}
	return out, nil
}

// resolveRefs finds the stored ids of the tracks each reference names,
// each track once, in the order of the references, with
// Engine.ResolveAllTracks: as an import finds an interaction's track (by
// id as stored, by the id of a Spotify URI or link, then by the Spotify
// id of a track whose id is another system's), and, a takedown being of
// every track sharing a Spotify id, every other track stored under or
// holding the Spotify id a reference reads as, so that a list run again
// deletes nothing more.
// missing holds the references that name no track; one that holds a
// space or a comma is refused instead, being likely a reference with a
// note beside it.
func resolveRefs(ctx context.Context, eng *soundalike.Engine, refs []deleteRef) (resolvedRefs, error) {
	list := make([]soundalike.TrackID, len(refs))
	for i, r := range refs {
		list[i] = soundalike.TrackID(r.ref)
	}
	found, err := eng.ResolveAllTracks(ctx, list)
	if re, ok := errors.AsType[*soundalike.TrackRefError](err); ok {
		return resolvedRefs{}, usagef("delete: %s: %s", refs[re.Index].where, re.Reason)
	}
	if err != nil {
		return resolvedRefs{}, fmt.Errorf("delete: %w", err)
	}
	var res resolvedRefs
	seen := make(map[soundalike.TrackID]bool)
	for i, named := range found {
		r := refs[i]
		if len(named) == 0 {
			if strings.ContainsAny(strings.TrimSpace(r.ref), " \t,") {
				return resolvedRefs{}, usagef("delete: %s: %s names no track, and holds a space or a comma: give one reference a line (%s), and a note on a line of its own starting with #", r.where, quoteText(r.ref), soundalike.TrackRefForms)
			}
			res.missing = append(res.missing, r)
			continue
		}
		res.shared = res.shared || len(named) > 1
		repeated := true
		for _, id := range named {
			if !seen[id] {
				seen[id] = true
				res.ids = append(res.ids, id)
				repeated = false
			}
		}
		if repeated {
			res.repeated++
		}
	}
	return res, nil
}

// resolvedRefs is what resolveRefs finds: the ids of the tracks to delete,
// each once; the references that name no track; how many references
// named only tracks an earlier one named; and whether any reference named
// more than one track (a Spotify id that tracks share).
type resolvedRefs struct {
	ids      []soundalike.TrackID
	missing  []deleteRef
	repeated int
	shared   bool
}

// listMissing lists on w the references that name no track, up to
// maxListed of them, when there is more than one (missingError names the
// one).
func listMissing(w io.Writer, missing []deleteRef, missingOK bool) {
	if len(missing) < 2 && !missingOK {
		return
	}
	for i, m := range missing {
		if i == maxListed {
			fmt.Fprintf(w, "… and %s not found\n", words.Count(len(missing)-maxListed, "more reference"))
			break
		}
		fmt.Fprintf(w, "%s: track %s: not in the catalogue\n", m.where, quoteText(m.ref))
	}
}

// missingError is the error of references that name no track, without
// --missing-ok: nothing was deleted.
func missingError(missing []deleteRef) error {
	first := missing[0]
	more := ""
	if len(missing) > 1 {
		verb := "are"
		if len(missing) == 2 {
			verb = "is"
		}
		more = fmt.Sprintf(", nor %s %s listed above", verb, words.Count(len(missing)-1, "more reference"))
	}
	return fmt.Errorf("delete: %s: track %s is not in the catalogue%s; nothing was deleted: check the reference (%s), or give --missing-ok to delete the others and count it as not found (a takedown list run again)",
		first.where, quoteText(first.ref), more, soundalike.TrackRefForms)
}

// printDelete prints the summary, and what is left to do: the index keeps
// the deleted tracks' vectors until the next reindex.
func printDelete(ctx context.Context, eng *soundalike.Engine, stdio stdio, out deleteJSON, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(out)
	}
	fmt.Fprintln(stdio.out, deleteSummary(out))
	if len(out.Deleted) == 0 {
		fmt.Fprintln(stdio.out, "nothing was deleted")
		return nil
	}
	if _, err := eng.IndexState(ctx); errors.Is(err, soundalike.ErrNoIndex) {
		return nil
	}
	fmt.Fprintln(stdio.out, "a running serve stops returning the deleted tracks at its next reload (--reload, SIGHUP); run `soundalike reindex` to drop them from the index")
	return nil
}

// deleteSummary is the line that counts what delete did: the tracks
// deleted, then the references given, of which how many were repeated
// and how many named no track. The two counts differ when references
// repeat, or one names every track sharing a Spotify id, which the line
// says.
func deleteSummary(out deleteJSON) string {
	refs := words.Count(out.References, "reference")
	var of []string
	if out.Repeated > 0 {
		of = append(of, fmt.Sprintf("%d repeated", out.Repeated))
	}
	if len(out.NotFound) > 0 {
		of = append(of, fmt.Sprintf("%d not found", len(out.NotFound)))
	}
	if len(of) > 0 {
		refs += ", " + strings.Join(of, ", ")
	}
	if out.shared && len(out.Deleted) > 0 {
		refs += "; a Spotify id names every track sharing it"
	}
	return fmt.Sprintf("deleted %s (%s)", words.Count(len(out.Deleted), "track"), refs)
}

// interruptedDelete is the error of a delete stopped by cause (Ctrl-C).
// Import commits all or nothing, and honours its context only before it
// commits, so nothing was deleted.
func interruptedDelete(db string, cause error) error {
	return fmt.Errorf("delete: interrupted (%w) before anything was committed: nothing was deleted, %s is unchanged", cause, db)
}

// readRefsContext is readRefs, given up on when ctx is done first: a
// stdin or a FIFO that sends nothing does not hold Ctrl-C up. A read given
// up on is left to end with the process.
func readRefsContext(ctx context.Context, name string, stdin io.Reader) ([]deleteRef, error) {
	type result struct {
		refs []deleteRef
		err  error
	}
	done := make(chan result, 1)
	go func() {
		refs, err := readRefs(name, stdin)
		done <- result{refs, err}
	}()
	select {
	case r := <-done:
		return r.refs, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// maxRefLine is the longest line --from reads: room for the longest
// track id with spaces around it.
const maxRefLine = 64 << 10

// readRefs reads --from name ("-" is stdin): one track reference a line,
// spaces around it trimmed, blank lines and lines starting with # skipped,
// and a UTF-8 byte order mark at the start ignored. A line that no stored
// id could be (longer than soundalike.MaxKeyLen, or holding a NUL byte)
// is a usage error naming the file and the line.
func readRefs(name string, stdin io.Reader) ([]deleteRef, error) {
	display, r := name, stdin
	if name == "-" {
		display = "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("delete: --from: %w", err)
		}
		defer f.Close()
		r = f
	}
	display = printable.String(display)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxRefLine)
	var refs []deleteRef
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		}
		ref := strings.TrimSpace(string(b))
		where := fmt.Sprintf("%s:%d", display, line)
		switch {
		case ref == "" || strings.HasPrefix(ref, "#"):
			continue
		case len(ref) > soundalike.MaxKeyLen:
			return nil, usagef("delete: %s: a reference of %d bytes: track ids are at most %d; give one reference a line: %s", where, len(ref), soundalike.MaxKeyLen, soundalike.TrackRefForms)
		case strings.IndexByte(ref, 0) >= 0:
			return nil, usagef("delete: %s: the line holds a NUL byte, which no track id does: is %s a text file of one track reference a line?", where, display)
		}
		refs = append(refs, deleteRef{ref, where})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, usagef("delete: %s:%d: a line longer than %d bytes: track ids are at most %d; is %s a text file of one track reference a line?", display, line+1, maxRefLine, soundalike.MaxKeyLen, display)
		}
		return nil, fmt.Errorf("delete: --from %s: line %d: %w", display, line+1, err)
	}
	return refs, nil
}
