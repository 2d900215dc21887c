package soundalike

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/audotics/soundalike/storage"
)

// TrackRefForms says which references to a track ParseTrackRef accepts; the
// server and the command line repeat it in their errors.
const TrackRefForms = "a track id, a spotify:track:ID URI or an https://open.spotify.com/track/ID link"

// ParseTrackRef reduces a reference to a track to the id to look up: a
// track id as stored (returned as given, spaces trimmed), a Spotify URI
// (spotify:track:ID) or a Spotify link (https://open.spotify.com/track/ID,
// with or without a query string such as ?si=…, a #fragment or an
// intl-xx path segment). The Engine's lookups find a track by that id or,
// when the catalogue keeps Spotify ids in Track.SpotifyID, by its Spotify
// id.
//
// A reference that is neither (a Spotify URI or link to an album, a link to
// another site, an empty string) is a *TrackRefError, which wraps
// ErrInvalidQuery. The Engine's lookups are not so strict: they look a
// reference up as a stored id before they parse it, so a track whose id
// has such a form is found by it, and they refuse only a reference that no
// stored id could be (see TrackRefError); any other that names no track is
// a track not found (ErrNotFound), or nothing to exclude or keep in
// SearchOptions.Exclude and Filter.IDs.
func ParseTrackRef(s string) (TrackID, error) {
	s = strings.TrimSpace(s)
	id, p := parseTrackRef(s)
	if p != refOK {
		return "", &TrackRefError{Reason: p.reason(s)}
	}
	return id, nil
}

// TrackRefError is a track reference refused for its form. It wraps
// ErrInvalidQuery. The Engine's lookups refuse only a reference that no
// stored id could be, as given or with spaces trimmed: what CheckTrack
// refuses as a track id (empty, longer than MaxKeyLen bytes, holding a
// NUL byte). ParseTrackRef refuses, besides, whatever is none of its
// forms.
//
// Option names where a query gave the reference, as the Go API spells it,
// and Index its place there: "SearchOptions.Exclude",
// "SearchOptions.Filter.IDs", "Query.Tracks", "RecommendQuery.Positive"
// and "RecommendQuery.Negative" (the Track of the example at Index), and
// "MapQuery.IDs".
// Option is "" for the one track a call names itself (ParseTrackRef's s,
// Similar's and Track's id). Reason says what is wrong with the reference,
// quoting it escaped and clipped, and what is accepted: a caller that names
// the reference otherwise (the server by its query parameter or JSON field,
// the command line by its flag) puts its own name before Reason.
type TrackRefError struct {
	Option string
	Index  int
	Reason string
}

func (e *TrackRefError) Error() string {
	if e.Option == "" {
		return ErrInvalidQuery.Error() + ": " + e.Reason
	}
	return fmt.Sprintf("%v: %s[%d]: %s", ErrInvalidQuery, e.Option, e.Index, e.Reason)
}

func (e *TrackRefError) Unwrap() error { return ErrInvalidQuery }

// refProblem is why a string, spaces trimmed, is none of the forms
// ParseTrackRef accepts: refOK when it is one. The first three are what
// no stored id could be (refusal); the last two may be a stored id, and
// are only a hint when none is (notFound).
type refProblem uint8

const (
	refOK refProblem = iota
	refEmpty
	refTooLong
	refNUL
	refNotURI  // spotify:… but not spotify:track:ID
	refNotLink // http(s):// or open.spotify.com/… but not a track link
)

// reason says what is wrong with s, quoting it clipped and escaped, and
// what is accepted.
func (p refProblem) reason(s string) string {
	var what string
	switch p {
	case refEmpty:
		what = "empty track reference"
	case refTooLong:
		return fmt.Sprintf("track reference of %d bytes: ids are at most %d", len(s), MaxKeyLen)
	case refNUL:
		what = fmt.Sprintf("track reference %q holds a NUL byte", clip(s))
	case refNotURI:
		what = fmt.Sprintf("%q is not a Spotify track URI (spotify:track:ID)", clip(s))
	case refNotLink:
		what = fmt.Sprintf("%q is not a Spotify track link (https://open.spotify.com/track/ID)", clip(s))
	}
	return what + ": give " + TrackRefForms
}

// parseTrackRef is ParseTrackRef's parse of s (spaces trimmed) without the
// error: it allocates nothing, so that a query may check every reference
// it is given.
func parseTrackRef(s string) (TrackID, refProblem) {
	switch {
	case s == "":
		return "", refEmpty
	case len(s) > MaxKeyLen:
		return "", refTooLong
	case strings.IndexByte(s, 0) >= 0:
		return "", refNUL
	}
	if rest, ok := cutPrefixFold(s, "spotify:"); ok {
		id, ok := cutPrefixFold(rest, "track:")
		if !ok || !isSpotifyID(id) {
			return "", refNotURI
		}
		return TrackID(id), refOK
	}
	if link, ok := trimScheme(s); ok || hasPrefixFold(s, "open.spotify.com/") {
		id, ok := spotifyLinkID(link)
		if !ok {
			return "", refNotLink
		}
		return TrackID(id), refOK
	}
	return TrackID(s), refOK
}

// trimScheme removes http:// or https:// from s and reports whether it
// did.
func trimScheme(s string) (string, bool) {
	for _, p := range [...]string{"https://", "http://"} {
		if rest, ok := cutPrefixFold(s, p); ok {
			return rest, true
		}
	}
	return s, false
}

// spotifyLinkID returns the track id of a link without its scheme:
// open.spotify.com[/intl-xx]/track/ID[/][?query][#fragment].
func spotifyLinkID(link string) (string, bool) {
	if i := strings.IndexAny(link, "?#"); i >= 0 {
		link = link[:i]
	}
	path, ok := cutPrefixFold(link, "open.spotify.com/")
	if !ok {
		return "", false
	}
	parts := strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(parts) == 3 && strings.HasPrefix(strings.ToLower(parts[0]), "intl-") {
		parts = parts[1:]
	}
	if len(parts) != 2 || parts[0] != "track" || !isSpotifyID(parts[1]) {
		return "", false
	}
	return parts[1], true
}

// isSpotifyID reports whether s looks like a Spotify id: base-62 (Spotify's
// are 22 characters; shorter ones are accepted for test catalogues).
func isSpotifyID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if hasPrefixFold(s, prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// refusal is why no stored track id could be ref: refOK when one could.
// A reference names a stored id as given or with spaces trimmed, so it is
// refused only when CheckTrack would refuse both as a track id (empty,
// longer than MaxKeyLen bytes, holding a NUL byte): no id an import
// stored, deleted since or not, is refused. It allocates nothing.
func refusal(ref TrackID) refProblem {
	s := string(ref)
	switch {
	case s == "":
		return refEmpty
	case len(s) > MaxKeyLen && len(strings.TrimSpace(s)) > MaxKeyLen:
		return refTooLong
	case strings.IndexByte(s, 0) >= 0:
		return refNUL
	}
	return refOK
}

// refID reads a reference that is no stored id as given. id is the id it
// may still name: ParseTrackRef's (the reference trimmed, or a Spotify
// URI's or link's track id) when p is refOK, and id may then be a Spotify
// id too; else the reference trimmed, as a stored id may have any form, p
// saying why it is none of ParseTrackRef's forms. A reference no stored id
// could be is checkRef's *TrackRefError (id and p then zero).
func refID(ref TrackID) (id TrackID, p refProblem, err error) {
	if err := checkRef("", 0, ref); err != nil {
		return "", refOK, err
	}
	trimmed := strings.TrimSpace(string(ref))
	if id, p = parseTrackRef(trimmed); p != refOK {
		id = TrackID(trimmed) // "" for spaces only: an id no track has
	}
	return id, p, nil
}

// spotifyFormHint is what a reference of a Spotify form, or a link, that
// names no track is told: such a reference is likely a mistyped one.
const spotifyFormHint = "a Spotify reference must be spotify:track:ID or https://open.spotify.com/track/ID"

// notFound is the ErrNotFound of a reference that names no track, p its
// refProblem: one that looks like a Spotify URI or a link but is no
// Spotify track's gets spotifyFormHint.
func notFound(ref TrackID, p refProblem) error {
	e := notFoundError{ref: clip(string(ref))}
	if p == refNotURI || p == refNotLink {
		e.hint = spotifyFormHint
	}
	return e
}

// notFoundError is the ErrNotFound of a reference that names no track,
// quoted clipped. It says so in the words the command line and an
// import have for a track they cannot find, once ("track "x" is not in
// the catalogue", not "track "x": track not found"), and why it may not
// be; hint, when not "", is what else the reference is told
// (spotifyFormHint).
type notFoundError struct{ ref, hint string }

func (e notFoundError) Error() string {
	msg := fmt.Sprintf("track %q is not in the catalogue (never imported, or deleted since)", e.ref)
	if e.hint != "" {
		msg += "; " + e.hint
	}
	return msg
}

func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

// resolve finds the node of a track reference in the snapshot
// (resolveRef).
func (s *snapshot) resolve(ref TrackID) (uint32, error) {
	return resolveRef(ref, s.nodeByID, s.nodeBySpotifyID)
}

// lookup is resolve for a caller that only asks whether the reference
// names a track (an exclusion, filter.ids, a user's history): it builds
// no error for one that names none.
func (s *snapshot) lookup(ref TrackID) (uint32, bool) {
	n, _, ok, err := findRef(ref, s.nodeByID, s.nodeBySpotifyID)
	return n, ok && err == nil
}

func (s *snapshot) nodeByID(id string) (uint32, bool) { return s.byID.find(&s.cat, id) }

func (s *snapshot) nodeBySpotifyID(id string) (uint32, bool) {
	n, ok := s.bySpotify[id]
	return n, ok
}

// resolveRef finds the track a reference names (findRef); one that names
// no track wraps ErrNotFound (notFound).
func resolveRef[T any](ref TrackID, byID, bySpotify func(id string) (T, bool)) (T, error) {
	t, p, ok, err := findRef(ref, byID, bySpotify)
	if err != nil || ok {
		return t, err
	}
	return t, notFound(ref, p)
}

// findRef finds the track a reference names, in the order every lookup
// of a track reference takes (a query's in the snapshot, an import's,
// ResolveTracks' and ResolveAllTracks' in the database): by id as stored
// (byID), else by the id refID reads in it, else, when that is
// ParseTrackRef's and has a Spotify id's form (spotifyForm: a UUID has
// not), by the Spotify id a
// track keeps in Track.SpotifyID (bySpotify), which an import's lookup
// reads the whole catalogue for. ok reports whether one does; p is what
// refID found wrong with a reference that names none. A reference no
// stored id could be is a *TrackRefError.
func findRef[T any](ref TrackID, byID, bySpotify func(id string) (T, bool)) (t T, p refProblem, ok bool, err error) {
	if t, ok := byID(string(ref)); ok {
		return t, refOK, true, nil // an id as stored, even one that looks like a URI
	}
	id, p, err := refID(ref)
	if err != nil {
		return t, p, false, err
	}
	if id != ref {
		if t, ok := byID(string(id)); ok {
			return t, refOK, true, nil
		}
	}
	if spotifyForm(id, p) {
		if t, ok := bySpotify(string(id)); ok {
			return t, refOK, true, nil
		}
	}
	return t, p, false, nil
}

// checkRefs refuses a reference of refs, the list option (Option of a
// TrackRefError) names, that no stored track id could be (checkRef). Any
// other passes, found or not: one that names no track excludes nothing
// and keeps nothing (see SearchOptions.Exclude and Filter.IDs), since a
// client may name tracks deleted since, whatever the form of their ids,
// and one a query searches from is looked up once the snapshot is there.
func checkRefs(option string, refs []TrackID) error {
	for i, ref := range refs {
		if err := checkRef(option, i, ref); err != nil {
			return err
		}
	}
	return nil
}

// checkRef refuses a reference that no stored track id could be
// (refusal): a *TrackRefError naming it option[i], or by Reason alone
// when option is "" (the one track a call names itself). It needs no
// lookup, as a reference refusal refuses is stored nowhere, so a query
// checks its references before it waits for the snapshot. It allocates
// nothing for a reference it passes.
func checkRef(option string, i int, ref TrackID) error {
	if p := refusal(ref); p != refOK {
		return &TrackRefError{Option: option, Index: i, Reason: p.reason(strings.TrimSpace(string(ref)))}
	}
	return nil
}

// indexSpotifyIDs maps the Spotify ids the decoding workers found, of
// tracks whose id is another system's (Track.SpotifyID set and different
// from ID), to their nodes. Where tracks share a Spotify id, the one
// takesSpotifyID prefers keeps it.
func (s *snapshot) indexSpotifyIDs(found []workerFinds) {
	total := 0
	for _, f := range found {
		total += len(f.spotifyIDs)
	}
	if total == 0 {
		return
	}
	s.bySpotify = make(map[string]uint32, total)
	for _, f := range found {
		for i, id := range f.spotifyIDs {
			if node, ok := s.bySpotify[id]; !ok || takesSpotifyID(f.spotifyNodes[i], node) {
				s.bySpotify[id] = f.spotifyNodes[i]
			}
		}
	}
}

// takesSpotifyID reports whether the track at node takes a Spotify id
// from held, the node of the track that holds it so far: where tracks
// share a Spotify id, the highest node, the track added last (nodes are
// given in order and never reused), keeps it. It is the one rule of every
// lookup by Spotify id: the snapshot's (indexSpotifyIDs) and the
// database's (spotifyHolders).
func takesSpotifyID(node, held uint32) bool { return node > held }

// spotifyHolders maps the Spotify ids of a catalogue in the database to
// the tracks holding them, as the snapshot's bySpotify does a snapshot's:
// only tracks whose Spotify id differs from their id have entries.
type spotifyHolders map[string]spotifyHolder

// spotifyHolder is a track holding a Spotify id: its node and its id.
type spotifyHolder struct {
	node uint32
	id   TrackID
}

// readSpotifyHolders reads the Spotify ids of every track tx holds. It
// decodes the whole catalogue, so a caller reads them once, when a
// reference first needs them, and keeps them up to date with its own
// writes (txRefs).
func readSpotifyHolders(tx *storage.Tx) (spotifyHolders, error) {
	m := spotifyHolders{}
	// An import's lookup (txRefs) has no ctx at hand: its pass runs to the end.
	err := forEachSpotifyID(context.Background(), tx, m.add)
	if err != nil {
		return nil, fmt.Errorf("reading the catalogue's Spotify ids: %w", err)
	}
	return m, nil
}

// forEachSpotifyID calls fn, in id order, for every track tx holds that
// keeps a Spotify id (Track.SpotifyID, whether or not it is the track's
// own id), with that id, which points into the database: fn copies what
// it keeps. It decodes the whole catalogue, and stops with ctx's error
// when ctx is done. A record that does not decode (damage) holds no
// Spotify id anyone can know, and is passed over: a lookup must not fail
// for it, since deleting that track, or importing it again to repair it,
// looks references up (check reports the record).
func forEachSpotifyID(ctx context.Context, tx *storage.Tx, fn func(spotifyID string, h spotifyHolder)) error {
	var t Track
	i := 0
	return tx.ForEachTrack(func(en storage.TrackEntry) error {
		if i++; i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if decodeTrackAliased(en.Data, &t) != nil {
			return nil
		}
		if t.SpotifyID != "" {
			fn(t.SpotifyID, spotifyHolder{en.Node, TrackID(en.ID)})
		}
		return nil
	})
}

// add records that h holds spotifyID, unless it is h's own id (a lookup
// by id finds h first: findRef) or a track takesSpotifyID prefers holds
// it already: every lookup in the database by a Spotify id (txRefs,
// ResolveAllTracks) finds the track it keeps. It keeps a copy of
// spotifyID, which may point into the database (forEachSpotifyID).
func (m spotifyHolders) add(spotifyID string, h spotifyHolder) {
	if spotifyID == string(h.id) {
		return
	}
	if held, ok := m[spotifyID]; !ok || takesSpotifyID(h.node, held.node) {
		m[strings.Clone(spotifyID)] = h
	}
}

// txRefs resolves track references in a transaction (resolveRef), to the
// id the track is stored under. The Spotify ids are read when a
// reference first needs them (readSpotifyHolders); a write transaction
// tells it of its track writes (putTrack, deleteTrack) so that they
// resolve as they would once committed.
type txRefs struct {
	tx *storage.Tx
	// spotify is nil until a reference needs it, and again after a
	// write that may have changed which track holds a Spotify id.
	spotify spotifyHolders
}

// resolve returns the id of the track ref names, or resolveRef's error;
// an error reading the catalogue's Spotify ids is returned as it is.
func (r *txRefs) resolve(ref TrackID) (TrackID, error) {
	var readErr error
	id, err := resolveRef(ref,
		func(id string) (TrackID, bool) {
			_, _, ok := r.tx.Track(id)
			return TrackID(id), ok
		},
		func(id string) (TrackID, bool) {
			if r.spotify == nil {
				if r.spotify, readErr = readSpotifyHolders(r.tx); readErr != nil {
					return "", false
				}
			}
			h, ok := r.spotify[id]
			return h.id, ok
		})
	if readErr != nil {
		return "", readErr
	}
	return id, err
}

// putTrack keeps the Spotify ids up to date with t, stored at node, whose
// Spotify id was prevSpotifyID before ("" for a new track).
func (r *txRefs) putTrack(node uint32, t *Track, prevSpotifyID string) {
	if r.spotify == nil {
		return
	}
	if h, ok := r.spotify[prevSpotifyID]; ok && h.node == node && prevSpotifyID != t.SpotifyID {
		r.spotify = nil // another track may hold it: read them again
		return
	}
	if t.SpotifyID != "" {
		r.spotify.add(t.SpotifyID, spotifyHolder{node, t.ID})
	}
}

// deleteTrack keeps the Spotify ids up to date with the deletion of the
// track at node whose Spotify id is spotifyID.
func (r *txRefs) deleteTrack(node uint32, spotifyID string) {
	if h, ok := r.spotify[spotifyID]; ok && h.node == node {
		r.spotify = nil // another track may hold it: read them again
	}
}

// ResolveTracks returns the id of the catalogue track each of refs names,
// "" for one that names none; a reference no stored id could be is a
// *TrackRefError naming its index (Option "refs"). It looks a reference
// up as queries do (see Track references in the package doc: by id as
// stored, by the id ParseTrackRef reads in it, then by Track.SpotifyID,
// where tracks sharing one resolve to the track added last), but in the
// database, so it needs no snapshot. It reads the whole catalogue when a reference
// needs the Spotify ids. eval --holdout resolves its file's tracks with
// it, as an import resolves an interaction's.
func (e *Engine) ResolveTracks(ctx context.Context, refs []TrackID) ([]TrackID, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, fmt.Errorf("resolve tracks: %w", err)
	}
	out := make([]TrackID, len(refs))
	err := e.view(ctx, func(tx *storage.Tx) error {
		r := txRefs{tx: tx}
		for i, ref := range refs {
			if i%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			id, err := r.resolve(ref)
			if re, ok := errors.AsType[*TrackRefError](err); ok {
				re.Option, re.Index = "refs", i
				return re
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			out[i] = id
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("resolve tracks: %w", err)
	}
	return out, nil
}

// ResolveAllTracks is ResolveTracks for a caller that acts on every track
// sharing a Spotify id rather than on one track (a takedown: soundalike
// delete). It returns every catalogue track each of refs names, none for
// one that names none: the track ResolveTracks finds, first, and, when the
// reference reads as a Spotify id (bare, or a URI's or link's, as
// ResolveTracks reads it), every other track whose Track.SpotifyID is that
// id, in id order. A reference no stored id could be is a *TrackRefError
// naming its index (Option "refs").
//
// It reads the catalogue's Spotify ids in one pass, in the transaction of
// the lookups by id, when a reference reads as a Spotify id (an id such
// as t0001 may, being of base-62), and never otherwise.
func (e *Engine) ResolveAllTracks(ctx context.Context, refs []TrackID) ([][]TrackID, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, fmt.Errorf("resolve tracks: %w", err)
	}
	out := make([][]TrackID, len(refs))
	err := e.view(ctx, func(tx *storage.Tx) error {
		// sids[i] is the Spotify id refs[i] reads as, "" for none. Once
		// the catalogue is read, shares holds the tracks sharing each, in
		// id order, and holders the one a lookup by it finds.
		sids := make([]string, len(refs))
		shares := map[string]*[]TrackID{}
		holders := spotifyHolders{}
		for i, ref := range refs {
			id, p, err := refID(ref)
			if re, ok := errors.AsType[*TrackRefError](err); ok {
				re.Option, re.Index = "refs", i
				return re
			}
			if spotifyForm(id, p) {
				sids[i] = string(id)
				shares[sids[i]] = new([]TrackID)
			}
		}
		if len(shares) > 0 {
			err := forEachSpotifyID(ctx, tx, func(spotifyID string, h spotifyHolder) {
				if tracks := shares[spotifyID]; tracks != nil {
					*tracks = append(*tracks, h.id)
					holders.add(spotifyID, h)
				}
			})
			if err != nil {
				return fmt.Errorf("reading the catalogue's Spotify ids: %w", err)
			}
		}
		byID := func(id string) (TrackID, bool) {
			_, _, ok := tx.Track(id)
			return TrackID(id), ok
		}
		bySpotify := func(sid string) (TrackID, bool) {
			h, ok := holders[sid]
			return h.id, ok
		}
		for i, ref := range refs {
			if i%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			id, _, ok, _ := findRef(ref, byID, bySpotify) // refID passed it: no refusal
			if !ok {
				continue
			}
			out[i] = []TrackID{id}
			if sids[i] == "" {
				continue
			}
			for _, other := range *shares[sids[i]] {
				if other != id {
					out[i] = append(out[i], other)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("resolve tracks: %w", err)
	}
	return out, nil
}

// spotifyForm reports whether id, what refID read in a reference (p its
// refProblem), is a Spotify id for findRef to look up in
// Track.SpotifyID: ParseTrackRef's id, of a Spotify id's form
// (isSpotifyID; a UUID is not).
func spotifyForm(id TrackID, p refProblem) bool { return p == refOK && isSpotifyID(string(id)) }
