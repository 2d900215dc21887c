package main

import (
	"encoding/json"
	"strings"
	"testing"

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
