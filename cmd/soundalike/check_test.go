package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
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
