package server

import (
	"os"
	"path/filepath"
	"strings"
)

// damonAdmin is the sysfs directory of the kernel's DAMON monitors.
const damonAdmin = "/sys/kernel/mm/damon/admin"

// DAMONRunning reports whether a monitor of DAMON, the kernel's memory
// access monitor, runs on this machine. On a kernel built without
// preemption, each of its samples holds a CPU for milliseconds (it checks
// a page in each of up to thousands of regions in a row), and the threads
// the scheduler queues behind it wait that long: a serving process's
// latency tail shows it (docs/scaling.md). It is false where the kernel
// has no DAMON or its sysfs is not readable.
func DAMONRunning() bool { return damonRunning(damonAdmin) }

func damonRunning(admin string) bool {
	states, _ := filepath.Glob(filepath.Join(admin, "kdamonds", "*", "state"))
	for _, p := range states {
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == "on" {
			return true
		}
	}
	return false
}
