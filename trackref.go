package soundalike

import (
	"errors"
	"fmt"
	"strings"
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
// ErrInvalidQuery. The Engine's lookups look a reference up as a stored id
// before they parse it, so a track whose id has such a form is still found
// by it.
func ParseTrackRef(s string) (TrackID, error) {
	s = strings.TrimSpace(s)
	id, p := parseTrackRef(s)
	if p != refOK {
		return "", &TrackRefError{Reason: p.reason(s)}
	}
	return id, nil
}

// TrackRefError is a track reference that is neither a stored track id
// nor a form ParseTrackRef accepts. It wraps ErrInvalidQuery.
//
// Option names where a query gave the reference, as the Go API spells it,
// and Index its place there: "SearchOptions.Exclude",
// "SearchOptions.Filter.IDs", "Query.Tracks", "RecommendQuery.Positive"
// and "RecommendQuery.Negative" (the Track of the example at Index).
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

// refAt returns err naming its reference as option[i] when it is a
// *TrackRefError, and err unchanged otherwise.
func refAt(err error, option string, i int) error {
	if re, ok := errors.AsType[*TrackRefError](err); ok {
		return &TrackRefError{Option: option, Index: i, Reason: re.Reason}
	}
	return err
}

// refProblem is why a string, spaces trimmed, is no track reference:
// refOK when it is one.
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

// resolve finds the node of a track reference: by id as stored, else by
// the id ParseTrackRef reads in it, else by Spotify id. A reference that is
// neither a stored id nor a form ParseTrackRef accepts is ParseTrackRef's
// *TrackRefError; a well-formed one that names no track wraps ErrNotFound.
func (s *snapshot) resolve(ref TrackID) (uint32, error) {
	if n, ok := s.byID.find(&s.cat, string(ref)); ok {
		return n, nil // an id as stored, even one that looks like a URI
	}
	id, err := ParseTrackRef(string(ref))
	if err != nil {
		return 0, err
	}
	if n, ok := s.byID.find(&s.cat, string(id)); ok {
		return n, nil
	}
	if n, ok := s.bySpotify[string(id)]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("track %q: %w", clip(string(ref)), ErrNotFound)
}

// checkRefs refuses a reference of refs, the list option (Option of a
// TrackRefError) names, that is neither a stored track id nor a form
// ParseTrackRef accepts. A well-formed reference that names no track
// passes: see SearchOptions.Exclude and Filter.IDs.
func (s *snapshot) checkRefs(option string, refs []TrackID) error {
	for i, ref := range refs {
		// The parse first: it allocates nothing and passes nearly every
		// reference, where a lookup hashes the id.
		trimmed := strings.TrimSpace(string(ref))
		if _, p := parseTrackRef(trimmed); p != refOK {
			if _, stored := s.byID.find(&s.cat, string(ref)); !stored {
				return &TrackRefError{Option: option, Index: i, Reason: p.reason(trimmed)}
			}
		}
	}
	return nil
}

// indexSpotifyIDs maps the Spotify ids the decoding workers found, of
// tracks whose id is another system's (Track.SpotifyID set and different
// from ID), to their nodes. Where tracks share a Spotify id, the last node
// keeps it.
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
			if node, ok := s.bySpotify[id]; !ok || node < f.spotifyNodes[i] {
				s.bySpotify[id] = f.spotifyNodes[i]
			}
		}
	}
}
