package soundalike

import (
	"compress/gzip"
	"encoding/csv"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestSongKeyOnDevTitles checks dedupe's song keys on every title of the
// dev file (SOUNDALIKE_DEV_DATA): a remaster note ("- 2012 Remaster",
// "- Remastered 2009") folds into the song, a live one ("(Live)",
// "- Live …") stays another song.
func TestSongKeyOnDevTitles(t *testing.T) {
	path := os.Getenv("SOUNDALIKE_DEV_DATA")
	if path == "" {
		t.Skip("SOUNDALIKE_DEV_DATA is not set")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(gz).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	name, artist := -1, -1
	for i, h := range rows[0] {
		switch h {
		case "track_name":
			name = i
		case "track_artist":
			artist = i
		}
	}
	if name < 0 || artist < 0 {
		t.Fatalf("%s: no track_name or track_artist column in %v", path, rows[0])
	}
	remaster := regexp.MustCompile(`^(.+) - (\d{4} Remaster|Remastered \d{4})$`)
	live := regexp.MustCompile(`^(.+?)(?: \(Live\)| - Live\b.*)$`)
	folded, kept := 0, 0
	for _, r := range rows[1:] {
		n, a := r[name], r[artist]
		key := func(title string) uint64 { return songKeyOf(&Track{Name: title, Artists: []string{a}}) }
		if m := remaster.FindStringSubmatch(n); m != nil {
			folded++
			if key(n) != key(m[1]) {
				t.Errorf("%q by %s is not the song %q, want one song", n, a, m[1])
			}
		}
		if m := live.FindStringSubmatch(n); m != nil && !strings.Contains(strings.ToLower(n), "remaster") {
			kept++
			if key(n) == key(m[1]) {
				t.Errorf("%q by %s is the song %q, want a song of its own", n, a, m[1])
			}
		}
	}
	t.Logf("%d remastered titles folded, %d live titles kept apart", folded, kept)
	if folded < 20 || kept < 20 {
		t.Errorf("%d remastered and %d live titles in %s, want at least 20 of each", folded, kept, path)
	}
}
