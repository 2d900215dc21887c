package storage_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/audotics/soundalike/storage"
)

func openStaging(t *testing.T, path string, writeBuffer int) *storage.DB {
	t.Helper()
	db, err := storage.Open(path, &storage.Options{NoSync: true, WriteBuffer: writeBuffer})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// putMany stores n tracks and an interaction with each.
func putMany(tx *storage.Tx, prefix string, n int) error {
	tx.BeginSource()
	for i := range n {
		id := fmt.Sprintf("%s%05d", prefix, i)
		if _, _, _, err := tx.PutTrack(id, []byte("features of "+id)); err != nil {
			return err
		}
		if _, err := tx.PutInteraction("u"+prefix, id, "play", int64(i)); err != nil {
			return err
		}
	}
	return nil
}

// mustPutMany commits putMany in a transaction of its own.
func mustPutMany(t *testing.T, db *storage.DB, prefix string, n int) {
	t.Helper()
	if err := db.Update(func(tx *storage.Tx) error { return putMany(tx, prefix, n) }); err != nil {
		t.Fatal(err)
	}
}

// TestStagedImportIsAllOrNothing: an import that flushes into the staging
// bucket and then fails leaves the catalogue as it was, and no staging
// bucket behind; one that succeeds holds everything.
func TestStagedImportIsAllOrNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := openStaging(t, path, 64<<10)
	defer db.Close()
	mustPutMany(t, db, "a", 100)
	boom := errors.New("boom")
	flushes := 0
	err := db.Update(func(tx *storage.Tx) error {
		if err := putMany(tx, "b", 5000); err != nil {
			return err
		}
		if _, err := tx.DeleteTrack("a00007"); err != nil {
			return err
		}
		flushes = tx.StagedFlushes()
		return boom
	})
	if !errors.Is(err, boom) || flushes == 0 {
		t.Fatalf("failed import: err %v after %d flushes, want boom after some staged flushes", err, flushes)
	}
	db.View(func(tx *storage.Tx) error {
		if got := tx.Counts(); got != (storage.Counts{Tracks: 100, Users: 1, Interactions: 100}) {
			t.Errorf("after a failed staged import: %+v, want the 100 tracks before it", got)
		}
		if _, _, ok := tx.Track("a00007"); !ok {
			t.Error("a track deleted by the failed import is gone")
		}
		if _, _, ok := tx.Track("b00042"); ok {
			t.Error("a track of the failed import is stored")
		}
		n := 0
		tx.ForEachTrack(func(storage.TrackEntry) error { n++; return nil })
		m := 0
		tx.ForEachInteraction(func(string, string, string, int64) error { m++; return nil })
		if n != 100 || m != 100 {
			t.Errorf("after a failed staged import: %d tracks and %d interactions stored, want 100 and 100", n, m)
		}
		return nil
	})
	err = db.Update(func(tx *storage.Tx) error {
		if err := putMany(tx, "b", 5000); err != nil {
			return err
		}
		_, err := tx.DeleteTrack("a00007")
		flushes = tx.StagedFlushes()
		return err
	})
	if err != nil || flushes == 0 {
		t.Fatalf("staged import: %v after %d flushes", err, flushes)
	}
	db.View(func(tx *storage.Tx) error {
		if got := tx.Counts(); got != (storage.Counts{Tracks: 5099, Users: 2, Interactions: 5100}) {
			t.Errorf("after a staged import: %+v", got)
		}
		n := 0
		tx.ForEachTrack(func(storage.TrackEntry) error { n++; return nil })
		if n != 5099 {
			t.Errorf("%d tracks stored, want 5099", n)
		}
		var deleted []uint32
		tx.ForEachDeleted(0, func(node uint32) error { deleted = append(deleted, node); return nil })
		if len(deleted) != 1 || deleted[0] != 7 {
			t.Errorf("tombstones %v, want node 7's", deleted)
		}
		return nil
	})
	db.Close()
	checkNoStaging(t, path)
}

// TestStagingLeftByADeadProcess: a staging bucket left in the file (the
// process died mid-import) is dropped by the next writable Open.
func TestStagingLeftByADeadProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	db := openStaging(t, path, 0)
	mustPutMany(t, db, "a", 10)
	db.Close()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(btx *bolt.Tx) error {
		st, err := btx.CreateBucket([]byte("import_staging"))
		if err != nil {
			return err
		}
		b, _ := st.CreateBucket([]byte("tracks"))
		return b.Put([]byte("zz"), []byte("half an import"))
	})
	bdb.Close()
	db = openStaging(t, path, 0)
	db.View(func(tx *storage.Tx) error {
		if got := tx.Counts().Tracks; got != 10 {
			t.Errorf("%d tracks, want 10", got)
		}
		return nil
	})
	db.Close()
	checkNoStaging(t, path)
}

// TestNoStagingAfterOtherWrites: a transaction that has written (here: a
// scan flushed its buffers) cannot commit part of itself, so it keeps its
// buffers in memory instead of staging, and a failure still undoes all.
func TestNoStagingAfterOtherWrites(t *testing.T) {
	db := openStaging(t, filepath.Join(t.TempDir(), "w.db"), 64<<10)
	defer db.Close()
	err := db.Update(func(tx *storage.Tx) error {
		if err := putMany(tx, "a", 10); err != nil {
			return err
		}
		if err := tx.ForEachTrack(func(storage.TrackEntry) error { return nil }); err != nil {
			return err
		}
		if err := putMany(tx, "b", 5000); err != nil {
			return err
		}
		if n := tx.StagedFlushes(); n != 0 {
			t.Errorf("%d flushes after the transaction wrote", n)
		}
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("want the error")
	}
	db.View(func(tx *storage.Tx) error {
		if got := tx.Counts().Tracks; got != 0 {
			t.Errorf("%d tracks after a failed import, want 0", got)
		}
		return nil
	})
}

func checkNoStaging(t *testing.T, path string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	bdb.View(func(btx *bolt.Tx) error {
		if btx.Bucket([]byte("import_staging")) != nil {
			t.Error("a staging bucket is left in the file")
		}
		return nil
	})
}

// TestStagedImportSerialisesWriters: another Update on the same DB waits
// for a staged import, which commits several bolt transactions, instead of
// slipping in between them and being overwritten by its final switch.
func TestStagedImportSerialisesWriters(t *testing.T) {
	db := openStaging(t, filepath.Join(t.TempDir(), "c.db"), 64<<10)
	defer db.Close()
	staged, other := make(chan struct{}), make(chan error)
	go func() {
		<-staged
		other <- db.Update(func(tx *storage.Tx) error {
			_, _, _, err := tx.PutTrack("zz-other-writer", []byte("x"))
			return err
		})
	}()
	err := db.Update(func(tx *storage.Tx) error {
		for i := range 4000 {
			if _, _, _, err := tx.PutTrack(fmt.Sprintf("b%05d", i), []byte("features")); err != nil {
				return err
			}
			if i == 2000 {
				if tx.StagedFlushes() == 0 {
					t.Error("no staged flush after 2,000 tracks with a 64 KiB write buffer")
				}
				close(staged)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *storage.Tx) error {
		node, _, ok := tx.Track("zz-other-writer")
		if !ok || node != 4000 || tx.Counts().Tracks != 4001 {
			t.Errorf("the other writer's track: node %d, stored %v, %d tracks; want node 4000 and 4001 tracks", node, ok, tx.Counts().Tracks)
		}
		return nil
	})
}

// TestStagedImportWritesInsideAScan: writes made in a scan's callback do
// not commit under its cursor, which would panic ("tx closed").
func TestStagedImportWritesInsideAScan(t *testing.T) {
	db := openStaging(t, filepath.Join(t.TempDir(), "scan.db"), 16<<10)
	defer db.Close()
	mustPutMany(t, db, "a", 2000)
	err := db.Update(func(tx *storage.Tx) error {
		return tx.ForEachTrack(func(e storage.TrackEntry) error {
			_, _, _, err := tx.PutTrack(e.ID, []byte("rewritten"))
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *storage.Tx) error {
		n := 0
		tx.ForEachTrack(func(e storage.TrackEntry) error {
			if string(e.Data) != "rewritten" {
				t.Fatalf("%s: %q, want rewritten", e.ID, e.Data)
			}
			n++
			return nil
		})
		if n != 2000 {
			t.Errorf("%d tracks, want 2000", n)
		}
		return nil
	})
}

// TestStagedImportRefusesModelWrites: once an import has staged, a model
// written in the same transaction would be committed before the import
// ends; it is refused instead.
func TestStagedImportRefusesModelWrites(t *testing.T) {
	db := openStaging(t, filepath.Join(t.TempDir(), "mw.db"), 16<<10)
	defer db.Close()
	err := db.Update(func(tx *storage.Tx) error {
		if err := putMany(tx, "a", 2000); err != nil {
			return err
		}
		if tx.StagedFlushes() == 0 {
			t.Fatal("no staged flush")
		}
		_, err := tx.PutModel([]byte("blob"), []byte("{}"))
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "stages its writes") {
		t.Fatalf("PutModel in a staged import: %v, want it refused", err)
	}
}

// TestKeyTooLong: a key over MaxKeyLen fails on its own call, before
// anything is buffered, rather than failing the commit of the whole
// transaction; a key of MaxKeyLen is stored.
func TestKeyTooLong(t *testing.T) {
	db := openStaging(t, filepath.Join(t.TempDir(), "k.db"), 0)
	defer db.Close()
	long, longest := strings.Repeat("k", storage.MaxKeyLen+1), strings.Repeat("k", storage.MaxKeyLen)
	err := db.Update(func(tx *storage.Tx) error {
		if _, _, _, err := tx.PutTrack("t", []byte("x")); err != nil {
			return err
		}
		if _, err := tx.PutInteraction(long, "t", "play", 0); err == nil {
			t.Errorf("an interaction with a %d-byte user was accepted", len(long))
		}
		if _, err := tx.PutInteraction("u", "t", long, 0); err == nil {
			t.Errorf("an interaction with a %d-byte action was accepted", len(long))
		}
		if _, _, _, err := tx.PutTrack(long, []byte("x")); err == nil {
			t.Errorf("a %d-byte track id was accepted", len(long))
		}
		if _, _, _, err := tx.PutTrack(longest, []byte("x")); err != nil {
			return err
		}
		_, err := tx.PutInteraction(longest, longest, longest, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *storage.Tx) error {
		if c := tx.Counts(); c.Tracks != 2 || c.Interactions != 1 {
			t.Errorf("Counts() = %+v, want 2 tracks and 1 interaction", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStagedImportLastWritesToUnstagedBuckets: writes to a bucket the
// import has not staged when it ends go straight into the live bucket in
// the final transaction when they are few (no copy of it at the end), and
// are staged first when they are many; all or nothing either way.
func TestStagedImportLastWritesToUnstagedBuckets(t *testing.T) {
	for _, late := range []int{10, 400} {
		t.Run(fmt.Sprint(late), func(t *testing.T) {
			db := openStaging(t, filepath.Join(t.TempDir(), "u.db"), 64<<10)
			defer db.Close()
			mustPutMany(t, db, "a", 50)
			write := func(tx *storage.Tx) error {
				for i := range 4000 {
					if _, _, _, err := tx.PutTrack(fmt.Sprintf("b%05d", i), []byte("features")); err != nil {
						return err
					}
				}
				flushes := tx.StagedFlushes()
				if flushes == 0 {
					t.Fatal("no staged flush")
				}
				tx.BeginSource()
				for i := range late {
					if _, err := tx.PutInteraction("late", fmt.Sprintf("b%05d", i), "play", 0); err != nil {
						return err
					}
				}
				if tx.StagedFlushes() != flushes {
					t.Fatalf("the %d late interactions stagedRounds: the test wants them left for the end", late)
				}
				return nil
			}
			boom := errors.New("boom")
			if err := db.Update(func(tx *storage.Tx) error { write(tx); return boom }); !errors.Is(err, boom) {
				t.Fatalf("failed import: %v", err)
			}
			if err := db.Update(write); err != nil {
				t.Fatal(err)
			}
			db.View(func(tx *storage.Tx) error {
				if got := tx.Counts(); got != (storage.Counts{Tracks: 4050, Users: 2, Interactions: 50 + late}) {
					t.Errorf("counts %+v, want 4050 tracks, 2 users, %d interactions", got, 50+late)
				}
				n := 0
				tx.ForEachInteraction(func(u, _, _ string, _ int64) error {
					if u == "late" {
						n++
					}
					return nil
				})
				if n != late {
					t.Errorf("%d of the last %d interactions stored", n, late)
				}
				return nil
			})
		})
	}
}

// TestStagedImportManyDeletions: deletions wait for the final transaction
// but count once toward the write buffer, not at every later write (which made
// every write after a few thousand deletions stage and commit).
func TestStagedImportManyDeletions(t *testing.T) {
	db := openStaging(t, filepath.Join(t.TempDir(), "del.db"), 64<<10)
	defer db.Close()
	mustPutMany(t, db, "a", 6000)
	err := db.Update(func(tx *storage.Tx) error {
		for i := range 6000 {
			if _, err := tx.DeleteTrack(fmt.Sprintf("a%05d", i)); err != nil {
				return err
			}
		}
		before := tx.StagedFlushes()
		for i := range 1000 {
			if _, _, _, err := tx.PutTrack(fmt.Sprintf("c%05d", i), []byte("features")); err != nil {
				return err
			}
		}
		if n := tx.StagedFlushes() - before; n > 50 {
			t.Errorf("%d flushes for 1,000 puts after 6,000 deletions", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *storage.Tx) error {
		if got := tx.Counts().Tracks; got != 1000 {
			t.Errorf("%d tracks, want 1000", got)
		}
		var n int
		tx.ForEachDeleted(0, func(uint32) error { n++; return nil })
		if n != 6000 {
			t.Errorf("%d tombstones, want 6000", n)
		}
		return nil
	})
}
