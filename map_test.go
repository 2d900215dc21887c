package soundalike_test

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
)

// mapOf is the whole map, by track.
func mapOf(t *testing.T, eng *soundalike.Engine) map[soundalike.TrackID]soundalike.MapPoint {
	t.Helper()
	v, err := eng.Map(t.Context(), soundalike.MapQuery{Sample: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[soundalike.TrackID]soundalike.MapPoint, len(v.Points))
	for _, p := range v.Points {
		if _, dup := m[p.ID]; dup || p.ID == "" {
			t.Fatalf("the map holds %q twice, or a point of no track", p.ID)
		}
		m[p.ID] = p
	}
	if len(m) != v.Total {
		t.Fatalf("the map has %d points, says %d", len(m), v.Total)
	}
	return m
}

// TestMapFollowsReindex: every reindex stores a map of the catalogue; an
// incremental one keeps the places of the tracks it did not re-embed and
// places the new and changed ones; a full one lays it all out afresh.
func TestMapFollowsReindex(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "m.db"), 300)
	before := mapOf(t, eng)
	if len(before) != len(tracks) {
		t.Fatalf("the map has %d points for %d tracks", len(before), len(tracks))
	}

	changed := *tracks[3]
	changed.Features.Energy = 1 - changed.Features.Energy
	added := synth.SmallTrack(rand.New(rand.NewPCG(9, 9)), 5000)
	eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		tx.PutTrack(&changed)
		tx.PutTrack(added)
		_, err := tx.DeleteTrack(tracks[4].ID)
		return err
	})
	if sum, err := eng.Reindex(ctx, nil); err != nil || sum.Full {
		t.Fatalf("incremental reindex: %+v, %v", sum, err)
	}
	after := mapOf(t, eng)
	if len(after) != len(tracks) { // one added, one deleted
		t.Errorf("after the update the map has %d points, want %d", len(after), len(tracks))
	}
	if _, ok := after[tracks[4].ID]; ok {
		t.Errorf("deleted track %s is still on the map", tracks[4].ID)
	}
	if _, ok := after[added.ID]; !ok {
		t.Errorf("added track %s is not on the map", added.ID)
	}
	moved := 0
	for id, p := range before {
		if q, ok := after[id]; ok && id != changed.ID && q != p {
			moved++
		}
	}
	if moved > 0 {
		t.Errorf("%d unchanged tracks moved on an incremental reindex", moved)
	}

	if _, err := eng.Reindex(ctx, &soundalike.ReindexOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	if full := mapOf(t, eng); len(full) != len(after) {
		t.Errorf("after a full reindex the map has %d points, want %d", len(full), len(after))
	}
}

// damagedFixture is a fixture of 300 tracks, closed, with a byte of the
// first chunk flipped in each bucket that chunked returns for a bucket
// under top, then opened read-only.
func damagedFixture(t *testing.T, top string, chunked func(*bolt.Bucket) *bolt.Bucket) *soundalike.Engine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.db")
	eng, _ := fixture(t, path, 300)
	eng.Close()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	flipped := false
	bdb.Update(func(tx *bolt.Tx) error {
		parent := tx.Bucket([]byte(top))
		return parent.ForEachBucket(func(k []byte) error {
			b := chunked(parent.Bucket(k))
			if b == nil {
				return nil
			}
			v := append([]byte(nil), b.Get([]byte{0, 0, 0, 0})...)
			v[100] ^= 0xff
			flipped = true
			return b.Put([]byte{0, 0, 0, 0}, v)
		})
	})
	bdb.Close()
	if !flipped {
		t.Fatalf("no chunk under %s to damage", top)
	}
	eng, err = soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// TestCheckFindsDamagedMap: check verifies the map layout's chunks, and a
// damaged one fails the snapshot's load like any damage to the index.
func TestCheckFindsDamagedMap(t *testing.T) {
	eng := damagedFixture(t, "indexes", func(b *bolt.Bucket) *bolt.Bucket { return b.Bucket([]byte("part:layout")) })
	rep, err := eng.Check(t.Context())
	if err != nil || !strings.Contains(strings.Join(rep.Problems, "; "), "map layout") {
		t.Errorf("check of a damaged map layout: %+v, %v; want the layout named", rep.Problems, err)
	}
	if _, err := eng.Map(t.Context(), soundalike.MapQuery{Sample: 10}); !isIndexDamaged(err) {
		t.Errorf("the map of a damaged layout: %v, want an *IndexDamagedError", err)
	}
}

// rebuildRemedy is a damaged index's remedy: the command for the operator
// of `soundalike serve`, who reads it in the log and on /readyz, and the
// library call for a program's.
const rebuildRemedy = "rebuild it with `soundalike reindex --full` (Engine.Reindex with ReindexOptions.Full)"

// isIndexDamaged reports whether err is a damaged index's error as the
// library gives it: an *IndexDamagedError, still ErrDamaged, whose one
// remedy is the rebuild (not the backup a damaged file's other records
// need), naming the index once.
func isIndexDamaged(err error) bool {
	_, ok := errors.AsType[*soundalike.IndexDamagedError](err)
	return ok && errors.Is(err, soundalike.ErrDamaged) &&
		strings.HasSuffix(err.Error(), ": "+rebuildRemedy) &&
		!strings.Contains(err.Error(), "restore it from a backup") && !strings.Contains(err.Error(), "index: index:")
}

// TestDamagedIndexSaysRebuild: a damaged index chunk fails a query with
// the index's own error and remedy; the zero IndexDamagedError says so
// too.
func TestDamagedIndexSaysRebuild(t *testing.T) {
	eng := damagedFixture(t, "indexes", func(b *bolt.Bucket) *bolt.Bucket { return b.Bucket([]byte("chunks")) })
	_, err := eng.Similar(t.Context(), "x", 5, nil)
	if !isIndexDamaged(err) || strings.Count(err.Error(), eng.Path()) != 1 {
		t.Errorf("similar on a damaged index: %v, want an *IndexDamagedError naming the file once", err)
	}
	if got := (&soundalike.IndexDamagedError{}).Error(); got != "the stored index is damaged: "+rebuildRemedy {
		t.Errorf("the zero IndexDamagedError says %q", got)
	}
}

// TestCheckNamesTheIndexModelDamaged: an index whose model's record is
// damaged is reported as built with a model that cannot be read, not as
// built with one that is not stored.
func TestCheckNamesTheIndexModelDamaged(t *testing.T) {
	eng := damagedFixture(t, "models", func(b *bolt.Bucket) *bolt.Bucket { return b.Bucket([]byte("blob")) })
	rep, err := eng.Check(t.Context())
	all := strings.Join(rep.Problems, "; ")
	if err != nil || !strings.Contains(all, "whose record cannot be read") || strings.Contains(all, "not stored") {
		t.Errorf("check of a damaged model: %q, %v; want the index's model named as unreadable, not missing", rep.Problems, err)
	}
}
