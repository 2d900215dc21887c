package server

import (
	"errors"
	"io/fs"
	"runtime"
	"strings"
	"testing"
)

// A serving process's smaps_rollup at 1M tracks with its heap on huge
// pages (Anonymous rounded to 512 MiB; most lines ReadHeapPages does not
// read left out).
const rollup1M = `56116c74a000-7ffd14bec000 ---p 00000000 00:00 0                          [rollup]
Rss:              535232 kB
Pss:              534401 kB
Anonymous:        524288 kB
LazyFree:              0 kB
AnonHugePages:    487424 kB
ShmemPmdMapped:        0 kB
Private_Hugetlb:  251904 kB
`

func TestParseHeapPages(t *testing.T) {
	hp, err := parseHeapPages([]byte(rollup1M))
	if err != nil {
		t.Fatal(err)
	}
	if hp.Anon != 524288<<10 || hp.Huge != 487424<<10 {
		t.Fatalf("got %+v, want Anon %d and Huge %d bytes", hp, 524288<<10, 487424<<10)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"no AnonHugePages", "Anonymous: 10 kB\n", "no AnonHugePages line"},
		{"no Anonymous", "AnonHugePages: 0 kB\n", "no Anonymous line"},
		{"Anonymous twice", "Anonymous: 10 kB\nAnonymous: 10 kB\n", "no AnonHugePages line"},
		{"too large", "Anonymous: 9223372036854775807 kB\nAnonHugePages: 0 kB\n", `Anonymous: "9223372036854775807 kB": want a number of kB`},
		{"a count in pages", "Anonymous: 10 pages\nAnonHugePages: 0 kB\n", `Anonymous: "10 pages": want a number of kB`},
		{"not a number", "Anonymous: 1e3 kB\nAnonHugePages: 0 kB\n", `Anonymous: "1e3 kB": want a number of kB`},
		{"negative", "Anonymous: 10 kB\nAnonHugePages: -4 kB\n", `AnonHugePages: "-4 kB": want a number of kB`},
	} {
		_, err := parseHeapPages([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), smapsRollup) {
			t.Errorf("%s: got error %v, want one naming %s and saying %q", tc.name, err, smapsRollup, tc.want)
		}
	}
}

func TestOnBasePages(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		anon, huge int64
		want       bool
	}{
		{512 * mib, 476 * mib, false}, // serve at 1M, heap reserved on huge pages
		{512 * mib, 0, true},          // the same under transparent_hugepage "never"
		{400 * mib, 0, true},
		{200 * mib, 0, false}, // too little to matter
		{256 * mib, 0, true},
		{256*mib - 1, 0, false},
		{600 * mib, 299 * mib, true},
		{600 * mib, 300 * mib, false}, // half of it huge
		{0, 0, false},
	} {
		if got := (HeapPages{tc.anon, tc.huge}).OnBasePages(); got != tc.want {
			t.Errorf("Anon %d MiB, Huge %d MiB: OnBasePages %v, want %v", tc.anon/mib, tc.huge/mib, got, tc.want)
		}
	}
}

// TestReadHeapPages reads this process's own smaps_rollup: its heap holds
// the test binary's allocations, so Anonymous is not zero.
func TestReadHeapPages(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, err := ReadHeapPages(); err == nil {
			t.Fatal("ReadHeapPages succeeded off Linux")
		}
		t.Skip("smaps_rollup is Linux's")
	}
	hp, err := ReadHeapPages()
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%v (a kernel before 4.14, or a sandbox)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if hp.Anon <= 0 || hp.Huge < 0 || hp.Huge > hp.Anon {
		t.Fatalf("got %+v: want 0 < Anon and 0 ≤ Huge ≤ Anon", hp)
	}
}
