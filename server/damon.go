package server

import (
	"os"
	"path/filepath"
	"strings"
)

// damonAdmin is the sysfs directory of the kernel's DAMON monitors.
const damonAdmin = "/sys/kernel/mm/damon/admin"

// DAMONRunning reports whether a monitor of DAMON, the kernel's memory
// access monitor, runs on this machine. Each of its samples checks, and
// clears, the accessed bits of pages across all of memory, the pages a
// server reads at random among them; on a virtual machine that stalls the
// server's next reads of those pages for milliseconds, and a serving
// process's latency tail shows it (docs/scaling.md). It is false where the
// kernel has no DAMON or its sysfs is not readable.
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
