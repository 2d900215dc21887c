package server

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDAMONRunning(t *testing.T) {
	admin := t.TempDir()
	state := func(kdamond, s string) {
		t.Helper()
		dir := filepath.Join(admin, "kdamonds", kdamond)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "state"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if damonRunning(admin) {
		t.Error("no kdamonds: running")
	}
	state("0", "off\n")
	if damonRunning(admin) {
		t.Error("kdamond 0 off: running")
	}
	state("1", "on\n")
	if !damonRunning(admin) {
		t.Error("kdamond 1 on: not running")
	}
	if damonRunning(filepath.Join(admin, "missing")) {
		t.Error("no DAMON sysfs: running")
	}
}
