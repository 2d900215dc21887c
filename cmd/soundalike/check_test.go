package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/storage"
	bolt "go.etcd.io/bbolt"
)

// Given a track record whose key is 30,000 bytes (as a flipped length
// field makes one), when check reports it, expect each problem on a line
// of bounded length that keeps its start and its reason, in the text
// report and in --json: the key was quoted whole, a line of 120 KB (tens
// of megabytes on a real file).
func TestCheckCutsLongProblems(t *testing.T) {
	db := testDB(t, 20)
	bdb, err := bolt.Open(db, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("tracks")).Put([]byte("long"+strings.Repeat("\x00", 30000)), []byte{1, 2, 3})
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	const reason = "shorter than its header"
	out, _, code := cli(t, "", "check", "--db", db)
	if code != 1 || !strings.Contains(out, reason) {
		t.Fatalf("check: exit %d, want 1 and a problem saying %q:\n%.2000s", code, reason, out)
	}
	for line := range strings.Lines(out) {
		if len(line) > 4*maxProblemBytes {
			t.Errorf("check printed a line of %d bytes, want at most %d: %.200q…", len(line), 4*maxProblemBytes, line)
		}
	}
	out, _, _ = cli(t, "", "check", "--db", db, "--json")
	var r checkJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("check --json: %v", err)
	}
	found := false
	for _, p := range r.Problems {
		if len(p) > 4*maxProblemBytes {
			t.Errorf("check --json: a problem of %d bytes, want at most %d: %.200q…", len(p), 4*maxProblemBytes, p)
		}
		found = found || strings.HasPrefix(p, `database file is damaged: track "long\x00`) && strings.HasSuffix(p, reason)
	}
	if !found {
		t.Errorf("check --json: problems %.2000q, want one naming the track and saying %q", r.Problems, reason)
	}
}

// Given a file that is no soundalike database (a CSV file, a bbolt file
// of a newer schema, no file at all), when check is run on it, expect the
// error every command gives (info's, here), exit 1 and no damage report:
// a backup is not what the user needs. Given a soundalike database whose
// meta pages are both damaged, expect the DAMAGED report.
func TestCheckOpenErrors(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "tracks.csv")
	if err := os.WriteFile(csv, []byte(strings.Repeat("track_id,track_name,danceability\nt1,A,0.5\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	bdb, err := bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte("magic"), []byte("soundalike")); err != nil {
			return err
		}
		return meta.Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, storage.SchemaVersion+1))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       error
	}{
		{"a CSV file", csv, soundalike.ErrNotSoundalike},
		{"a newer schema", newer, soundalike.ErrSchema},
		{"no file", filepath.Join(dir, "missing.db"), soundalike.ErrNoDatabase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCmd(t.Context(), "check", "--db", tc.path)
			_, _, infoErr := runCmd(t.Context(), "info", "--db", tc.path)
			if !errors.Is(err, tc.want) || infoErr == nil || err.Error() != infoErr.Error() || out != "" {
				t.Errorf("check = %v, printing %q; want %v as info gives it (%v) and no report", err, out, tc.want, infoErr)
			}
			if code := exitCode(err, io.Discard); code != 1 {
				t.Errorf("check: exit %d, want 1", code)
			}
		})
	}
	t.Run("damaged meta pages", func(t *testing.T) {
		db := testDB(t, 20)
		dbdamage.Flip(t, db, 64, 4)
		dbdamage.Flip(t, db, dbdamage.PageSize+64, 4)
		out, _, code := cli(t, "", "check", "--db", db)
		if code != 1 || !strings.Contains(out, "DAMAGED: 1 problem") || !strings.Contains(out, "Restore the file from a backup") {
			t.Errorf("check of a file whose meta pages are damaged: exit %d, want 1 and a damage report:\n%s", code, out)
		}
	})
}

// corruptIndexChunk flips a byte in the middle of the first chunk of the
// current index of the database at path, which fails its checksum.
func corruptIndexChunk(t *testing.T, path string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		var chunks *bolt.Bucket
		indexes := tx.Bucket([]byte("indexes"))
		indexes.ForEachBucket(func(k []byte) error {
			chunks = indexes.Bucket(k).Bucket([]byte("chunks"))
			return nil
		})
		k, v := chunks.Cursor().First()
		bad := append([]byte(nil), v...)
		bad[len(bad)/2] ^= 0xff
		return chunks.Put(k, bad)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Given a database whose stored index fails its checksum (tracks and
// models sound), when checked, expect the index's problem line to give
// the index's remedy (a full reindex, not a backup, in the command
// line's words), the counts to say the index could not be read rather
// than that it has 0 tracks, in the text report and in --json, and the
// closing advice to be the reindex alone. Given a sound database and one
// without an index, expect their counts as before.
func TestCheckDamagedIndex(t *testing.T) {
	db := damageDB(t)
	corruptIndexChunk(t, db)
	out, _, code := cli(t, "", "check", "--db", db)
	if code != 1 || !strings.Contains(out, "DAMAGED: 1 problem\n") {
		t.Fatalf("check with a corrupt index chunk: exit %d, want 1 and one problem:\n%s", code, out)
	}
	problem := ""
	for line := range strings.Lines(out) {
		if strings.Contains(line, "checksum") {
			problem = line
		}
	}
	if !strings.HasSuffix(problem, ": rebuild it with `soundalike reindex --full`\n") {
		t.Errorf("check with a corrupt index chunk: problem %q, want it to end with the reindex as its remedy", problem)
	}
	for _, wrong := range []string{"restore it from a backup", "Engine.Reindex", "an index of 0 tracks", "Restore the file from a backup"} {
		if strings.Contains(out, wrong) {
			t.Errorf("check with a corrupt index chunk says %q:\n%s", wrong, out)
		}
	}
	for _, want := range []string{
		" 1 model, an index that could not be read\n",
		"Only the index is damaged: `soundalike reindex --full` rebuilds it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check with a corrupt index chunk: want %q in:\n%s", want, out)
		}
	}
	out, _, _ = cli(t, "", "check", "--db", db, "--json")
	var r checkJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	if !r.IndexUnreadable || r.Indexed != 0 || len(r.Problems) != 1 || strings.Contains(r.Problems[0], "backup") || !isIndexProblem(r.Problems[0]) {
		t.Errorf("check --json with a corrupt index chunk = %s, want index_unreadable and the one problem's remedy the reindex", out)
	}

	for name, path := range map[string]string{"sound": damageDB(t), "without an index": noIndexDB(t, 20)} {
		out, _, code := cli(t, "", "check", "--db", path)
		if code != 0 || strings.Contains(out, "could not be read") || !strings.Contains(out, ", an index of ") {
			t.Errorf("check of a %s database: exit %d, want 0 and the index's count:\n%s", name, code, out)
		}
		out, _, _ = cli(t, "", "check", "--db", path, "--json")
		if strings.Contains(out, "index_unreadable") {
			t.Errorf("check --json of a %s database = %s, want no index_unreadable", name, out)
		}
	}
}

// Given a zero-byte database file (a production file truncated), when
// checked, expect the first remedy to be restoring a backup, since
// something emptied the file, and import second, for a new database. A
// missing file is no database yet: import alone.
func TestCheckEmptyFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t.Context(), "check", "--db", empty)
	msg := fmt.Sprint(err)
	restore, imp := strings.Index(msg, "restore it from a backup"), strings.Index(msg, "run `soundalike import` to create it")
	if !errors.Is(err, soundalike.ErrNoDatabase) || restore < 0 || imp < restore || !strings.Contains(msg, "the file is empty") {
		t.Errorf("check of an empty file = %v, want ErrNoDatabase saying the file is empty, restoring a backup first, then import", err)
	}
	_, _, err = runCmd(t.Context(), "check", "--db", filepath.Join(dir, "missing.db"))
	if msg := fmt.Sprint(err); !errors.Is(err, soundalike.ErrNoDatabase) || strings.Contains(msg, "backup") || !strings.Contains(msg, "run `soundalike import` to create it") {
		t.Errorf("check of a missing file = %v, want ErrNoDatabase with import alone", err)
	}
}
