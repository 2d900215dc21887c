package ingest

import "testing"

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
