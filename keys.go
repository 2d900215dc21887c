package soundalike

import (
	"hash/maphash"
	"math"
	"strings"
	"unicode"
)

// The search filters compare tracks by keys computed once per snapshot:
// a song key (normalised name and artists), a feature key (the eleven
// features) and artist keys. They are hashes under a per-process seed and
// never stored.

var hashSeed = maphash.MakeSeed()

// normalizeText folds case, drops punctuation and collapses spaces, so that
// "Don't Start Now" and "dont start now" compare equal.
func normalizeText(s string) string {
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

func songKeyOf(t *Track) uint64 {
	name := normalizeText(songTitle(t.Name))
	if name == "" {
		return 0
	}
	var h maphash.Hash
	h.SetSeed(hashSeed)
	h.WriteString(name)
	for _, a := range t.Artists {
		h.WriteByte(0)
		h.WriteString(normalizeText(a))
	}
	return h.Sum64() | 1 // never 0
}

// songTitle drops a trailing remaster note from a track's name, so that
// the versions of one recording are one song: "Kashmir - 1990 Remaster",
// "Kashmir - 2012 Remaster", "Pour Some Sugar On Me - Remastered 2017",
// "Queen (2011 Remaster)". A note that also says live ("- Live at …",
// "(Live)") is another recording and stays.
func songTitle(name string) string {
	trimmed := strings.TrimSpace(name)
	var note, base string
	switch {
	case strings.HasSuffix(trimmed, ")") || strings.HasSuffix(trimmed, "]"):
		open := "("
		if strings.HasSuffix(trimmed, "]") {
			open = "["
		}
		i := strings.LastIndex(trimmed, open)
		if i <= 0 {
			return name
		}
		base, note = trimmed[:i], trimmed[i:]
	default:
		i := strings.LastIndex(trimmed, " - ")
		if i <= 0 {
			return name
		}
		base, note = trimmed[:i], trimmed[i:]
	}
	lower := strings.ToLower(note)
	if !strings.Contains(lower, "remaster") || strings.Contains(lower, "live") || strings.TrimSpace(base) == "" {
		return name
	}
	return base
}

// artistKeyOf hashes a normalised artist name; 0 for an empty one.
func artistKeyOf(a string) uint64 {
	n := normalizeText(a)
	if n == "" {
		return 0
	}
	return maphash.String(hashSeed, n) | 1
}

func featKeyOf(f *Features) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	var buf [8]byte
	for _, v := range f.Values() {
		bits := math.Float64bits(v)
		for i := range buf {
			buf[i] = byte(bits >> (8 * i))
		}
		h.Write(buf[:])
	}
	return h.Sum64() | 1 // never 0: 0 marks a node without a track
}
