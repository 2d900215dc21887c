package soundalike_test

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	bolt "go.etcd.io/bbolt"
)

// putRaw writes key = value into bucket, below the engine, as a disk error
// or a bug in another writer would.
func putRaw(t *testing.T, path, bucket string, key, value []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bucket)).Put(key, value) }); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryUnknownTimeIsOldest: an interaction of unknown time (stored
// as 0, the zero time) comes after every known one, those before 1970
// (stored negative) too, as the file's history did; so RecommendUser
// decays from the newest known time.
func TestHistoryUnknownTimeIsOldest(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "h.db"), 10)
	old := time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)
	importInteractions(t, eng, []soundalike.Interaction{
		{User: "u", Track: tracks[0].ID, Action: soundalike.ActionPlay}, // time unknown
		{User: "u", Track: tracks[1].ID, Action: soundalike.ActionLike, Time: old},
		{User: "u", Track: tracks[2].ID, Action: soundalike.ActionLike, Time: old.Add(-time.Hour)},
	})
	got, err := eng.UserHistory(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	var order []soundalike.TrackID
	for _, in := range got {
		order = append(order, in.Track)
	}
	if want := []soundalike.TrackID{tracks[1].ID, tracks[2].ID, tracks[0].ID}; !slices.Equal(order, want) {
		t.Errorf("UserHistory(u) tracks = %v, want %v (1969, an hour before, then the unknown time)", order, want)
	}
}

// TestHistoriesWithDamagedCounters: the interaction and user counters
// only size the load's arrays; counters a damaged file holds (past
// MaxInt64, negative as an int) neither fail the load nor change the
// histories.
func TestHistoriesWithDamagedCounters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	eng, tracks := fixture(t, path, 10)
	importInteractions(t, eng, []soundalike.Interaction{
		{User: "u", Track: tracks[0].ID, Action: soundalike.ActionPlay},
		{User: "v", Track: tracks[1].ID, Action: soundalike.ActionLike},
	})
	eng.Close()
	for _, key := range []string{"n_interactions", "n_users"} {
		putRaw(t, path, "meta", []byte(key), binary.BigEndian.AppendUint64(nil, 1<<64-1))
	}
	served, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer served.Close()
	for _, u := range []string{"u", "v"} {
		if h, err := served.UserHistory(t.Context(), u); err != nil || len(h) != 1 {
			t.Errorf("UserHistory(%s) with damaged counters = %v, %v; want its one interaction", u, h, err)
		}
	}
}

// TestHistoriesWithAnUndecodableKey: an interaction key that does not
// decode fails the load with ErrDamaged, naming the key, rather than
// panicking or serving a history without it.
func TestHistoriesWithAnUndecodableKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	eng, tracks := fixture(t, path, 10)
	importInteractions(t, eng, []soundalike.Interaction{{User: "u", Track: tracks[0].ID, Action: soundalike.ActionPlay}})
	eng.Close()
	putRaw(t, path, "interactions", []byte{0x09, 'u'}, []byte{1})
	served, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer served.Close()
	_, err = served.UserHistory(t.Context(), "u")
	if !errors.Is(err, soundalike.ErrDamaged) || !strings.Contains(err.Error(), "interaction key 0975 does not decode") {
		t.Errorf("UserHistory with an undecodable key = %v, want ErrDamaged naming the key", err)
	}
}
