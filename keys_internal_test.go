package soundalike

import (
	"strings"
	"testing"
	"unicode"
)

// Versions of one recording are one song; live recordings and remixes are
// others. The titles are from the dev file (spotify_songs_dev.csv.gz).
func TestSongKeyFoldsRemasters(t *testing.T) {
	key := func(name, artist string) uint64 { return songKeyOf(&Track{Name: name, Artists: []string{artist}}) }
	same := [][2]string{
		{"Kashmir - 1990 Remaster", "Kashmir - 2012 Remaster"},
		{"Kashmir - 2012 Remaster", "Kashmir"},
		{"Pour Some Sugar On Me - Remastered 2017", "Pour Some Sugar On Me"},
		{"With Or Without You - Remastered", "With Or Without You"},
		{"Hungry Like the Wolf - 2009 Remaster", "Hungry Like the Wolf"},
		{"All Dead, All Dead - Remastered 2011", "All Dead, All Dead"},
		{"Is This Love - 2007 Remastered Version", "Is This Love"},
		{"Hotel California (2013 Remaster)", "Hotel California - 2013 Remaster"},
	}
	for _, p := range same {
		if key(p[0], "A") != key(p[1], "A") {
			t.Errorf("%q and %q are different songs, want one", p[0], p[1])
		}
	}
	different := [][2]string{
		{"Kashmir - Live", "Kashmir"},
		{"Kashmir (Live)", "Kashmir - 2012 Remaster"},
		{"A Sky Full of Stars - Live at the Royal Albert Hall, London", "A Sky Full of Stars"},
		{"With Or Without You - Kage Remix", "With Or Without You"},
		{"Pour Some Sugar On Me - Historia Video Edit", "Pour Some Sugar On Me"},
		{"Pour Some Sugar On Me (2012)", "Pour Some Sugar On Me - Remastered 2017 - Live"},
	}
	for _, p := range different {
		if key(p[0], "A") == key(p[1], "A") {
			t.Errorf("%q and %q are one song, want two", p[0], p[1])
		}
	}
	if key("Kashmir - 1990 Remaster", "Led Zeppelin") == key("Kashmir - 1990 Remaster", "Other") {
		t.Error("one title by two artists is one song, want two")
	}
	for _, name := range []string{"(Remastered)", " - Remastered", "Remaster"} {
		if songTitle(name) == "" {
			t.Errorf("songTitle(%q) is empty", name)
		}
	}
}

// normalizeTextByRunes is normalizeText as first written (strings.ToLower,
// then a rune at a time): the byte-wise version must give the same keys.
func normalizeTextByRunes(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-' || r == '_' || r == '/':
			space = true
		}
	}
	return b.String()
}

func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"", "Don't Start Now", "  AC/DC -- Back_in\tBlack ", "Beyoncé", "ÉMILIE SIMON", "İstanbul", "ǅemal", "a\u00a0b\u0085c", "x\xffy", "Σίσυφος ΟΔΟΣ", "東京 事変", "42nd-Street"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := normalizeText(s), normalizeTextByRunes(s); got != want {
			t.Fatalf("normalizeText(%q) = %q, want %q", s, got, want)
		}
	})
}
