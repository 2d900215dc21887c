package soundalike

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike/storage"
)

// BenchmarkReadHistories is what the histories add to a snapshot's load:
// one million interactions (50,000 users of 20 each, over 100,000
// tracks and four actions) read in the read transaction, then ordered.
//
//	go test . -run '^$' -bench ReadHistories -benchtime 5x
func BenchmarkReadHistories(b *testing.B) {
	const users, per = 50_000, 20
	db, err := storage.Open(filepath.Join(b.TempDir(), "h.db"), &storage.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	actions := []string{ActionPlay, ActionLike, ActionSkip, ActionAddToPlaylist}
	const tracks = 100_000
	trackID := func(i int) string { return fmt.Sprintf("%022d", i%tracks) }
	err = db.Update(func(tx *storage.Tx) error {
		for i := range tracks {
			if _, _, _, err := tx.PutTrack(trackID(i), nil); err != nil {
				return err
			}
		}
		for u := range users {
			for j := range per {
				i := u*per + j
				if _, err := tx.PutInteraction(fmt.Sprintf("user%07d", u), trackID(i*7919), actions[i%4], int64(1_700_000_000+i)*1e9); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var h *histories
	b.ReportAllocs()
	for b.Loop() {
		var r *historiesRead
		err := db.View(func(tx *storage.Tx) error {
			r, err = readHistories(b.Context(), tx)
			return err
		})
		if err == nil {
			h, err = r.order()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if got := len(h.time); got != users*per {
		b.Fatalf("read %d interactions, want %d", got, users*per)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*users*per), "ns/interaction")
	b.ReportMetric(float64(h.bytes())/float64(users*per), "bytes/interaction")
}

// TestReloadReusesHistories: a snapshot of a file whose interactions did
// not change (a new track, a reload) reuses the previous snapshot's
// histories; one after an import of interactions reads them again, and
// finds the new one.
func TestReloadReusesHistories(t *testing.T) {
	eng, put := openPutEngine(t, "h.db")
	put("a", "a")
	interact := func(user string) {
		t.Helper()
		err := eng.Import(t.Context(), func(tx *ImportTx) error {
			_, err := tx.PutInteraction(&Interaction{User: user, Track: "a", Action: ActionPlay})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	interact("u")
	if _, err := eng.UserHistory(t.Context(), "u"); err != nil { // loads the snapshot
		t.Fatal(err)
	}
	first := eng.snap.Load().histories
	put("b", "b")
	loadAgain(t, eng)
	if s := eng.snap.Load(); s.histories != first {
		t.Errorf("after a track import and a reload, the histories were read again; want the previous snapshot's reused")
	}
	interact("v")
	if s := eng.snap.Load(); s.histories == first {
		t.Fatalf("after an import of interactions, the snapshot kept the previous histories")
	}
	for _, u := range []string{"u", "v"} {
		if h, err := eng.UserHistory(t.Context(), u); err != nil || len(h) != 1 {
			t.Errorf("UserHistory(%s) = %v, %v; want its one interaction", u, h, err)
		}
	}
}
