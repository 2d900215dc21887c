package server

import (
	"errors"
	"io/fs"
	"runtime"
	"testing"
)

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
