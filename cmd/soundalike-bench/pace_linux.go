package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A pacer sleeps an open-loop connection until its next request is due.
//
// On Linux it arms a timerfd and reads it through the runtime's network
// poller. time.Sleep cannot wait less than a millisecond when the
// process is idle: the runtime blocks in epoll_wait, whose timeout is
// whole milliseconds, so a request due in 300 µs left up to 1 ms late,
// and a client that measures from the intended send time counted that
// as the server's latency. The timerfd wakes the poller when it fires.
type pacer struct {
	fd int      // the timerfd, for timerfd_settime
	f  *os.File // the same descriptor, registered with the poller
	b  [8]byte  // the expiration count a read returns
}

func newPacer() (*pacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	// os.NewFile registers a non-blocking descriptor with the poller.
	// f.Fd would make it blocking again, hence the int kept beside it.
	return &pacer{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}, nil
}

// sleepUntil returns once t has come: never before it, at once when it
// has passed.
func (p *pacer) sleepUntil(t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(p.fd, 0, &spec, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	if _, err := p.f.Read(p.b[:]); err != nil {
		return fmt.Errorf("timerfd read: %w", err)
	}
	return nil
}

func (p *pacer) close() error { return p.f.Close() }
