//go:build !(linux || darwin || freebsd)

package cputime

import "time"

const (
	clockProcess = 0
	clockThread  = 1
)

func clock(int32) time.Duration { return 0 }
