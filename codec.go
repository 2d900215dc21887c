package soundalike

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/audotics/soundalike/storage"
)

// trackCodecVersion is the first byte of every encoded track.
const trackCodecVersion = 1

// encodeTrack appends the binary encoding of t to dst: a version byte, the
// nine float features (float64 bits), key and mode, then the metadata as
// length-prefixed strings and varints. It round-trips every field exactly.
func encodeTrack(dst []byte, t *Track) []byte {
	dst = append(dst, trackCodecVersion)
	f := &t.Features
	for _, v := range [...]float64{f.Acousticness, f.Danceability, f.Energy, f.Instrumentalness,
		f.Liveness, f.Loudness, f.Speechiness, f.Tempo, f.Valence} {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	dst = binary.AppendVarint(dst, int64(f.Key))
	dst = binary.AppendVarint(dst, int64(f.Mode))
	dst = appendString(dst, t.Name)
	dst = appendStrings(dst, t.Artists)
	dst = appendString(dst, t.Album)
	dst = binary.AppendVarint(dst, int64(t.Popularity))
	dst = binary.AppendVarint(dst, int64(t.DurationMS))
	dst = appendString(dst, t.ReleaseDate)
	dst = appendStrings(dst, t.Genres)
	dst = appendStrings(dst, t.Subgenres)
	dst = appendString(dst, t.SpotifyID)
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

// errCorruptTrack is a track record whose fields do not decode (cut
// short, a length past its end, bytes after its last field): damage, as
// storage's own checks find it. ImportTx.PutTrack replaces such a record
// rather than merge with it.
var errCorruptTrack = corruptTrack("its fields do not decode")

// corruptTrack returns the error of a track record that does not decode,
// for the reason why: one sentence, the repair last.
func corruptTrack(why string) error {
	return fmt.Errorf("%w: corrupt track record (%s); importing the track again replaces it", storage.ErrDamaged, why)
}

type decoder struct {
	b   []byte
	err error
	// alias makes str return strings that point into b rather than
	// copies: for bytes that never change (the catalogue's, catalog.go).
	alias bool
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorruptTrack
	}
}

func (d *decoder) float() float64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) varint() int {
	v, n := binary.Varint(d.b)
	if n <= 0 || v > math.MaxInt32 || v < math.MinInt32 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *decoder) uvarint(max uint64) int {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > max {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *decoder) str() string {
	n := d.uvarint(uint64(len(d.b)))
	if d.err != nil || n > len(d.b) {
		d.fail()
		return ""
	}
	var s string
	switch {
	case d.alias && n > 0:
		s = unsafe.String(&d.b[0], n)
	default:
		s = string(d.b[:n])
	}
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.uvarint(uint64(len(d.b)))
	if d.err != nil || n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str()
	}
	return ss
}

// decodeTrack decodes what encodeTrack wrote into t (whose ID the caller
// sets). It never panics on corrupt input.
func decodeTrack(b []byte, t *Track) error {
	return decodeTrackWith(decoder{}, b, t)
}

// decodeTrackAliased is decodeTrack with t's strings pointing into b, which
// must never change.
func decodeTrackAliased(b []byte, t *Track) error {
	return decodeTrackWith(decoder{alias: true}, b, t)
}

func decodeTrackWith(d decoder, b []byte, t *Track) error {
	if len(b) == 0 {
		return errCorruptTrack
	}
	if b[0] != trackCodecVersion {
		// The file's schema version says which record version a track
		// must have.
		return corruptTrack(fmt.Sprintf("record version %d, where the schema has %d", b[0], trackCodecVersion))
	}
	d.b = b[1:]
	f := &t.Features
	f.Acousticness, f.Danceability, f.Energy, f.Instrumentalness = d.float(), d.float(), d.float(), d.float()
	f.Liveness, f.Loudness, f.Speechiness, f.Tempo, f.Valence = d.float(), d.float(), d.float(), d.float(), d.float()
	f.Key, f.Mode = d.varint(), d.varint()
	t.Name = d.str()
	t.Artists = d.strs()
	t.Album = d.str()
	t.Popularity = d.varint()
	t.DurationMS = d.varint()
	t.ReleaseDate = d.str()
	t.Genres = d.strs()
	t.Subgenres = d.strs()
	t.SpotifyID = d.str()
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorruptTrack
	}
	return d.err
}
