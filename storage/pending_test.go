package storage_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// TestWritesMatchModel runs random puts, deletes, lookups and scans over a
// small id space, in several transactions, against a map: writes are
// buffered and flushed in key order (at commit and before any scan), and
// every read in between must see them.
//
// With a tiny WriteBuffer every few writes are staged in the staging bucket and
// commit (staging.go): the same model must hold, in every round.
func TestWritesMatchModel(t *testing.T) {
	for _, writeBuffer := range []int{0, 2 << 10} {
		t.Run(fmt.Sprintf("WriteBuffer=%d", writeBuffer), func(t *testing.T) {
			db, err := storage.Open(filepath.Join(t.TempDir(), "m.db"), &storage.Options{NoSync: true, WriteBuffer: writeBuffer})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			writesMatchModel(t, db, writeBuffer > 0)
		})
	}
}

func writesMatchModel(t *testing.T, db *storage.DB, staged bool) {
	type track struct {
		node uint32
		data string
	}
	tracks := map[string]track{} // the model
	users := map[string]bool{}
	inter := map[string]int{}
	nextNode := uint32(0)
	rng := rand.New(rand.NewPCG(1, 2))
	id := func() string { return fmt.Sprintf("t%02d", rng.IntN(40)) }

	stagedRounds := 0 // rounds that staged (a round whose first scan came before its first staged flush does not)
	defer func() {
		if staged && stagedRounds < 15 {
			t.Errorf("%d of 30 rounds staged with a tiny WriteBuffer", stagedRounds)
		}
	}()
	for round := range 30 {
		flushes := 0
		err := db.Update(func(tx *storage.Tx) error {
			defer func() { flushes = tx.StagedFlushes() }()
			tx.NewSource()
			seen := map[string]int{} // occurrences in this source
			for range 200 {
				switch op := rng.IntN(10); {
				case op < 4:
					k, data := id(), fmt.Sprintf("d%d", rng.IntN(3))
					node, added, changed, err := tx.PutTrack(k, []byte(data))
					if err != nil {
						return err
					}
					old, had := tracks[k]
					want := track{node: old.node, data: data}
					if !had {
						want.node = nextNode
						nextNode++
					}
					if node != want.node || added != !had || changed != (!had || old.data != data) {
						t.Fatalf("round %d: PutTrack(%s) = %d %v %v, model %+v had=%v", round, k, node, added, changed, old, had)
					}
					tracks[k] = want
				case op < 5:
					k := id()
					ok, err := tx.DeleteTrack(k)
					if err != nil {
						return err
					}
					if _, had := tracks[k]; ok != had {
						t.Fatalf("round %d: DeleteTrack(%s) = %v, model has it: %v", round, k, ok, had)
					}
					delete(tracks, k)
				case op < 7:
					k := id()
					node, data, ok := tx.Track(k)
					want, had := tracks[k]
					if ok != had || (ok && (node != want.node || string(data) != want.data)) {
						t.Fatalf("round %d: Track(%s) = %d %q %v, model %+v %v", round, k, node, data, ok, want, had)
					}
				case op < 9:
					u, k := fmt.Sprintf("u%d", rng.IntN(5)), id()
					added, err := tx.PutInteraction(u, k, "play", 0)
					if _, had := tracks[k]; !had {
						if err == nil {
							t.Fatalf("round %d: PutInteraction on unknown track %s succeeded", round, k)
						}
						continue
					}
					if err != nil {
						return err
					}
					key := u + "/" + k
					seen[key]++
					wantAdded := seen[key] > inter[key]
					if added != wantAdded {
						t.Fatalf("round %d: PutInteraction(%s) added = %v, want %v", round, key, added, wantAdded)
					}
					if wantAdded {
						inter[key] = seen[key]
						users[u] = true
					}
				default:
					n := 0
					err := tx.ForEachTrack(func(e storage.TrackEntry) error {
						want, had := tracks[e.ID]
						if !had || e.Node != want.node || string(e.Data) != want.data {
							t.Fatalf("round %d: scan saw %s node %d %q, model %+v %v", round, e.ID, e.Node, e.Data, want, had)
						}
						n++
						return nil
					})
					if err != nil {
						return err
					}
					if n != len(tracks) {
						t.Fatalf("round %d: scan saw %d tracks, model has %d", round, n, len(tracks))
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if flushes > 0 {
			stagedRounds++
		}
		db.View(func(tx *storage.Tx) error {
			total := 0
			for _, c := range inter {
				total += c
			}
			want := storage.Counts{Tracks: len(tracks), Users: len(users), Interactions: total}
			if got := tx.Counts(); got != want {
				t.Fatalf("round %d: Counts = %+v, model %+v", round, got, want)
			}
			for k, want := range tracks {
				if node, data, ok := tx.Track(k); !ok || node != want.node || string(data) != want.data {
					t.Fatalf("round %d: committed Track(%s) = %d %q %v, model %+v", round, k, node, data, ok, want)
				}
			}
			return nil
		})
	}
}
