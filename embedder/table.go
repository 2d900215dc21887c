package embedder

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Table is a learned embedding table for one kind of token (a track's
// artists, its album, the words and character 3-grams of its name). Each
// Token input names its table; the table's encoded columns are the mean of
// the rows of the track's present tokens (all zero when it has none).
//
// A token arrives as its id (see TokenID), an integer below 2^24 carried
// exactly in a float32. Its row is its position in Vocab when the id is
// there, else len(Vocab) + bucket(id, Seed) mod Buckets: rare and unseen
// tokens share hashed rows, so a new artist still gets a vector.
//
// A row has Dim columns that feed the first layer and OutDim columns (0 or
// the model's output dimension) that are added to the last layer's output
// before the normalisation: a direct path from, say, the artist to the
// embedding, so that tracks of one artist can sit close together whatever
// their audio.
type Table struct {
	Name    string
	Dim     int       // columns into the first layer
	OutDim  int       // columns added to the output, 0 or the model's Dim()
	Vocab   []uint32  // ids with their own row, strictly increasing
	Buckets int       // hashed rows after the vocabulary's, ≥ 1
	Seed    uint32    // mixes ids into buckets
	W       []float32 // (len(Vocab)+Buckets) rows of Dim+OutDim, row-major
}

// RowWidth is Dim + OutDim, the length of a row of W.
func (t *Table) RowWidth() int { return t.Dim + t.OutDim }

// Rows is the number of rows of the table.
func (t *Table) Rows() int { return len(t.Vocab) + t.Buckets }

// Row returns the row of token id.
func (t *Table) Row(id uint32) int {
	if i, ok := slices.BinarySearch(t.Vocab, id); ok {
		return i
	}
	return len(t.Vocab) + int(bucket(id, t.Seed)%uint32(t.Buckets))
}

// bucket mixes id with seed (the murmur3 finaliser), so that ids that
// differ in a few bits land in unrelated buckets.
func bucket(id, seed uint32) uint32 {
	h := id ^ seed
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func (t *Table) validate() error {
	if t.Name == "" || len(t.Name) > maxNameLen {
		return fmt.Errorf("table name of %d bytes, want 1..%d", len(t.Name), maxNameLen)
	}
	if t.Dim < 1 || t.Dim > maxWidth || t.OutDim < 0 || t.OutDim > maxWidth {
		return fmt.Errorf("table %s: dimensions %d and %d, want 1..%d and 0..%d", t.Name, t.Dim, t.OutDim, maxWidth, maxWidth)
	}
	if t.Buckets < 1 || t.Buckets > maxTableRows {
		return fmt.Errorf("table %s: %d buckets, want 1..%d", t.Name, t.Buckets, maxTableRows)
	}
	if len(t.Vocab) > maxTableRows {
		return fmt.Errorf("table %s: vocabulary of %d, at most %d", t.Name, len(t.Vocab), maxTableRows)
	}
	for i, id := range t.Vocab {
		if id >= 1<<24 {
			return fmt.Errorf("table %s: vocabulary id %d is not below 2^24", t.Name, id)
		}
		if i > 0 && id <= t.Vocab[i-1] {
			return fmt.Errorf("table %s: vocabulary ids are not strictly increasing at %d", t.Name, i)
		}
	}
	if len(t.W) != t.Rows()*t.RowWidth() {
		return fmt.Errorf("table %s: %d weights, want %d rows of %d", t.Name, len(t.W), t.Rows(), t.RowWidth())
	}
	for _, v := range t.W {
		if !finite(v) {
			return fmt.Errorf("table %s has a non-finite weight", t.Name)
		}
	}
	return nil
}

func (t *Table) clone() Table {
	c := *t
	c.Vocab = slices.Clone(t.Vocab)
	c.W = slices.Clone(t.W)
	return c
}

// TokenizerVersion names the rules of TokenID, Key and NameTokens. A model
// file records it, and a reader refuses a model made with other rules,
// whose token ids would find the wrong rows.
const TokenizerVersion = 1

// TokenID is the 24-bit id of a token: FNV-1a (32 bits) of kind and s,
// folded to 24 bits so that a float32 carries it exactly. kind separates
// the spaces of different token kinds (a word and a 3-gram that are spelt
// alike get different ids).
func TokenID(kind byte, s string) uint32 {
	h := uint32(2166136261)
	h = (h ^ uint32(kind)) * 16777619
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return (h>>24 ^ h) & (1<<24 - 1)
}

// Token kinds of TokenID.
const (
	KindArtist = 'a'
	KindAlbum  = 'l'
	KindWord   = 'w'
	KindGram   = 'g'
)

// Key is the form of an artist or album name that TokenID hashes: lower
// case, with runs of white space made one space and trimmed.
func Key(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// NameTokens appends to dst[:0] the token ids of a track name, at most max:
// first each word (a run of letters and digits, lower case), then the
// character 3-grams of each word marked at both ends ("<ab", "abc", "bc>").
// Words carry "remix", "live", "feat"; 3-grams carry the language and
// spellings of names never seen.
func NameTokens(s string, max int, dst []uint32) []uint32 {
	dst = dst[:0]
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for _, w := range words {
		if len(dst) == max {
			return dst
		}
		dst = append(dst, TokenID(KindWord, w))
	}
	var buf [3 * utf8.UTFMax]byte
	for _, w := range words {
		rs := make([]rune, 0, len(w)+2)
		rs = append(append(append(rs, '<'), []rune(w)...), '>')
		for i := 0; i+3 <= len(rs); i++ {
			if len(dst) == max {
				return dst
			}
			b := buf[:0]
			for _, r := range rs[i : i+3] {
				b = utf8.AppendRune(b, r)
			}
			dst = append(dst, TokenID(KindGram, string(b)))
		}
	}
	return dst
}
