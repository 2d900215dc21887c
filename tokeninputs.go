package soundalike

import (
	"math"
	"strconv"
	"strings"

	"github.com/audotics/soundalike/embedder"
)

// Token inputs: a track's metadata as token ids (embedder.TokenID), one
// raw input per slot, NaN for an empty slot. A model averages the learned
// rows of a field's present tokens. The playlist columns (Genres,
// Subgenres) are never an input: they describe playlists, and they are
// what evaluation measures.
const (
	// InputArtistPrefix + "1".."MaxArtistInputs": the track's artists in
	// order, as embedder.Key of the name.
	InputArtistPrefix = "artist_"
	// InputAlbum is the album name, as embedder.Key of it.
	InputAlbum = "album"
	// InputNameTokenPrefix + "1".."MaxNameTokenInputs": the track name's
	// tokens (embedder.NameTokens), words first, then 3-grams.
	InputNameTokenPrefix = "name_token_"

	MaxArtistInputs    = 8
	MaxNameTokenInputs = 64
)

// TokenInputNames returns the raw input names of the first n slots of the
// token input with the given prefix: prefix+"1" … prefix+n; none when n
// is not positive.
func TokenInputNames(prefix string, n int) []string {
	out := make([]string, max(n, 0))
	for i := range out {
		out[i] = prefix + strconv.Itoa(i+1)
	}
	return out
}

// tokenInputs computes a track's name tokens once for all the name-token
// slots of one RawInputs call.
type tokenInputs struct {
	name []uint32
	done bool
}

// value returns the raw value of token input n, and false when n is not a
// token input name.
func (ti *tokenInputs) value(t *Track, n string) (float32, bool) {
	nan := float32(math.NaN())
	switch {
	case n == InputAlbum:
		if k := embedder.Key(t.Album); k != "" {
			return float32(embedder.TokenID(embedder.KindAlbum, k)), true
		}
		return nan, true
	case strings.HasPrefix(n, InputArtistPrefix):
		i, ok := slot(n[len(InputArtistPrefix):], MaxArtistInputs)
		if !ok {
			return 0, false
		}
		if i < len(t.Artists) {
			if k := embedder.Key(t.Artists[i]); k != "" {
				return float32(embedder.TokenID(embedder.KindArtist, k)), true
			}
		}
		return nan, true
	case strings.HasPrefix(n, InputNameTokenPrefix):
		i, ok := slot(n[len(InputNameTokenPrefix):], MaxNameTokenInputs)
		if !ok {
			return 0, false
		}
		if !ti.done {
			ti.name = embedder.NameTokens(t.Name, MaxNameTokenInputs, ti.name)
			ti.done = true
		}
		if i < len(ti.name) {
			return float32(ti.name[i]), true
		}
		return nan, true
	}
	return 0, false
}

// slot parses a 1-based slot number up to max and returns it 0-based.
func slot(s string, max int) (int, bool) {
	i, err := strconv.Atoi(s)
	if err != nil || i < 1 || i > max || s != strconv.Itoa(i) {
		return 0, false
	}
	return i - 1, true
}
