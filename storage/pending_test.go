package storage_test

import (
	"errors"
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

// model is what the database must hold: TestWritesMatchModel's oracle.
type model struct {
	t        *testing.T
	rng      *rand.Rand
	tracks   map[string]modelTrack
	users    map[string]bool
	inter    map[string]int // user/track → stored count
	seen     map[string]int // occurrences in the current source
	nextNode uint32
	round    int
}

type modelTrack struct {
	node uint32
	data string
}

func (m *model) id() string { return fmt.Sprintf("t%02d", m.rng.IntN(40)) }

func writesMatchModel(t *testing.T, db *storage.DB, staged bool) {
	m := &model{t: t, rng: rand.New(rand.NewPCG(1, 2)), tracks: map[string]modelTrack{}, users: map[string]bool{}, inter: map[string]int{}}
	stagedRounds := 0 // rounds that staged (a round whose first scan came before its first staged flush does not)
	for m.round = range 30 {
		flushes := 0
		err := db.Update(func(tx *storage.Tx) error {
			defer func() { flushes = tx.StagedFlushes() }()
			tx.BeginSource()
			m.seen = map[string]int{}
			for range 200 {
				if err := m.step(tx); err != nil {
					return err
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
		db.View(m.checkCommitted)
	}
	if staged && stagedRounds < 15 {
		t.Errorf("%d of 30 rounds staged with a tiny WriteBuffer", stagedRounds)
	}
}

// step runs one random operation in tx and checks it against the model.
func (m *model) step(tx *storage.Tx) error {
	switch op := m.rng.IntN(10); {
	case op < 4:
		return m.putTrack(tx)
	case op < 5:
		return m.deleteTrack(tx)
	case op < 7:
		m.lookup(tx)
		return nil
	case op < 9:
		return m.putInteraction(tx)
	default:
		return m.scan(tx)
	}
}

func (m *model) putTrack(tx *storage.Tx) error {
	k, data := m.id(), fmt.Sprintf("d%d", m.rng.IntN(3))
	node, added, changed, err := tx.PutTrack(k, []byte(data))
	if err != nil {
		return err
	}
	old, had := m.tracks[k]
	want := modelTrack{node: old.node, data: data}
	if !had {
		want.node = m.nextNode
		m.nextNode++
	}
	if node != want.node || added != !had || changed != (!had || old.data != data) {
		m.t.Fatalf("round %d: PutTrack(%s) = %d %v %v, model %+v had=%v", m.round, k, node, added, changed, old, had)
	}
	m.tracks[k] = want
	return nil
}

func (m *model) deleteTrack(tx *storage.Tx) error {
	k := m.id()
	ok, err := tx.DeleteTrack(k)
	if err != nil {
		return err
	}
	if _, had := m.tracks[k]; ok != had {
		m.t.Fatalf("round %d: DeleteTrack(%s) = %v, model has it: %v", m.round, k, ok, had)
	}
	delete(m.tracks, k)
	return nil
}

func (m *model) lookup(tx *storage.Tx) {
	k := m.id()
	node, data, ok := tx.Track(k)
	want, had := m.tracks[k]
	if ok != had || (ok && (node != want.node || string(data) != want.data)) {
		m.t.Fatalf("round %d: Track(%s) = %d %q %v, model %+v %v", m.round, k, node, data, ok, want, had)
	}
}

func (m *model) putInteraction(tx *storage.Tx) error {
	u, k := fmt.Sprintf("u%d", m.rng.IntN(5)), m.id()
	added, err := tx.PutInteraction(u, k, "play", 0)
	if _, had := m.tracks[k]; !had {
		if !errors.Is(err, storage.ErrNotFound) {
			m.t.Fatalf("round %d: PutInteraction on unknown track %s: %v, want ErrNotFound", m.round, k, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	key := u + "/" + k
	m.seen[key]++
	wantAdded := m.seen[key] > m.inter[key]
	if added != wantAdded {
		m.t.Fatalf("round %d: PutInteraction(%s) added = %v, want %v", m.round, key, added, wantAdded)
	}
	if wantAdded {
		m.inter[key] = m.seen[key]
		m.users[u] = true
	}
	return nil
}

func (m *model) scan(tx *storage.Tx) error {
	n := 0
	err := tx.ForEachTrack(func(e storage.TrackEntry) error {
		want, had := m.tracks[e.ID]
		if !had || e.Node != want.node || string(e.Data) != want.data {
			m.t.Fatalf("round %d: scan saw %s node %d %q, model %+v %v", m.round, e.ID, e.Node, e.Data, want, had)
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(m.tracks) {
		m.t.Fatalf("round %d: scan saw %d tracks, model has %d", m.round, n, len(m.tracks))
	}
	return nil
}

// checkCommitted checks what a round committed.
func (m *model) checkCommitted(tx *storage.Tx) error {
	total := 0
	for _, c := range m.inter {
		total += c
	}
	want := storage.Counts{Tracks: len(m.tracks), Users: len(m.users), Interactions: total}
	if got := tx.Counts(); got != want {
		m.t.Fatalf("round %d: Counts = %+v, model %+v", m.round, got, want)
	}
	for k, want := range m.tracks {
		if node, data, ok := tx.Track(k); !ok || node != want.node || string(data) != want.data {
			m.t.Fatalf("round %d: committed Track(%s) = %d %q %v, model %+v", m.round, k, node, data, ok, want)
		}
	}
	return nil
}
