package soundalike

import "testing"

// findRef asks bySpotify (which, in an import, reads the whole catalogue
// the first time) only for a reference of a Spotify id's form, and byID
// once for a reference that is its own id.
func TestFindRefAsksOnlyWhatCanMatch(t *testing.T) {
	for _, c := range []struct {
		ref               TrackID
		byIDs, bySpotifys int
	}{
		{"a0000000-0000-4000-8000-000000000003", 1, 0}, // a UUID: no Spotify id
		{"4uLU6hMCjMI75M1A2tKUQC", 1, 1},
		{"spotify:track:4uLU6hMCjMI75M1A2tKUQC", 2, 1}, // as given, then its id
	} {
		var byIDs, bySpotifys int
		_, _, ok, err := findRef(c.ref,
			func(string) (int, bool) { byIDs++; return 0, false },
			func(string) (int, bool) { bySpotifys++; return 0, false })
		if ok || err != nil || byIDs != c.byIDs || bySpotifys != c.bySpotifys {
			t.Errorf("findRef(%q): ok %v, err %v, byID asked %d times, bySpotify %d; want %d and %d",
				c.ref, ok, err, byIDs, bySpotifys, c.byIDs, c.bySpotifys)
		}
	}
}
