package storage_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike/storage"
	bolt "go.etcd.io/bbolt"
)

// MustOpen opens a fresh database in t.TempDir and closes it at cleanup.
func MustOpen(t testing.TB) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "test.db"), &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenNewFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %v, want 0600", got)
	}
}

func TestOpenLockedFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = storage.Open(path, &storage.Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second Open error = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v, want about the timeout", d)
	}
}

func TestOpenForeignFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, bytes.Repeat([]byte("hello world\n"), 1000), 0o600)

	otherBolt := filepath.Join(dir, "other.db")
	bdb, err := bolt.Open(otherBolt, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	bdb.Close()

	small := filepath.Join(dir, "small.db")
	os.WriteFile(small, []byte("x"), 0o600)

	for _, path := range []string{text, otherBolt, small} {
		before, _ := os.ReadFile(path)
		_, err := storage.Open(path, &storage.Options{Timeout: 100 * time.Millisecond})
		if !errors.Is(err, storage.ErrNotSoundalike) {
			t.Errorf("Open(%s) error = %v, want ErrNotSoundalike", filepath.Base(path), err)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(before, after) {
			t.Errorf("Open(%s) modified a foreign file", filepath.Base(path))
		}
	}
}

func TestOpenUnknownSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte{0, 0, 0, 99})
	})
	bdb.Close()
	_, err = storage.Open(path, nil)
	if !errors.Is(err, storage.ErrSchema) || !strings.Contains(err.Error(), "99") {
		t.Fatalf("Open error = %v, want ErrSchema naming version 99", err)
	}
}

func TestReadOnlyMissingFile(t *testing.T) {
	_, err := storage.Open(filepath.Join(t.TempDir(), "nope.db"), &storage.Options{ReadOnly: true})
	if !errors.Is(err, storage.ErrNoDatabase) {
		t.Fatalf("error = %v, want ErrNoDatabase", err)
	}
}

func TestTracksAndInteractions(t *testing.T) {
	db := MustOpen(t)
	err := db.Update(func(tx *storage.Tx) error {
		n1, added, changed, err := tx.PutTrack("a", []byte("A1"))
		if err != nil || !added || !changed || n1 != 0 {
			t.Errorf("PutTrack(a) = %d %v %v %v, want 0 true true nil", n1, added, changed, err)
		}
		n2, added, _, _ := tx.PutTrack("b", []byte("B1"))
		if !added || n2 != 1 {
			t.Errorf("PutTrack(b) node=%d added=%v, want 1 true", n2, added)
		}
		n1b, added, changed, _ := tx.PutTrack("a", []byte("A1"))
		if added || changed || n1b != n1 {
			t.Errorf("same PutTrack(a) = %d %v %v, want %d false false", n1b, added, changed, n1)
		}
		_, added, changed, _ = tx.PutTrack("a", []byte("A2"))
		if added || !changed {
			t.Errorf("changed PutTrack(a) = added %v changed %v, want false true", added, changed)
		}
		for i, in := range []struct {
			u, tr, a string
			ts       int64
			want     bool
		}{
			{"u1", "a", "play", 5, true},
			{"u1", "a", "play", 5, true}, // a second occurrence in one import counts
			{"u1", "b", "like", 6, true},
			{"u2", "a", "play", 7, true},
		} {
			got, err := tx.PutInteraction(in.u, in.tr, in.a, in.ts)
			if err != nil || got != in.want {
				t.Errorf("PutInteraction #%d = %v, %v, want %v", i, got, err, in.want)
			}
		}
		if _, err := tx.PutInteraction("u1", "zzz", "play", 1); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("PutInteraction(unknown track) error = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *storage.Tx) error {
		if got, want := tx.Counts(), (storage.Counts{Tracks: 2, Users: 2, Interactions: 4}); got != want {
			t.Errorf("Counts = %+v, want %+v", got, want)
		}
		_, data, ok := tx.Track("a")
		if !ok || string(data) != "A2" {
			t.Errorf("Track(a) = %q %v, want A2", data, ok)
		}
		if node, _, ok := tx.Track("b"); !ok || node != 1 {
			t.Errorf("Track(b) node = %d %v, want 1", node, ok)
		}
		var got []string
		tx.ForEachInteraction(func(u, tr, a string, ts int64) error {
			got = append(got, u+"/"+tr+"/"+a)
			return nil
		})
		if strings.Join(got, " ") != "u1/a/play u1/b/like u2/a/play" {
			t.Errorf("interactions = %v", got)
		}
		return nil
	})
	// Deleting records a tombstone the next reindex sees.
	db.Update(func(tx *storage.Tx) error {
		seq := tx.CatalogSeq()
		if ok, err := tx.DeleteTrack("b"); !ok || err != nil {
			t.Errorf("DeleteTrack(b) = %v %v", ok, err)
		}
		var dels []uint32
		tx.ForEachDeleted(seq, func(n uint32) error { dels = append(dels, n); return nil })
		if len(dels) != 1 || dels[0] != 1 {
			t.Errorf("deleted since %d = %v, want [1]", seq, dels)
		}
		if c := tx.Counts(); c.Tracks != 1 {
			t.Errorf("tracks after delete = %d, want 1", c.Tracks)
		}
		return nil
	})
}

func TestUpdateRollsBack(t *testing.T) {
	db := MustOpen(t)
	g0, _ := db.Generation()
	boom := errors.New("boom")
	err := db.Update(func(tx *storage.Tx) error {
		tx.PutTrack("a", []byte("A"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v", err)
	}
	g1, _ := db.Generation()
	db.View(func(tx *storage.Tx) error {
		if _, _, ok := tx.Track("a"); ok || tx.Counts().Tracks != 0 {
			t.Error("failed Update left a track behind")
		}
		return nil
	})
	if g1 != g0 {
		t.Errorf("generation moved from %d to %d on a failed update", g0, g1)
	}
}

func TestModels(t *testing.T) {
	db := MustOpen(t)
	big := bytes.Repeat([]byte("w"), storage.ChunkSize*2+17)
	db.Update(func(tx *storage.Tx) error {
		v1, _ := tx.PutModel([]byte("small"), []byte(`{"v":1}`))
		v2, _ := tx.PutModel(big, []byte(`{"v":2}`))
		if v1 != 1 || v2 != 2 || tx.CurrentModel() != 2 {
			t.Errorf("versions %d %d current %d, want 1 2 2", v1, v2, tx.CurrentModel())
		}
		return nil
	})
	db.View(func(tx *storage.Tx) error {
		blob, meta, ok, err := tx.Model(2)
		if err != nil || !ok || !bytes.Equal(blob, big) || string(meta) != `{"v":2}` {
			t.Errorf("Model(2) = %d bytes, %q, %v, %v", len(blob), meta, ok, err)
		}
		if _, _, ok, _ := tx.Model(9); ok {
			t.Error("Model(9) exists")
		}
		return nil
	})
}

func readCurrentIndex(t *testing.T, db *storage.DB) (storage.IndexInfo, []byte, error) {
	var info storage.IndexInfo
	var data []byte
	err := db.View(func(tx *storage.Tx) error {
		return tx.ReadIndex(func(i storage.IndexInfo, r io.Reader) error {
			info = i
			var err error
			data, err = io.ReadAll(r)
			return err
		})
	})
	return info, data, err
}

func TestWriteIndexAtomicSwitch(t *testing.T) {
	db := MustOpen(t)
	if _, _, err := readCurrentIndex(t, db); !errors.Is(err, storage.ErrNoIndex) {
		t.Fatalf("ReadIndex on empty db = %v, want ErrNoIndex", err)
	}
	first := bytes.Repeat([]byte{1, 2, 3}, storage.ChunkSize) // 3 chunks
	id1, err := db.WriteIndex([]byte("m1"), 10, func(w io.Writer) error { _, err := w.Write(first); return err })
	if err != nil {
		t.Fatal(err)
	}
	info, got, err := readCurrentIndex(t, db)
	if err != nil || !bytes.Equal(got, first) || info.ID != id1 || string(info.Meta) != "m1" || info.CatalogSeq != 10 {
		t.Fatalf("after first write: info %+v, %d bytes, err %v", info, len(got), err)
	}

	// A failing writer, half-way through, leaves the first index current.
	_, err = db.WriteIndex([]byte("m2"), 11, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte{9}, storage.ChunkSize+5))
		return errors.New("injected failure")
	})
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("WriteIndex error = %v", err)
	}
	info, got, err = readCurrentIndex(t, db)
	if err != nil || !bytes.Equal(got, first) || info.ID != id1 {
		t.Fatalf("after failed write: info %+v, %d bytes, err %v; want the first index", info, len(got), err)
	}

	second := []byte("second index")
	id3, err := db.WriteIndex([]byte("m3"), 12, func(w io.Writer) error { _, err := w.Write(second); return err })
	if err != nil {
		t.Fatal(err)
	}
	info, got, err = readCurrentIndex(t, db)
	if err != nil || !bytes.Equal(got, second) || info.ID != id3 {
		t.Fatalf("after second write: info %+v, %q, err %v", info, got, err)
	}
}

func TestCrashedIndexWriteIsDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteIndex([]byte("good"), 1, func(w io.Writer) error { _, err := w.Write([]byte("good")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Simulate a crash after some pending chunks were committed.
	bdb, _ := bolt.Open(path, 0o600, nil)
	bdb.Update(func(tx *bolt.Tx) error {
		b, _ := tx.Bucket([]byte("indexes")).CreateBucket([]byte{0, 0, 0, 0, 0, 0, 0, 42})
		b.Put([]byte("pending"), []byte{1})
		c, _ := b.CreateBucket([]byte("chunks"))
		return c.Put([]byte{0, 0, 0, 0}, []byte("partial"))
	})
	bdb.Close()

	db, err = storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, got, err := readCurrentIndex(t, db)
	if err != nil || string(got) != "good" {
		t.Fatalf("after crash: %q, %v; want the good index", got, err)
	}
}

func TestCorruptIndexChunk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "corrupt.db")
	db, _ := storage.Open(path, nil)
	db.WriteIndex(nil, 1, func(w io.Writer) error { _, err := w.Write(bytes.Repeat([]byte("x"), 5000)); return err })
	db.Close()
	bdb, _ := bolt.Open(path, 0o600, nil)
	bdb.Update(func(tx *bolt.Tx) error {
		var flipped bool
		tx.Bucket([]byte("indexes")).ForEachBucket(func(k []byte) error {
			c := tx.Bucket([]byte("indexes")).Bucket(k).Bucket([]byte("chunks"))
			v := append([]byte(nil), c.Get([]byte{0, 0, 0, 0})...)
			v[100] ^= 0xff
			flipped = true
			return c.Put([]byte{0, 0, 0, 0}, v)
		})
		if !flipped {
			t.Fatal("no chunk to corrupt")
		}
		return nil
	})
	bdb.Close()
	db, _ = storage.Open(path, nil)
	defer db.Close()
	_, _, err := readCurrentIndex(t, db)
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("ReadIndex of corrupt chunk = %v, want a checksum error", err)
	}
}

// TestFailedIndexWriteLeavesNoPending: a failed WriteIndex drops its
// pending chunks at once, not only at the next writable Open.
func TestFailedIndexWriteLeavesNoPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fail.db")
	db, err := storage.Open(path, &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.WriteIndex([]byte("m"), 1, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte{9}, storage.ChunkSize+5))
		return errors.New("injected failure")
	})
	if err == nil {
		t.Fatal("WriteIndex with a failing writer succeeded")
	}
	db.Close()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	bdb.View(func(tx *bolt.Tx) error {
		n := tx.Bucket([]byte("indexes")).Stats().BucketN - 1 // itself
		if n != 0 {
			t.Errorf("%d buckets left in indexes after a failed write, want 0", n)
		}
		return nil
	})
}

// TestWritableOpenLeavesTheFile: a writable Open and Close that write
// nothing leave an existing file as it was, bytes and mtime, so that a
// command that changed nothing does not show it as modified; an Open
// that finds what a failed import or reindex left (a staging bucket, a
// pending index) still drops it.
func TestWritableOpenLeavesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPutMany(t, db, "a", 3)
	db.Close()
	before, st := readFile(t, path)

	db, err = storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	after, st2 := readFile(t, path)
	if !bytes.Equal(before, after) || !st.ModTime().Equal(st2.ModTime()) {
		t.Errorf("an Open and Close that wrote nothing modified the file (mtime %v → %v)", st.ModTime(), st2.ModTime())
	}

	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(btx *bolt.Tx) error {
		if _, err := btx.CreateBucket([]byte("import_staging")); err != nil {
			return err
		}
		b, err := btx.Bucket([]byte("indexes")).CreateBucket([]byte{0, 0, 0, 0, 0, 0, 0, 42})
		if err != nil {
			return err
		}
		return b.Put([]byte("pending"), []byte{1})
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err = storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	checkNoStaging(t, path)
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	bdb.View(func(btx *bolt.Tx) error {
		if btx.Bucket([]byte("indexes")).Bucket([]byte{0, 0, 0, 0, 0, 0, 0, 42}) != nil {
			t.Error("a pending index is left in the file after a writable Open")
		}
		return nil
	})
}

func readFile(t *testing.T, path string) ([]byte, os.FileInfo) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return b, st
}

// TestOpenMissingDirectory: a path whose directory does not exist fails
// Open with an error that says so once, naming the path and the
// directory; it is os.ErrNotExist, and a reader's is still ErrNoDatabase.
func TestOpenMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope", "dir")
	path := filepath.Join(dir, "x.db")
	for _, readOnly := range []bool{false, true} {
		_, err := storage.Open(path, &storage.Options{ReadOnly: readOnly})
		if err == nil {
			t.Fatalf("read-only %v: Open of a path in a missing directory succeeded", readOnly)
		}
		msg := err.Error()
		if !strings.Contains(msg, "directory "+dir+" does not exist") || strings.Count(msg, path) != 1 {
			t.Errorf("read-only %v: error %q, want it to name %s once and say directory %s does not exist", readOnly, msg, path, dir)
		}
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("read-only %v: error %v is not os.ErrNotExist", readOnly, err)
		}
		if got := errors.Is(err, storage.ErrNoDatabase); got != readOnly {
			t.Errorf("read-only %v: errors.Is(err, ErrNoDatabase) = %v, want %v", readOnly, got, readOnly)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open made %s (stat: %v)", dir, err)
	}
}
