package soundalike_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// devEngine imports the dev file (SOUNDALIKE_DEV_DATA) into a new database
// and returns its path; it skips without the file.
func devDB(tb testing.TB) string {
	tb.Helper()
	data := os.Getenv("SOUNDALIKE_DEV_DATA")
	if data == "" {
		tb.Skip("SOUNDALIKE_DEV_DATA is not set")
	}
	path := filepath.Join(tb.TempDir(), "dev.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer eng.Close()
	src, err := ingest.Open(data)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	err = eng.Import(tb.Context(), func(tx *soundalike.ImportTx) error {
		_, err := ingest.Run(tb.Context(), src, tx, nil)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkReloadDev is a serving process's load of the dev catalogue
// (tracks decoded and hashed, the track search index built).
func BenchmarkReloadDev(b *testing.B) {
	path := devDB(b)
	for b.Loop() {
		eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Reload(b.Context()); err != nil {
			b.Fatal(err)
		}
		eng.Close()
	}
}

// BenchmarkSearchTracks searches the dev catalogue for what a user types:
// the first words of a real title and its artist, the last word cut short,
// and single prefixes of one to three letters.
func BenchmarkSearchTracks(b *testing.B) {
	path := devDB(b)
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	tracks, err := eng.Tracks(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var typed, prefixes []string
	usable := func(q string) bool { _, err := eng.SearchTracks(b.Context(), q, 10); return err == nil }
	for len(typed) < 1000 {
		t := tracks[rng.IntN(len(tracks))]
		words := strings.Fields(t.Name)
		if len(t.Artists) > 0 {
			words = append(words, strings.Fields(t.Artists[0])...)
		}
		words = words[:min(len(words), 4)]
		last := words[len(words)-1]
		words[len(words)-1] = last[:max(1, len(last)*2/3)]
		q, p := strings.Join(words, " "), last[:min(len(last), 1+rng.IntN(3))]
		if usable(q) && usable(p) {
			typed, prefixes = append(typed, q), append(prefixes, p)
		}
	}
	for _, bc := range []struct {
		name    string
		queries []string
	}{{"typed", typed}, {"prefix", prefixes}} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := eng.SearchTracks(b.Context(), bc.queries[i%len(bc.queries)], 10); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
