package soundalike_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/storage"
)

// Given a file whose track record names a node beyond the catalogue, or
// another track's node, under an id of raw bytes (as a disk error leaves
// it), when the engine loads it, expect storage.ErrDamaged naming the
// file once and the remedy, with the id escaped: no raw non-UTF-8 byte.
func TestTrackNodeDamageIsErrDamaged(t *testing.T) {
	for _, tc := range []struct {
		name string
		node func(nodeOf map[string]uint32) uint32
		want string
	}{
		{"node beyond the catalogue", func(map[string]uint32) uint32 { return 0xdeadbeef }, "beyond the catalogue's"},
		{"another track's node", func(nodeOf map[string]uint32) uint32 { return nodeOf["b"] }, `is track "b"'s too`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "n.db")
			eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			putTracks(t, eng, track("a", 0.5, "pop"), track("b", 0.6, "rock"))
			eng.Close()
			dbdamage.MoveTrack(t, path, "a", "\xff\xfe\xbe\xef", tc.node)

			eng, err = soundalike.Open(path, &soundalike.Options{NoSync: true})
			if err == nil {
				defer eng.Close()
				_, err = eng.Reload(t.Context())
			}
			if !errors.Is(err, storage.ErrDamaged) || strings.Count(err.Error(), path) != 1 ||
				!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `\xff\xfe`) {
				t.Errorf("loading = %v, want storage.ErrDamaged naming %s once, the escaped id and %q", err, path, tc.want)
			}
			if err != nil && !utf8.ValidString(err.Error()) {
				t.Errorf("error %q holds raw non-UTF-8 bytes", err)
			}
		})
	}
}
