package soundalike

import (
	"hash/maphash"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The search filters compare tracks by keys computed once per snapshot:
// a song key (normalised name and artists), a feature key (the eleven
// features) and artist keys. They are hashes under a per-process seed and
// never stored.

var hashSeed = maphash.MakeSeed()

// normalizeText folds case, drops punctuation and collapses spaces, so that
// "Don't Start Now" and "dont start now" compare equal.
func normalizeText(s string) string { return string(appendNormalized(nil, s)) }

// appendNormalized appends normalizeText(s) to dst. The keys of a million
// tracks are computed at every load, so it allocates nothing beyond dst
// and reads ASCII a byte at a time; other runes are lowered as
// strings.ToLower lowers them.
func appendNormalized(dst []byte, s string) []byte {
	start := len(dst)
	space := false
	word := func(dst []byte) []byte {
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		return dst
	}
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				dst = append(word(dst), c)
			case 'A' <= c && c <= 'Z':
				dst = append(word(dst), c+'a'-'A')
			case c == ' ', '\t' <= c && c <= '\r', c == '-', c == '_', c == '/':
				space = true
			}
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		r = unicode.ToLower(r)
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			dst = utf8.AppendRune(word(dst), r)
		case unicode.IsSpace(r):
			space = true
		}
	}
	return dst
}

func songKeyOf(t *Track) uint64 {
	var buf [256]byte
	name := appendNormalized(buf[:0], songTitle(t.Name))
	if len(name) == 0 {
		return 0
	}
	var h maphash.Hash
	h.SetSeed(hashSeed)
	h.Write(name)
	for _, a := range t.Artists {
		h.WriteByte(0)
		h.Write(appendNormalized(buf[:0], a))
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
	var buf [128]byte
	n := appendNormalized(buf[:0], a)
	if len(n) == 0 {
		return 0
	}
	return maphash.Bytes(hashSeed, n) | 1
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
