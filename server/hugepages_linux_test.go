package server

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// hugeHeapChild names the role a re-run of this test plays: "reserve",
// "control", "kept" or "sealed". The checks run in a fresh process because the reserve must come
// before the heap's other large allocations, as it does in serve.
const hugeHeapChild = "SOUNDALIKE_TEST_HUGE_HEAP"

// TestReserveHugeHeap checks that a large allocation made after
// ReserveHugeHeap is backed by transparent huge pages, and that without the
// reserve the same allocation is not: the kernel's policy must be madvise.
// After HugeHeap.Seal, memory touched before keeps its huge pages and
// memory touched later in the reserve gets none.
func TestReserveHugeHeap(t *testing.T) {
	switch os.Getenv(hugeHeapChild) {
	case "reserve":
		if n := ReserveHugeHeap(128 << 20).Size(); n < 64<<20 {
			t.Fatalf("ReserveHugeHeap(128 MiB) advised %d bytes, want most of it", n)
		}
		fmt.Printf("huge %d\n", touchedHugeBytes(t))
		return
	case "control":
		fmt.Printf("huge %d\n", touchedHugeBytes(t))
		return
	case "dirty":
		// Memory the heap used and freed: the reserve reuses it, and the
		// runtime zeroes it, so its pages are resident before the advice.
		old := make([]byte, 160<<20)
		touch(old)
		old = nil
		runtime.GC()
		if n := ReserveHugeHeap(128 << 20).Size(); n < 64<<20 {
			t.Fatalf("ReserveHugeHeap(128 MiB) advised %d bytes, want most of it", n)
		}
		fmt.Printf("huge %d\n", touchedHugeBytes(t))
		return
	case "kept":
		h := ReserveHugeHeap(128 << 20)
		b := make([]byte, 32<<20)
		touch(b)
		h.Seal()
		fmt.Printf("huge %d\n", hugeBytesOf(t, b))
		return
	case "sealed":
		h := ReserveHugeHeap(128 << 20)
		h.Seal()
		b := make([]byte, 32<<20)
		// The allocation may start below the reserve, in free pages
		// next to it; most of it must lie inside for the check to tell.
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if lo, hi := max(p, h.at), min(p+uintptr(len(b)), h.at+h.size); hi < lo+uintptr(len(b))/2 {
			t.Fatalf("the allocation after Seal (%#x) lies mostly outside the reserve (%#x, %d bytes): the check cannot tell Seal's effect", p, h.at, h.size)
		}
		touch(b)
		fmt.Printf("huge %d\n", hugeBytesOf(t, b))
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
	if dirty := hugeBytesIn(t, "dirty"); dirty < 16<<20 {
		t.Errorf("after a reserve on memory the heap had used, a touched 32 MiB allocation has %d bytes on huge pages, want ≥ 16 MiB", dirty)
	}
	if kept := hugeBytesIn(t, "kept"); kept < 16<<20 {
		t.Errorf("after Seal, an allocation touched before it has %d bytes on huge pages, want ≥ 16 MiB", kept)
	}
	if late := hugeBytesIn(t, "sealed"); late != 0 {
		t.Errorf("after Seal, a touched 32 MiB allocation has %d bytes on huge pages, want 0", late)
	}
}

// hugeBytesIn runs this test in a new process in the given role and returns
// the huge-page bytes it reports.
func hugeBytesIn(t *testing.T, role string) int64 {
	return childFigure(t, "TestReserveHugeHeap", hugeHeapChild, role, "huge")
}

// childFigure runs the test named test in a new process with env=role set,
// and returns the number the process printed on a line "name N".
func childFigure(t *testing.T, test, env, role, name string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+role)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s run: %v\n%s", role, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s run: %q: %v", role, line, err)
			}
			return n
		}
	}
	t.Fatalf("%s run printed no %q figure:\n%s", role, name, out)
	return 0
}

// touchedHugeBytes allocates 32 MiB, writes every byte, and returns the
// AnonHugePages of the mappings that hold it.
func touchedHugeBytes(t *testing.T) int64 {
	b := make([]byte, 32<<20)
	touch(b)
	return hugeBytesOf(t, b)
}

// touch writes every byte of b.
func touch(b []byte) {
	for i := range b {
		b[i] = 1
	}
}

// hugeBytesOf returns the AnonHugePages of the mappings that hold b.
func hugeBytesOf(t *testing.T, b []byte) int64 {
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
