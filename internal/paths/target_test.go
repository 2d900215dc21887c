package paths

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTarget(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ name, to string }{
		{"rel", "file"},         // relative to the link's directory
		{"abs", file},           // absolute
		{"chain", "rel"},        // a link to a link
		{"dangling", "sub/new"}, // a file that does not exist yet
		{"loop1", "loop2"},      // a loop
		{"loop2", "loop1"},
	} {
		if err := os.Symlink(l.to, filepath.Join(dir, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ path, want string }{
		{file, file},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "missing")},
		{filepath.Join(dir, "rel"), dir + "/file"},
		{filepath.Join(dir, "abs"), file},
		{filepath.Join(dir, "chain"), dir + "/file"},
		{filepath.Join(dir, "dangling"), dir + "/sub/new"},
	} {
		if got, err := Target(c.path); err != nil || got != c.want {
			t.Errorf("Target(%s) = %q, %v, want %q", c.path, got, err, c.want)
		}
	}
	if got, err := Target(filepath.Join(dir, "loop1")); err == nil || !strings.Contains(err.Error(), "a loop?") {
		t.Errorf("Target of a symlink loop = %q, %v, want an error saying it may be a loop", got, err)
	}
}

func TestDir(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"f", "."},
		{"a/f", "a/"},
		{"a/x/../f", "a/x/../"},
		{"/f", "/"},
	} {
		if got := Dir(c.path); got != c.want {
			t.Errorf("Dir(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

// A symlink another user planted in a shared sticky directory (/tmp) is
// not followed: root writing through it would replace a file of the
// planter's choosing. One this user owns there is.
func TestTargetRefusesAnotherUsersLinkInAStickyDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give a link to another user")
	}
	shared := t.TempDir()
	if err := os.Chmod(shared, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	planted, own := filepath.Join(shared, "planted"), filepath.Join(shared, "own")
	for _, l := range []string{planted, own} {
		if err := os.Symlink(victim, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Lchown(planted, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if got, err := Target(planted); err == nil || !strings.Contains(err.Error(), "user 65534 owns") {
		t.Errorf("Target(a link user 65534 planted in a sticky dir) = %q, %v; want it refused", got, err)
	}
	if got, err := Target(own); err != nil || got != victim {
		t.Errorf("Target(this user's link in a sticky dir) = %q, %v; want %s", got, err, victim)
	}
}
