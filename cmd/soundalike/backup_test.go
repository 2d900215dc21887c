package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/dbdamage"
)

// Given a good backup at --out and a database damaged since, when backup
// runs again to the same file (a nightly backup), expect an error saying
// the database is damaged and that --out was left as it was, the good
// backup unchanged and nothing else left beside it; --check=false writes
// the damaged copy when asked.
func TestBackupOfDamagedDatabaseKeepsOut(t *testing.T) {
	db := damageDB(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "nightly.db")
	if _, _, err := runCmd(t.Context(), "backup", "--db", db, "--out", out); err != nil {
		t.Fatalf("backup of a sound database: %v", err)
	}
	good, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	damaged := filepath.Join(t.TempDir(), "damaged.db")
	dbdamage.Copy(t, db, damaged)
	tracks := dbdamage.BucketPages(t, damaged)["tracks"]
	dbdamage.Flip(t, damaged, int64(tracks[len(tracks)-1])*dbdamage.PageSize, 16)

	_, _, err = runCmd(t.Context(), "backup", "--db", damaged, "--out", out)
	if !errors.Is(err, soundalike.ErrDamaged) || !strings.Contains(err.Error(), out+" was left as it was") || exitCode(err, io.Discard) != 1 {
		t.Errorf("backup of a damaged database = %v, want a damage error saying %s was left as it was", err, out)
	}
	if after, err := os.ReadFile(out); err != nil || !bytes.Equal(after, good) {
		t.Errorf("backup of a damaged database replaced the good backup (%v)", err)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("after the failed backup, %s holds %q, want only nightly.db", dir, names)
	}

	raw := filepath.Join(dir, "raw.db")
	if _, _, err := runCmd(t.Context(), "backup", "--db", damaged, "--out", raw, "--check=false"); err != nil {
		t.Fatalf("backup --check=false of a damaged database: %v, want the copy written", err)
	}
	if _, _, code := cli(t, "", "check", "--db", raw); code != 1 {
		t.Errorf("check of the --check=false copy: exit %d, want 1 (the damage copied)", code)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// Given a database of one model, expect backup and info to say "1
// model" and "1 version", as check does, not "1 models".
func TestBackupAndInfoCountOneInTheSingular(t *testing.T) {
	db := testDB(t, 20)
	_, stderr, err := runCmd(t.Context(), "backup", "--db", db, "--out", filepath.Join(t.TempDir(), "b.db"))
	if want := "checked: 20 tracks, 1 model, an index of 20 tracks)"; err != nil || !strings.Contains(stderr, want) {
		t.Errorf("backup = %v, %q; want %q", err, stderr, want)
	}
	out, _, err := runCmd(t.Context(), "info", "--db", db)
	if want := "; 1 version stored)"; err != nil || !strings.Contains(out, want) || !strings.Contains(out, "index         20 tracks, model") {
		t.Errorf("info = %v, %q; want %q", err, out, want)
	}
}

// Given a database whose one problem is a damaged index, when backed up,
// expect the refusal to count it in words ("1 problem", not "1
// problem(s)") and to quote it with the index's remedy, the reindex.
func TestBackupCountsProblemsInWords(t *testing.T) {
	db := damageDB(t)
	corruptIndexChunk(t, db)
	_, _, err := runCmd(t.Context(), "backup", "--db", db, "--out", filepath.Join(t.TempDir(), "b.db"))
	msg := fmt.Sprint(err)
	if !errors.Is(err, soundalike.ErrDamaged) || !strings.Contains(msg, "the copy has 1 problem, the first: ") {
		t.Errorf("backup of a database with a damaged index = %v, want ErrDamaged counting 1 problem in words", err)
	}
	if strings.Contains(msg, "(s)") || !strings.Contains(msg, "rebuild it with `soundalike reindex --full`;") {
		t.Errorf("backup of a database with a damaged index = %v, want no (s) plural and the problem's remedy the reindex", err)
	}
}
