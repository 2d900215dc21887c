// Package pooltest is for tests that need the hugetlb pool: a package of
// its own so that the product's binaries do not link package testing.
package pooltest

import (
	"fmt"
	"os"
	"testing"

	"github.com/audotics/soundalike/internal/hugepages"
)

// RequiredEnv, when set, makes Require fail rather than skip a test
// without the pool (.ci/run reserves a pool and sets it).
const RequiredEnv = "SOUNDALIKE_TEST_HUGETLB_REQUIRED"

// Require skips t unless the hugetlb pool has pages free pages, and fails
// it instead where RequiredEnv is set.
func Require(t testing.TB, pages int) {
	t.Helper()
	free, err := hugepages.FreePages()
	if err == nil && free >= pages {
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
