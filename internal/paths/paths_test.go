package paths

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSame(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "w.db")
	other := filepath.Join(dir, "other.db")
	for _, p := range []string{db, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link, hard := filepath.Join(dir, "link.db"), filepath.Join(dir, "hard.db")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(db, hard); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{db, db, true},
		{db, filepath.Join(sub, "..", "w.db"), true},
		{db, link, true},
		{db, hard, true},
		{db, other, false},
		{db, filepath.Join(dir, "missing.db"), false},
		{filepath.Join(dir, "missing.db"), filepath.Join(dir, "missing.db"), false},
		{db, dir, false},
	} {
		if got := Same(c.a, c.b); got != c.want {
			t.Errorf("Same(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
