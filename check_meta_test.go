package soundalike_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/dbdamage"
)

// TestCheckFindsADamagedNewestMetaPage: a track deleted (one write), then
// the newest of bbolt's two meta pages damaged: the file still opens,
// bbolt reading the older meta page, so the delete is silently undone.
// Check reports that page as a problem, naming the transaction bbolt reads
// and what to do, where it said "no damage found".
func TestCheckFindsADamagedNewestMetaPage(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "m.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	putTracks(t, eng, track("a", 0.5), track("b", 0.6), track("c", 0.7))
	if err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		_, err := tx.DeleteTrack("b")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r, err := eng.Check(ctx); err != nil || !r.OK() {
		t.Fatalf("Check of the sound file = %+v, %v; want OK", r, err)
	}
	eng.Close()

	newest, older := newestMetaPage(t, path)
	dbdamage.Flip(t, path, int64(newest)*dbdamage.PageSize+16, 16) // its magic, version, page size and flags
	eng, err = soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if c, err := eng.Counts(); err != nil || c.Tracks != 3 {
		t.Fatalf("Counts with the newest meta page damaged = %+v, %v; want the 3 tracks before the delete (bbolt reads the older meta page)", c, err)
	}
	r, err := eng.Check(ctx)
	want := []string{fmt.Sprintf("meta page %d fails bbolt's validation", newest),
		fmt.Sprintf("bbolt reads the other meta page, of transaction %d: the last write(s) after it may be lost", older),
		"restore the file from a backup", "`soundalike backup`"}
	if err != nil || r.OK() || len(r.Problems) != 1 || !containsAll(r.Problems[0], want) {
		t.Errorf("Check = %+v, %v; want one problem saying %q", r, err, want)
	}
}

// newestMetaPage returns which of the two meta pages of the bbolt file at
// path (of dbdamage.PageSize pages) records the newer transaction, and the
// older one's transaction id.
func newestMetaPage(t *testing.T, path string) (page int, olderTxid uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	txid := func(page int) uint64 { return binary.LittleEndian.Uint64(b[page*dbdamage.PageSize+16+48:]) }
	if txid(1) > txid(0) {
		return 1, txid(0)
	}
	return 0, txid(1)
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
