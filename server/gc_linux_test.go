package server

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
)

// prefaultChild names the role a re-run of TestPrefaultHeap plays:
// "prefault" or "control". Each runs in a fresh process, whose heap starts
// from nothing, as serve's does.
const prefaultChild = "SOUNDALIKE_TEST_PREFAULT"

// TestPrefaultHeap checks that after PrefaultHeap, a process that holds a
// loaded snapshot and then allocates like a server (short-lived objects of
// mixed sizes, through several collections) takes a small fraction of the
// page faults the same process takes without it.
func TestPrefaultHeap(t *testing.T) {
	switch role := os.Getenv(prefaultChild); role {
	case "prefault", "control":
		snapshot := loadLikeSnapshot(96 << 20)
		debug.SetGCPercent(50)
		if role == "prefault" && PrefaultHeap() < 48<<20 {
			t.Fatal("PrefaultHeap allocated less than the collector's headroom")
		}
		before := minorFaults(t)
		serveLike(3 * 48 << 20)
		fmt.Printf("faults %d\n", minorFaults(t)-before)
		runtime.KeepAlive(snapshot)
		return
	}
	prefaulted := childFigure(t, "TestPrefaultHeap", prefaultChild, "prefault", "faults")
	control := childFigure(t, "TestPrefaultHeap", prefaultChild, "control", "faults")
	t.Logf("page faults while serving: %d after PrefaultHeap, %d without", prefaulted, control)
	// Without it the heap grows by its 48 MiB headroom while serving:
	// thousands of 4 KiB faults (fewer where the heap is on huge pages).
	if control < 20 {
		t.Fatalf("without PrefaultHeap serving took %d page faults: the check cannot tell the two apart", control)
	}
	if prefaulted*4 > control {
		t.Errorf("serving after PrefaultHeap took %d page faults, without it %d: want under a quarter", prefaulted, control)
	}
}

// loadLikeSnapshot allocates n bytes of pointer-free memory in 1 MiB
// pieces, writes them, and collects, as a snapshot load leaves the heap.
func loadLikeSnapshot(n int) [][]byte {
	var s [][]byte
	for range n >> 20 {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		s = append(s, b)
	}
	runtime.GC()
	return s
}

// serveLike allocates n bytes as short-lived objects of 16 bytes to 8 KiB,
// the last 256 of them alive at any time, as requests in flight hold them.
func serveLike(n int) {
	var live [256][]byte
	r := rand.New(rand.NewPCG(1, 2))
	for i, total := 0, 0; total < n; i++ {
		b := make([]byte, 16<<r.IntN(10))
		b[0], b[len(b)-1] = 1, 1
		live[i%len(live)] = b
		total += len(b)
	}
	runtime.KeepAlive(live)
}

// minorFaults returns the process's minor page faults so far.
func minorFaults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}
