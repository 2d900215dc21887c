//go:build linux || darwin || freebsd

package cputime

import (
	"time"

	"golang.org/x/sys/unix"
)

const (
	clockProcess = unix.CLOCK_PROCESS_CPUTIME_ID
	clockThread  = unix.CLOCK_THREAD_CPUTIME_ID
)

func clock(id int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
