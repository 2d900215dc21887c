package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/audotics/soundalike"
)

// defaultLockTimeout is --lock-timeout's default: as long as a server's
// reload of a large catalogue or a short batch job holds the file, so
// that commands started beside them wait their turn instead of failing.
const defaultLockTimeout = 60 * time.Second

// lockFlag is --lock-timeout, shared by every command that opens the
// database. It is positive: the engine has no "do not wait" (a zero
// LockTimeout means its 1s default), so 0 is refused rather than quietly
// turned into a second.
type lockFlag struct {
	timeout time.Duration
}

func (l *lockFlag) String() string {
	if l == nil {
		return ""
	}
	return l.timeout.String()
}

func (l *lockFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 60s or 5m")
	}
	if d <= 0 {
		return errors.New("want a positive duration such as 60s or 5m (how long to wait while another process holds the database)")
	}
	l.timeout = d
	return nil
}

// withoutLockFlag is s for a command that takes no --lock-timeout.
func (s stdio) withoutLockFlag() stdio {
	s.lock = nil
	return s
}

// engineOptions returns o (nil: the defaults) with the command's
// --lock-timeout, and a line on standard error, naming the holder, when an
// open of the file has to wait for it.
func (s stdio) engineOptions(o *soundalike.Options) *soundalike.Options {
	if o == nil {
		o = soundalike.DefaultOptions()
	}
	if s.lock != nil && s.lock.timeout > 0 {
		o.LockTimeout = s.lock.timeout
	}
	wait := o.LockTimeout
	o.OnLockWait = func(holders string) {
		fmt.Fprintf(s.err, "soundalike: the database is %s; waiting up to %v (--lock-timeout)\n", holders, wait)
	}
	return o
}
