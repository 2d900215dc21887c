// Package pooltest is for tests that need the hugetlb pool: a package of
// its own so that the product's binaries do not link package testing.
package pooltest

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/audotics/soundalike/internal/procfs"
)

// RequiredEnv, when set, makes Require fail rather than skip a test
// without the pool (.ci/run reserves a pool and sets it).
const RequiredEnv = "SOUNDALIKE_TEST_HUGETLB_REQUIRED"

// Require skips t unless the hugetlb pool has pages free pages, and fails
// it instead where RequiredEnv is set.
func Require(t testing.TB, pages int) {
	t.Helper()
	free, err := freePages()
	if err == nil && free >= int64(pages) {
		return
	}
	msg := fmt.Sprintf("the hugetlb pool has %d free pages, want %d (sysctl vm.nr_hugepages reserves them)", free, pages)
	if err != nil {
		msg = fmt.Sprintf("the hugetlb pool: %v", err)
	}
	if os.Getenv(RequiredEnv) != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Held returns the bytes of hugetlb pages this process maps (HugetlbPages
// in /proc/self/status): unlike the pool's free pages, other processes'
// use does not change it. It fails t where the line is missing.
func Held(t testing.TB) int64 {
	t.Helper()
	v, err := procfs.Read("/proc/self/status", "HugetlbPages")
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

// Settle collects garbage until this process maps no hugetlb pages, so
// that what a test then counts with Held is its own: an earlier test's
// mapping is unmapped by a cleanup at some collection after that test,
// possibly in the middle of the next one.
func Settle(t testing.TB) {
	t.Helper()
	CollectUntil(t, 0, "before the test")
}

// CollectUntil collects garbage until this process maps at most held bytes
// of hugetlb pages: the cleanups of unreachable mappings unmap them. It
// fails t after 30 s, naming when (what was to be collected).
func CollectUntil(t testing.TB, held int64, when string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for Held(t) > held {
		if time.Now().After(deadline) {
			t.Fatalf("30 s of collections %s: the process maps %d bytes of hugetlb pages, want at most %d", when, Held(t), held)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// freePages returns the free pages of the hugetlb pool (HugePages_Free in
// /proc/meminfo; an error where there is none).
func freePages() (int64, error) {
	v, err := procfs.Read("/proc/meminfo", "HugePages_Free")
	if err != nil {
		return 0, err
	}
	return v[0], nil
}
