//go:build !unix

package embedder

import "time"

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }
