package ingest_test

import (
	"slices"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// fakeDB is an in-memory catalogue with the Sink semantics storage has:
// tracks are upserted (features and metadata replaced, genres
// accumulated), and interactions form a multiset: an import adds an
// interaction only when it has seen it more often than the catalogue
// holds it, so re-importing a file adds nothing while two identical rows
// in one file (the dev file lists some playlists under two genres) count
// twice.
type fakeDB struct {
	tracks       map[soundalike.TrackID]*soundalike.Track
	interactions map[interactionKey]int
}

type interactionKey struct {
	user, track, action string
	time                time.Time
}

func newFakeDB() *fakeDB {
	return &fakeDB{tracks: map[soundalike.TrackID]*soundalike.Track{}, interactions: map[interactionKey]int{}}
}

// begin starts one import.
func (db *fakeDB) begin() *fakeSink {
	return &fakeSink{db: db, seen: map[interactionKey]int{}}
}

func (db *fakeDB) users() int {
	u := map[string]bool{}
	for k := range db.interactions {
		u[k.user] = true
	}
	return len(u)
}

func (db *fakeDB) interactionCount() int {
	n := 0
	for _, c := range db.interactions {
		n += c
	}
	return n
}

type fakeSink struct {
	db   *fakeDB
	seen map[interactionKey]int

	failTrack error // returned by PutTrack when set
}

var _ ingest.Sink = (*fakeSink)(nil)

func (s *fakeSink) PutTrack(t *soundalike.Track) (added, changed bool, err error) {
	if s.failTrack != nil {
		return false, false, s.failTrack
	}
	old, ok := s.db.tracks[t.ID]
	n := *t
	n.Artists = slices.Clone(t.Artists)
	if !ok {
		n.Genres = merge(nil, t.Genres)
		n.Subgenres = merge(nil, t.Subgenres)
		s.db.tracks[t.ID] = &n
		return true, true, nil
	}
	n.Genres = merge(old.Genres, t.Genres)
	n.Subgenres = merge(old.Subgenres, t.Subgenres)
	changed = !equalTracks(old, &n)
	s.db.tracks[t.ID] = &n
	return false, changed, nil
}

func merge(have, add []string) []string {
	out := slices.Clone(have)
	for _, g := range add {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

func equalTracks(a, b *soundalike.Track) bool {
	return a.ID == b.ID && a.Features == b.Features && a.Name == b.Name &&
		slices.Equal(a.Artists, b.Artists) && a.Album == b.Album && a.Popularity == b.Popularity &&
		a.DurationMS == b.DurationMS && a.ReleaseDate == b.ReleaseDate &&
		slices.Equal(a.Genres, b.Genres) && slices.Equal(a.Subgenres, b.Subgenres) && a.SpotifyID == b.SpotifyID
}

func (s *fakeSink) PutInteraction(in *soundalike.Interaction) (bool, error) {
	if _, ok := s.db.tracks[in.Track]; !ok {
		return false, soundalike.ErrNotFound
	}
	k := interactionKey{in.User, string(in.Track), in.Action, in.Time}
	s.seen[k]++
	if s.seen[k] <= s.db.interactions[k] {
		return false, nil
	}
	s.db.interactions[k] = s.seen[k]
	return true, nil
}
