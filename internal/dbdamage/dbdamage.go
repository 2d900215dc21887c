// Package dbdamage damages copies of database files for the fault-injection
// tests of storage and the commands: it finds the pages of each bucket,
// the size the file's pages need, and flips bytes. It reads bbolt's page
// layout directly (a 16-byte header: id, flags, count, overflow; 16-byte
// elements), so that a test damages exactly the page it means to.
package dbdamage

import (
	"encoding/binary"
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// PageSize is the page size of the files the tests build (bbolt's default,
// the OS page size on the machines they run on).
const PageSize = 4096

// HighWater returns the size the file's pages need: bbolt grows the file
// in larger steps, so its size is often more.
func HighWater(t testing.TB, path string) int64 {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var n int64
	bdb.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

// BucketPages returns the pages of each top-level bucket that has pages of
// its own (not inline), its root first: its branch and leaf pages and
// those of the buckets nested in it.
func BucketPages(t testing.TB, path string) map[string][]uint64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	var walk func(pg uint64, out *[]uint64)
	walk = func(pg uint64, out *[]uint64) {
		p := data[pg*PageSize:]
		*out = append(*out, pg)
		flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
		for i := range count {
			e := p[16+16*i:]
			switch {
			case flags&0x01 != 0: // branch: pos, ksize, pgid
				walk(le.Uint64(e[8:]), out)
			case flags&0x02 != 0: // leaf: flags, pos, ksize, vsize
				if le.Uint32(e[0:])&0x01 == 0 {
					continue
				}
				pos, ks := le.Uint32(e[4:]), le.Uint32(e[8:])
				v := e[pos+ks:]
				if root := le.Uint64(v); root != 0 { // not inline
					walk(root, out)
				}
			}
		}
	}
	pages := map[string][]uint64{}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	bdb.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if root := uint64(b.Root()); root != 0 {
				var ps []uint64
				walk(root, &ps)
				pages[string(name)] = ps
			}
			return nil
		})
	})
	return pages
}

// Flip inverts (XOR 0xa5) n bytes of the file at path from offset off.
func Flip(t testing.TB, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] ^= 0xa5
	}
	if _, err := f.WriteAt(buf, off); err != nil {
		t.Fatal(err)
	}
}

// Copy copies the file src to dst.
func Copy(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// CorruptTrack gives the stored record of track id an unknown codec
// version, below the engine, as a disk error would: the record no longer
// decodes, while the file's pages stay sound.
func CorruptTrack(t testing.TB, path, id string) {
	t.Helper()
	updateTracks(t, path, func(b *bolt.Bucket) error {
		bad := append([]byte(nil), b.Get([]byte(id))...)
		if len(bad) < 13 {
			t.Fatalf("no stored track %s", id)
		}
		bad[12] = 99 // after [seq u64][node u32]: the track's codec version
		return b.Put([]byte(id), bad)
	})
}

// MoveTrack stores the record of track id under the key to instead,
// its node replaced by node(the tracks' nodes), below the engine, as a
// disk error would.
func MoveTrack(t testing.TB, path, id, to string, node func(nodeOf map[string]uint32) uint32) {
	t.Helper()
	updateTracks(t, path, func(b *bolt.Bucket) error {
		nodeOf := map[string]uint32{}
		if err := b.ForEach(func(k, v []byte) error {
			nodeOf[string(k)] = binary.BigEndian.Uint32(v[8:12]) // after [seq u64]
			return nil
		}); err != nil {
			return err
		}
		rec := append([]byte(nil), b.Get([]byte(id))...)
		if len(rec) < 12 {
			t.Fatalf("no stored track %s", id)
		}
		binary.BigEndian.PutUint32(rec[8:12], node(nodeOf))
		if err := b.Delete([]byte(id)); err != nil {
			return err
		}
		return b.Put([]byte(to), rec)
	})
}

// updateTracks runs fn on the tracks bucket of the database at path in a
// write transaction of bbolt's own, below the engine.
func updateTracks(t testing.TB, path string, fn func(b *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket([]byte("tracks"))) }); err != nil {
		t.Fatal(err)
	}
}
