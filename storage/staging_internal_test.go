package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStagingStates: the states a write transaction goes through, seen
// from inside: an import that fits its write buffer stays inMemory; one
// that outgrows it stages and ends switched; one that wrote to the file
// first (a scan flushed its buffer) stays inMemoryOnly however large.
func TestStagingStates(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), &Options{NoSync: true, WriteBuffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(tx *Tx, prefix string, n int) {
		t.Helper()
		for i := range n {
			if _, _, _, err := tx.PutTrack(fmt.Sprintf("%s%05d", prefix, i), []byte("features")); err != nil {
				t.Fatal(err)
			}
		}
	}
	var during stagingState
	record := func(tx *Tx) { during = tx.stage.state }
	tests := []struct {
		name          string
		fn            func(tx *Tx)
		during, after stagingState // at the end of fn, and once Update has finished
	}{
		{"small", func(tx *Tx) { put(tx, "a", 10); record(tx) }, inMemory, inMemory},
		{"large", func(tx *Tx) { put(tx, "b", 5000); record(tx) }, staging, switched},
		{"scan first", func(tx *Tx) {
			put(tx, "c", 10)
			if err := tx.ForEachTrack(func(TrackEntry) error { return nil }); err != nil {
				t.Fatal(err)
			}
			put(tx, "d", 5000)
			record(tx)
		}, inMemoryOnly, inMemoryOnly},
	}
	for _, tt := range tests {
		during = 255
		var last *Tx
		err := db.Update(func(tx *Tx) error { tt.fn(tx); last = tx; return nil })
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if during != tt.during || last.stage.state != tt.after {
			t.Errorf("%s: states %d then %d, want %d then %d", tt.name, during, last.stage.state, tt.during, tt.after)
		}
	}
	// A failure after staging drops the staging bucket.
	err = db.Update(func(tx *Tx) error { put(tx, "e", 5000); return errors.New("boom") })
	if err == nil {
		t.Fatal("failing Update succeeded")
	}
	db.View(func(tx *Tx) error {
		if tx.tx.Bucket(bucketStaging) != nil {
			t.Error("staging bucket left after a failed staging import")
		}
		return nil
	})
}
