package storage_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/audotics/soundalike/storage"
)

func readPart(db *storage.DB, name string) (storage.IndexInfo, []byte, error) {
	var info storage.IndexInfo
	var data []byte
	err := db.View(func(tx *storage.Tx) error {
		return tx.ReadIndexPart(name, func(i storage.IndexInfo, r io.Reader) error {
			info = i
			var err error
			data, err = io.ReadAll(r)
			return err
		})
	})
	return info, data, err
}

func writeBytes(b []byte) func(w io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

// TestIndexParts: a part is stored with its index, switched with it and
// dropped with it; a failure writing a part leaves the previous index and
// its parts current.
func TestIndexParts(t *testing.T) {
	db := MustOpen(t)
	if _, _, err := readPart(db, "layout"); !errors.Is(err, storage.ErrNoIndex) {
		t.Fatalf("ReadIndexPart with no index = %v, want ErrNoIndex", err)
	}
	layout := bytes.Repeat([]byte{7, 8}, storage.ChunkSize) // 2 chunks
	id1, err := db.WriteIndex([]byte("m1"), 1, writeBytes([]byte("graph 1")),
		storage.IndexPart{Name: "layout", Write: writeBytes(layout)},
		storage.IndexPart{Name: "empty", Write: writeBytes(nil)})
	if err != nil {
		t.Fatal(err)
	}
	info, got, err := readPart(db, "layout")
	if err != nil || info.ID != id1 || !bytes.Equal(got, layout) {
		t.Fatalf("layout of index %d: info %+v, %d bytes, %v; want %d bytes", id1, info, len(got), err, len(layout))
	}
	if _, got, err := readPart(db, "empty"); err != nil || len(got) != 0 {
		t.Errorf("empty part: %q, %v", got, err)
	}
	if _, _, err := readPart(db, "other"); !errors.Is(err, storage.ErrNoIndexPart) {
		t.Errorf("a part never written: %v, want ErrNoIndexPart", err)
	}

	// A part whose writer fails: no switch, the first index and its part stay.
	_, err = db.WriteIndex([]byte("m2"), 2, writeBytes([]byte("graph 2")),
		storage.IndexPart{Name: "layout", Write: func(w io.Writer) error {
			w.Write(bytes.Repeat([]byte{1}, storage.ChunkSize+3))
			return errors.New("injected failure")
		}})
	if err == nil || !strings.Contains(err.Error(), "layout: injected failure") {
		t.Fatalf("WriteIndex with a failing part = %v", err)
	}
	if info, got, err := readPart(db, "layout"); err != nil || info.ID != id1 || !bytes.Equal(got, layout) {
		t.Fatalf("after the failed write: index %d, %d bytes, %v; want index %d's layout", info.ID, len(got), err, id1)
	}

	// An index without parts replaces the first one and its parts.
	id3, err := db.WriteIndex([]byte("m3"), 3, writeBytes([]byte("graph 3")))
	if err != nil {
		t.Fatal(err)
	}
	if info, _, err := readPart(db, "layout"); !errors.Is(err, storage.ErrNoIndexPart) || info.ID != 0 {
		t.Errorf("index %d, written without a layout: ReadIndexPart = %+v, %v; want ErrNoIndexPart", id3, info, err)
	}
}
