package ingest

import (
	"strings"
	"testing"

	"github.com/audotics/soundalike"
)

// An id cell in any form a query takes names the track a query by it
// would: a Spotify URI or link, in any of the forms soundalike.
// ParseTrackRef reads, is stored as the bare id.
func TestTrackIDCell(t *testing.T) {
	const id = "4uLU6hMCjMI75M1A2tKUQC"
	for cell, want := range map[string]string{
		" " + id + " ":        id,
		"spotify:track:" + id: id,
		"https://open.spotify.com/track/" + id + "?si=x": id,
		"https://open.spotify.com/intl-de/track/" + id:   id,
		"uuid-1":              "uuid-1",
		"spotify:album:" + id: "spotify:album:" + id,
	} {
		if got := trackID(cell); got != want {
			t.Errorf("trackID(%q) = %q, want %q", cell, got, want)
		}
	}
}

// An interaction's track that names no catalogue track is rejected
// saying what a reference must be when it has no track's form, and that
// the track was never imported, or deleted, when it has.
func TestNotInCatalogue(t *testing.T) {
	for ref, want := range map[soundalike.TrackID]string{
		"spotify:album:4uLU6hMCjMI75M1A2tKUQC": `track "spotify:album:4uLU6hMCjMI75M1A2tKUQC" is not a Spotify track URI (spotify:track:ID): give a track id`,
		"4uLU6hMCjMI75M1A2tKUQC":               `track "4uLU6hMCjMI75M1A2tKUQC" is not in the catalogue (never imported, or deleted since): import its features first`,
	} {
		if got := notInCatalogue(ref); !strings.HasPrefix(got, want) {
			t.Errorf("notInCatalogue(%q) = %q, want it to begin %q", ref, got, want)
		}
	}
}
