package storage_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/storage"
)

// Given a database whose two meta pages are both damaged, when opened,
// expect ErrDamaged saying so, not "not a soundalike database (version
// mismatch)".
func TestBothMetaPagesDamaged(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to int // bytes of each meta page to flip
	}{
		{"checksums", 16 + 56, 16 + 64},
		{"magic, version and checksum", 16, 16 + 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := damagedNewDB(t, func(b []byte) {
				for _, page := range []int{0, os.Getpagesize()} {
					for i := page + tc.from; i < page+tc.to; i++ {
						b[i] ^= 0x5a
					}
				}
			})
			_, err := storage.Open(path, &storage.Options{ReadOnly: true})
			if !errors.Is(err, storage.ErrDamaged) || errors.Is(err, storage.ErrNotSoundalike) ||
				!strings.Contains(err.Error(), "meta pages") || !strings.Contains(err.Error(), path) {
				t.Errorf("Open = %v, want ErrDamaged naming %s and its meta pages", err, path)
			}
		})
	}
}

// Given files that are not databases but mention soundalike (notes with
// random bytes after them, a README), when opened, expect
// ErrNotSoundalike, not ErrDamaged with advice to restore a backup: only
// bbolt's layout is evidence that a file was a database.
func TestTextMentioningSoundalikeIsForeign(t *testing.T) {
	random := make([]byte, 70000)
	rand.NewChaCha8([32]byte{1}).Read(random)
	readme := strings.Repeat("# soundalike\n\nsoundalike finds tracks that sound alike: "+
		"`soundalike import`, then `soundalike similar --db soundalike.db`. magic soundalike, magic: soundalike\n", 100)
	for name, content := range map[string][]byte{
		"notes and random bytes": append([]byte("this is my soundalike playlist notes\n"), random...),
		"README":                 []byte(readme),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.txt")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := storage.Open(path, &storage.Options{ReadOnly: true})
			if !errors.Is(err, storage.ErrNotSoundalike) || errors.Is(err, storage.ErrDamaged) {
				t.Errorf("Open = %v, want ErrNotSoundalike and not ErrDamaged", err)
			}
		})
	}
}

// Given a database with tracks, a model and an index, its meta bucket on
// a leaf page among many, whose two meta pages have lost bbolt's magic,
// when opened, expect ErrDamaged: the meta bucket's magic key is found.
func TestBothMetaPagesDamagedInAFullDatabase(t *testing.T) {
	path := buildSmall(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []int{0, os.Getpagesize()} {
		for i := page + 16; i < page+16+64; i++ {
			b[i] ^= 0x5a
		}
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = storage.Open(path, &storage.Options{ReadOnly: true})
	if !errors.Is(err, storage.ErrDamaged) || errors.Is(err, storage.ErrNotSoundalike) {
		t.Errorf("Open = %v, want ErrDamaged", err)
	}
}

// Given a database whose first meta page names itself another page (its
// header damaged, its contents sound, so the file still opens), when its
// pages are checked, expect the problem reported as damage, in words
// rather than as bbolt's recovered panic.
func TestCheckPagesStoppedIsDamage(t *testing.T) {
	path := damagedNewDB(t, func(b []byte) {
		copy(b, []byte{0xff, 0xfe, 0xfd, 0xfc, 0, 1, 2, 3}) // page 0's id
	})
	db, err := storage.Open(path, &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var problems []error
	db.View(func(tx *storage.Tx) error {
		tx.CheckPages(func(err error) { problems = append(problems, err) })
		return nil
	})
	if len(problems) != 1 || !errors.Is(problems[0], storage.ErrDamaged) || strings.Contains(problems[0].Error(), "panic") ||
		!strings.Contains(problems[0].Error(), "page check stopped at a page it cannot read: page expected to be 0") {
		t.Errorf("CheckPages reported %v, want one damage saying the check stopped at page 0", problems)
	}
}

// damagedNewDB lays a new database out in a temporary file, applies
// damage to its bytes and returns its path.
func damagedNewDB(t *testing.T, damage func(b []byte)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := storage.Open(path, &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damage(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Given a database of a few writes whose meta page 0 or 1 fails bbolt's
// validation (its magic, its version, its txid or its checksum flipped),
// when its meta pages are checked, expect that page reported as damage,
// naming the transaction bbolt reads instead and what to do: bbolt opens
// the file without a word, and the write the damaged page recorded may be
// undone.
func TestCheckMetaPagesReportsADamagedMetaPage(t *testing.T) {
	healthy := writtenDB(t)
	ps, txids := metaTxids(t, healthy)
	for page := range int64(2) {
		for _, tc := range []struct {
			name      string
			from, to  int64 // bytes of the meta page to flip
			wantFault string
		}{
			{"magic", 16, 32, "it lacks bbolt's magic"},
			{"version", 20, 24, "its version is"},
			{"txid", 64, 72, "its checksum does not match"},
			{"checksum", 72, 80, "its checksum does not match"},
		} {
			t.Run(fmt.Sprintf("page %d %s", page, tc.name), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "d.db")
				dbdamage.Copy(t, healthy, path)
				dbdamage.Flip(t, path, page*ps+tc.from, int(tc.to-tc.from))
				problems := checkMetaPages(t, path)
				want := []string{fmt.Sprintf("meta page %d fails bbolt's validation (%s", page, tc.wantFault),
					fmt.Sprintf("bbolt reads the other meta page, of transaction %d: the last write(s) after it may be lost", txids[1-page]),
					"restore the file from a backup", "`soundalike backup`"}
				if len(problems) != 1 || !errors.Is(problems[0], storage.ErrDamaged) || !containsAll(problems[0].Error(), want) {
					t.Errorf("CheckMetaPages reported %v, want one damage saying %q", problems, want)
				}
			})
		}
	}
}

// Given a database opened for reading, when a copy with a damaged meta
// page is renamed over its path and its meta pages are then checked in a
// transaction of the open, expect nothing reported, and the other way
// round the damage reported: the check reads the file the open reads,
// not whatever the path names now.
func TestCheckMetaPagesReadsTheOpenFile(t *testing.T) {
	healthy := writtenDB(t)
	damaged := filepath.Join(t.TempDir(), "damaged.db")
	dbdamage.Copy(t, healthy, damaged)
	dbdamage.Flip(t, damaged, 16, 16) // meta page 0's magic
	for _, tc := range []struct {
		name, open, renamed string
		want                int
	}{
		{"healthy open, damaged renamed in", healthy, damaged, 0},
		{"damaged open, healthy renamed in", damaged, healthy, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			dbdamage.Copy(t, tc.open, path)
			db, err := storage.Open(path, &storage.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			other := filepath.Join(t.TempDir(), "other.db")
			dbdamage.Copy(t, tc.renamed, other)
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
			var problems []error
			if err := db.View(func(tx *storage.Tx) error {
				tx.CheckMetaPages(func(err error) { problems = append(problems, err) })
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(problems) != tc.want {
				t.Errorf("CheckMetaPages reported %v, want %d problem(s), of the file the open reads", problems, tc.want)
			}
		})
	}
}

// Given healthy files (new, after writes, a backup of one), when their
// meta pages are checked, expect nothing reported: both meta pages pass
// bbolt's validation, of consecutive transactions.
func TestCheckMetaPagesHealthy(t *testing.T) {
	written := writtenDB(t)
	db, err := storage.Open(written, &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	_, err = db.Backup(t.Context(), backup, nil)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"new":     damagedNewDB(t, func([]byte) {}),
		"written": written,
		"backup":  backup,
	} {
		t.Run(name, func(t *testing.T) {
			if _, txids := metaTxids(t, path); txids[0]+1 != txids[1] && txids[1]+1 != txids[0] {
				t.Fatalf("meta pages of transactions %d, want consecutive ones", txids)
			}
			if problems := checkMetaPages(t, path); len(problems) != 0 {
				t.Errorf("CheckMetaPages reported %v, want nothing", problems)
			}
		})
	}
}

// Given a database that a goroutine of the same process writes without
// pause, when its meta pages are checked over and over meanwhile, expect
// nothing reported: a meta page read while a commit writes it may read
// half written, which is no damage.
func TestCheckMetaPagesDuringWrites(t *testing.T) {
	db, err := storage.Open(filepath.Join(t.TempDir(), "w.db"), &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stop, done := make(chan struct{}), make(chan error)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := db.Update(func(tx *storage.Tx) error {
				_, _, _, err := tx.PutTrack(fmt.Sprint(i%64), []byte("x"))
				return err
			}); err != nil {
				done <- err
				return
			}
		}
	}()
	var problems []error
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end) && len(problems) == 0; {
		if err := db.View(func(tx *storage.Tx) error {
			tx.CheckMetaPages(func(err error) { problems = append(problems, err) })
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("CheckMetaPages during writes reported %v, want nothing", problems)
	}
}

// writtenDB returns the path of a database of three writes (two tracks
// put, one deleted), closed.
func writtenDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := storage.Open(path, &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, write := range []func(tx *storage.Tx) error{
		func(tx *storage.Tx) error { _, _, _, err := tx.PutTrack("a", []byte("A")); return err },
		func(tx *storage.Tx) error { _, _, _, err := tx.PutTrack("b", []byte("B")); return err },
		func(tx *storage.Tx) error { _, err := tx.DeleteTrack("a"); return err },
	} {
		if err := db.Update(write); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// checkMetaPages opens the database at path read-only and returns what
// CheckMetaPages reports.
func checkMetaPages(t *testing.T, path string) []error {
	t.Helper()
	db, err := storage.Open(path, &storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var problems []error
	if err := db.View(func(tx *storage.Tx) error {
		tx.CheckMetaPages(func(err error) { problems = append(problems, err) })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return problems
}

// metaTxids reads the page size (from meta page 0) and the transaction
// ids of the two meta pages of the bbolt file at path.
func metaTxids(t *testing.T, path string) (pageSize int64, txids [2]uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	pageSize = int64(le.Uint32(b[16+8:]))
	for page := range int64(2) {
		txids[page] = le.Uint64(b[page*pageSize+16+48:])
	}
	return pageSize, txids
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
