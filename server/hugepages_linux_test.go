package server

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// hugeHeapChild names the role a re-run of this test plays: "reserve" or
// "control". The checks run in a fresh process because the reserve must come
// before the heap's other large allocations, as it does in serve.
const hugeHeapChild = "SOUNDALIKE_TEST_HUGE_HEAP"

// TestReserveHugeHeap checks that a large allocation made after
// ReserveHugeHeap is backed by transparent huge pages, and that without the
// reserve the same allocation is not: the kernel's policy must be madvise.
func TestReserveHugeHeap(t *testing.T) {
	switch os.Getenv(hugeHeapChild) {
	case "reserve":
		if n := ReserveHugeHeap(128 << 20); n < 64<<20 {
			t.Fatalf("ReserveHugeHeap(128 MiB) advised %d bytes, want most of it", n)
		}
		fmt.Printf("huge %d\n", touchedHugeBytes(t))
		return
	case "control":
		fmt.Printf("huge %d\n", touchedHugeBytes(t))
		return
	}
	if !thpAdvised() {
		t.Skipf("%s is not [madvise]: ReserveHugeHeap has nothing to do on this machine", thpEnabled)
	}
	reserved, control := hugeBytesIn(t, "reserve"), hugeBytesIn(t, "control")
	if reserved < 16<<20 {
		t.Errorf("after the reserve, a touched 32 MiB allocation has %d bytes on huge pages, want ≥ 16 MiB", reserved)
	}
	if control != 0 {
		t.Errorf("without the reserve, a touched 32 MiB allocation has %d bytes on huge pages, want 0 (madvise policy)", control)
	}
}

// hugeBytesIn runs this test in a new process in the given role and returns
// the huge-page bytes it reports.
func hugeBytesIn(t *testing.T, role string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReserveHugeHeap$", "-test.count=1")
	cmd.Env = append(os.Environ(), hugeHeapChild+"="+role)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s run: %v\n%s", role, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "huge "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s run: %q: %v", role, line, err)
			}
			return n
		}
	}
	t.Fatalf("%s run printed no huge-page figure:\n%s", role, out)
	return 0
}

// touchedHugeBytes allocates 32 MiB, writes every byte, and returns the
// AnonHugePages of the mappings that hold it.
func touchedHugeBytes(t *testing.T) int64 {
	b := make([]byte, 32<<20)
	for i := range b {
		b[i] = 1
	}
	lo := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	return anonHugeBytes(t, lo, lo+uint64(len(b)))
}

// anonHugeBytes sums AnonHugePages over the mappings in /proc/self/smaps
// that overlap [lo, hi).
func anonHugeBytes(t *testing.T, lo, hi uint64) int64 {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sum int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if start, end, ok := strings.Cut(fs[0], "-"); ok && !strings.HasSuffix(fs[0], ":") {
			a, err1 := strconv.ParseUint(start, 16, 64)
			z, err2 := strconv.ParseUint(end, 16, 64)
			in = err1 == nil && err2 == nil && a < hi && z > lo
			continue
		}
		if in && fs[0] == "AnonHugePages:" && len(fs) >= 2 {
			kb, err := strconv.ParseInt(fs[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps: %q: %v", sc.Text(), err)
			}
			sum += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}
