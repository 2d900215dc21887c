package soundalike

import (
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
// another site, an empty string) is an error wrapping ErrInvalidQuery.
func ParseTrackRef(s string) (TrackID, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fmt.Errorf("%w: empty track reference: give %s", ErrInvalidQuery, TrackRefForms)
	case len(s) > MaxKeyLen:
		return "", fmt.Errorf("%w: track reference of %d bytes: ids are at most %d", ErrInvalidQuery, len(s), MaxKeyLen)
	case strings.IndexByte(s, 0) >= 0:
		return "", fmt.Errorf("%w: track reference %q holds a NUL byte", ErrInvalidQuery, s)
	}
	if rest, ok := cutPrefixFold(s, "spotify:"); ok {
		id, ok := cutPrefixFold(rest, "track:")
		if !ok || !isSpotifyID(id) {
			return "", fmt.Errorf("%w: %q is not a Spotify track URI (spotify:track:ID): give %s", ErrInvalidQuery, s, TrackRefForms)
		}
		return TrackID(id), nil
	}
	if link, ok := trimScheme(s); ok || strings.HasPrefix(strings.ToLower(s), "open.spotify.com/") {
		id, ok := spotifyLinkID(link)
		if !ok {
			return "", fmt.Errorf("%w: %q is not a Spotify track link (https://open.spotify.com/track/ID): give %s", ErrInvalidQuery, s, TrackRefForms)
		}
		return TrackID(id), nil
	}
	return TrackID(s), nil
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
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// resolve finds the node of a track reference: by id, else by Spotify id.
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
