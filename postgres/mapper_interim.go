package postgres

// INTERIM: a minimal column mapper so that the source can be built and
// tested against a real server before ingest.NewMapper lands on main. It
// follows the column names of the foundation issue (#2). It is replaced by
// ingest.NewMapper in mapper.go as soon as that exists; nothing else in the
// package depends on it.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

type interimMapper struct {
	source           string
	interactionsOnly bool
	id, user, action int
	ts, name, album  int
	artists, pop     int
	features         [soundalike.NumFeatures]int
}

func normalizeColumn(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(s)
}

func newInterimMapper(source string, columns []string, interactionsOnly bool) (rowMapper, error) {
	idx := map[string]int{}
	for i, c := range columns {
		n := normalizeColumn(c)
		if _, dup := idx[n]; !dup {
			idx[n] = i
		}
	}
	find := func(names ...string) int {
		for _, n := range names {
			if i, ok := idx[n]; ok {
				return i
			}
		}
		return -1
	}
	m := &interimMapper{source: source, interactionsOnly: interactionsOnly}
	m.id = find("trackid", "id", "spotifyid", "uri")
	m.user = find("userid", "user", "playlistid")
	m.action = find("action", "type")
	m.ts = find("timestamp", "time")
	m.name = find("trackname", "name")
	m.album = find("trackalbumname", "album")
	m.artists = find("trackartist", "artists", "artist")
	m.pop = find("trackpopularity", "popularity")
	var missing []string
	if m.id < 0 {
		missing = append(missing, "a track id (track_id, id, spotify_id or uri)")
	}
	if interactionsOnly {
		if m.user < 0 {
			missing = append(missing, "a user (user_id, userId or playlist_id)")
		}
	} else {
		var feats []string
		for i, f := range soundalike.FeatureNames {
			m.features[i] = find(f)
			if m.features[i] < 0 {
				feats = append(feats, f)
			}
		}
		if len(feats) > 0 {
			missing = append(missing, "features "+strings.Join(feats, ", "))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: no column for %s (columns: %s)", source, strings.Join(missing, "; "), strings.Join(columns, ", "))
	}
	return m, nil
}

func canonicalAction(a string) string {
	switch normalizeColumn(a) {
	case "play":
		return soundalike.ActionPlay
	case "like":
		return soundalike.ActionLike
	case "addtoplaylist":
		return soundalike.ActionAddToPlaylist
	case "skip":
		return soundalike.ActionSkip
	}
	return a
}

func (m *interimMapper) Map(line int, v []string) (ingest.Record, error) {
	rec := ingest.Record{Source: m.source, Line: line}
	bad := func(format string, a ...any) (ingest.Record, error) {
		return ingest.Record{}, &ingest.RowError{File: m.source, Line: line, Reason: fmt.Sprintf(format, a...)}
	}
	id := strings.TrimSpace(v[m.id])
	if id == "" {
		return bad("missing track id")
	}
	if !m.interactionsOnly {
		t := &soundalike.Track{ID: soundalike.TrackID(id)}
		for i, c := range m.features {
			s := strings.TrimSpace(v[c])
			if s == "" {
				return bad("missing %s", soundalike.FeatureNames[i])
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return bad("%s: %q is not a number", soundalike.FeatureNames[i], s)
			}
			if err := soundalike.ValidateFeature(i, f); err != nil {
				return bad("%v", err)
			}
			t.Features.Set(i, f)
		}
		if m.name >= 0 {
			t.Name = v[m.name]
		}
		if m.album >= 0 {
			t.Album = v[m.album]
		}
		if m.artists >= 0 && v[m.artists] != "" {
			t.Artists = []string{v[m.artists]}
		}
		if m.pop >= 0 && strings.TrimSpace(v[m.pop]) != "" {
			p, err := strconv.Atoi(strings.TrimSpace(v[m.pop]))
			if err != nil {
				return bad("popularity: %q is not a whole number", v[m.pop])
			}
			t.Popularity = p
		}
		if err := t.Validate(); err != nil {
			return bad("%v", err)
		}
		rec.Track = t
	}
	if m.user >= 0 {
		in := &soundalike.Interaction{Track: soundalike.TrackID(id), Action: soundalike.ActionPlay}
		in.User = strings.TrimSpace(v[m.user])
		if in.User == "" {
			return bad("missing user")
		}
		if m.action >= 0 && strings.TrimSpace(v[m.action]) != "" {
			in.Action = canonicalAction(strings.TrimSpace(v[m.action]))
		}
		if m.ts >= 0 && v[m.ts] != "" {
			t, err := time.Parse(time.RFC3339Nano, v[m.ts])
			if err != nil {
				return bad("timestamp: %q is not an RFC 3339 time", v[m.ts])
			}
			in.Time = t
		}
		rec.Interaction = in
	}
	return rec, nil
}
