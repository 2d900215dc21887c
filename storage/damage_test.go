package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/storage"
)

// buildSmall writes a database with tracks, interactions, a model and an
// index, large enough that each big bucket spans pages of its own.
func buildSmall(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "small.db")
	db, err := storage.Open(path, &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *storage.Tx) error {
		for i := range 600 {
			id := fmt.Sprintf("track-%04d", i)
			if _, _, _, err := tx.PutTrack(id, []byte(strings.Repeat("x", 40))); err != nil {
				return err
			}
			if _, err := tx.PutInteraction(fmt.Sprintf("user-%03d", i%50), id, "play", int64(i)); err != nil {
				return err
			}
		}
		_, err := tx.PutModel(make([]byte, 20000), []byte("meta"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteIndex([]byte("meta"), 1, func(w io.Writer) error {
		_, err := w.Write(make([]byte, 30000))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads everything in the file the way the engine does.
func readAll(path string) error {
	db, err := storage.Open(path, &storage.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *storage.Tx) error {
		if err := tx.ForEachTrack(func(storage.TrackEntry) error { return nil }); err != nil {
			return err
		}
		if err := tx.ForEachInteraction(func(string, string, string, int64) error { return nil }); err != nil {
			return err
		}
		if err := tx.ForEachModel(func(v uint64, _ []byte) error { _, _, _, err := tx.Model(v); return err }); err != nil {
			return err
		}
		return tx.ReadIndex(func(_ storage.IndexInfo, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
	})
}

func TestTruncatedFileIsDamaged(t *testing.T) {
	path := buildSmall(t)
	hw := dbdamage.HighWater(t, path)
	for _, size := range []int64{8192, 3 * 4096, hw / 2, hw - 4096} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := filepath.Join(t.TempDir(), "c.db")
			dbdamage.Copy(t, path, c)
			if err := os.Truncate(c, size); err != nil {
				t.Fatal(err)
			}
			for _, ro := range []bool{true, false} {
				_, err := storage.Open(c, &storage.Options{ReadOnly: ro})
				if !errors.Is(err, storage.ErrDamaged) {
					t.Fatalf("open (read-only %v) of a file truncated to %d: %v, want ErrDamaged", ro, size, err)
				}
				for _, want := range []string{c, "truncated", "backup"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
			}
		})
	}
}

// TestDamagedPageIsAnError flips the header of each bucket's root page: bbolt
// panics on such a page, and every read must return ErrDamaged naming the
// file instead; a write transaction meeting it must write nothing.
func TestDamagedPageIsAnError(t *testing.T) {
	path := buildSmall(t)
	pages := dbdamage.BucketPages(t, path)
	for _, name := range []string{"tracks", "interactions", "models", "indexes"} {
		t.Run(name, func(t *testing.T) {
			if len(pages[name]) == 0 {
				t.Fatalf("bucket %s is inline: buildSmall must give it pages of its own", name)
			}
			c := filepath.Join(t.TempDir(), "c.db")
			dbdamage.Copy(t, path, c)
			dbdamage.Flip(t, c, int64(pages[name][0])*dbdamage.PageSize, 16)
			err := readAll(c)
			if !errors.Is(err, storage.ErrDamaged) {
				t.Fatalf("reading a file with bucket %s's root page damaged: %v, want ErrDamaged", name, err)
			}
			for _, want := range []string{c, "bucket", "backup"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			db, err := storage.Open(c, nil)
			if err != nil {
				if errors.Is(err, storage.ErrDamaged) {
					return
				}
				t.Fatalf("open for writing: %v", err)
			}
			before, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *storage.Tx) error {
				// A write first, so that the abort has something to undo.
				if _, _, _, err := tx.PutTrack("written-before-the-damage", []byte("y")); err != nil {
					return err
				}
				if err := tx.ForEachTrack(func(storage.TrackEntry) error { return nil }); err != nil {
					return err
				}
				if err := tx.ForEachInteraction(func(string, string, string, int64) error { return nil }); err != nil {
					return err
				}
				return tx.ReadIndex(func(_ storage.IndexInfo, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
			})
			if name != "models" && !errors.Is(err, storage.ErrDamaged) {
				t.Errorf("write transaction: %v, want ErrDamaged", err)
			}
			db.Close()
			after, rerr := os.ReadFile(c)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if err != nil && !bytes.Equal(before, after) {
				t.Errorf("a write transaction that failed on damage (%v) changed the file", err)
			}
		})
	}
}

// TestFaultOnTheMapIsAnError truncates the file under an open database (as
// another process or a failing disk could): a read that reaches past the
// new end faults on the memory map, and must return ErrDamaged naming the
// file instead of killing the process.
func TestFaultOnTheMapIsAnError(t *testing.T) {
	c := filepath.Join(t.TempDir(), "c.db")
	dbdamage.Copy(t, buildSmall(t), c)
	db, err := storage.Open(c, &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := os.Truncate(c, 2*dbdamage.PageSize); err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *storage.Tx) error {
		return tx.ForEachTrack(func(storage.TrackEntry) error { return nil })
	})
	if !errors.Is(err, storage.ErrDamaged) || !strings.Contains(err.Error(), c) || !strings.Contains(err.Error(), "reading the tracks bucket") {
		t.Fatalf("reading tracks past the end of a file truncated under the open database: %v, want ErrDamaged naming the file and the tracks bucket", err)
	}
}
