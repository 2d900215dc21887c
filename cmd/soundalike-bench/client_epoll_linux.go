package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

const (
	haveEpoll = true
	defaultIO = ioEpoll
)

// epollDriver runs every connection on one locked OS thread: their
// sockets, non-blocking, and one timerfd for the next send time in one
// epoll set, as each of wrk2's threads does. A request costs a write, a
// read and a share of an epoll_wait (and in the open loop a timerfd
// setting), where a goroutine a connection adds the poller's parking,
// wake-ups of other threads and a timerfd each: the client takes less of
// the cores it shares with the server, and wakes less often.
type epollDriver struct {
	cfg   *clientConfig
	req   requestText
	t     clientTimes
	ep    int // the epoll set
	timer int // the timerfd, in the set as the event of index len(conns)
	conns []*epollConn
}

// epollConn is one connection of the epoll driver and its request in
// flight.
type epollConn struct {
	fd       int
	run      *connRun
	sched    *schedule
	w        []byte
	ans      answerBuf
	inFlight bool
	over     bool      // past the end, or broken
	due      time.Time // the next request's intended send time (open loop), or the one in flight's
	id       string    // the track of the request in flight
	sent     time.Time
}

func (d *epollDriver) dial(ctx context.Context, host string) error {
	d.ep, d.timer = -1, -1 // for close, whatever fails
	var err error
	if d.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		d.ep = -1
		return fmt.Errorf("epoll_create1: %w", err)
	}
	if d.timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		d.timer = -1
		return fmt.Errorf("timerfd_create: %w", err)
	}
	for i := range d.cfg.Conns {
		fd, local, err := dialSocket(ctx, host)
		if err != nil {
			return err
		}
		d.conns = append(d.conns, &epollConn{fd: fd, run: newConnRun(d.cfg, i, local)})
		if err := unix.EpollCtl(d.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
			return fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(len(d.conns))}
	if err := unix.EpollCtl(d.ep, unix.EPOLL_CTL_ADD, d.timer, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// dialSocket connects to host as the goroutine driver does (net.Dialer:
// ctx ends the connect, each of the host's addresses is tried) and returns
// a duplicate of the connection's socket, which the runtime's poller left
// non-blocking and without Nagle's delay, with its local address.
func dialSocket(ctx context.Context, host string) (fd int, local string, err error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", host)
	if err != nil {
		return -1, "", err
	}
	defer conn.Close()
	rc, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return -1, "", err
	}
	fd = -1
	if cerr := rc.Control(func(s uintptr) { fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); cerr != nil {
		return -1, "", cerr
	}
	if err != nil {
		return -1, "", fmt.Errorf("dup: %w", err)
	}
	return fd, conn.LocalAddr().String(), nil
}

func (d *epollDriver) close() {
	for _, c := range d.conns {
		unix.Close(c.fd)
	}
	if d.timer >= 0 {
		unix.Close(d.timer)
	}
	if d.ep >= 0 {
		unix.Close(d.ep)
	}
}

func (d *epollDriver) run(ctx context.Context, t clientTimes) ([]*connRun, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d.t = t
	runs := make([]*connRun, len(d.conns))
	for i, c := range d.conns {
		c.sched = newSchedule(d.cfg, i, t.start)
		if c.sched != nil {
			c.due = c.sched.next()
		}
		runs[i] = c.run
	}
	events := make([]unix.EpollEvent, len(d.conns)+1)
	var armed time.Time // the time the timer is set for
	for ctx.Err() == nil {
		wake, open := d.sendDue()
		if open == 0 {
			break
		}
		if !wake.IsZero() && !wake.Equal(armed) {
			if err := d.arm(wake); err != nil {
				return nil, err
			}
			armed = wake
		}
		// The timeout only bounds how late a cancelled ctx is seen.
		n, err := unix.EpollWait(d.ep, events, 100)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == len(d.conns) {
				var b [8]byte
				unix.Read(d.timer, b[:]) // the expiration count; EAGAIN when a later setting disarmed it
				armed = time.Time{}
				continue
			}
			d.receive(d.conns[ev.Fd])
		}
	}
	return runs, nil
}

// arm sets the timer to fire at at.
func (d *epollDriver) arm(at time.Time) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(int64(time.Until(at)), 1))}
	if err := unix.TimerfdSettime(d.timer, 0, &spec, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	return nil
}

// sendDue sends the next request on every idle connection whose request
// is due (at once, in the closed loop), and returns the earliest due time
// of the rest and how many connections are not over.
func (d *epollDriver) sendDue() (wake time.Time, open int) {
	now := time.Now()
	for _, c := range d.conns {
		if !c.over && !c.inFlight {
			if c.sched == nil {
				c.due = now
			}
			switch {
			case !c.due.Before(d.t.end):
				c.over = true
			case c.due.After(now):
				if wake.IsZero() || c.due.Before(wake) {
					wake = c.due
				}
			default:
				d.send(c)
				now = time.Now()
			}
		}
		if !c.over {
			open++
		}
	}
	return wake, open
}

// send writes the connection's next request.
func (d *epollDriver) send(c *epollConn) {
	c.id = c.run.pick(d.cfg)
	c.w = d.req.append(c.w[:0], c.id)
	c.sent = time.Now()
	c.inFlight = true
	// One small request on an idle connection: the socket's buffer takes
	// all of it, or the connection is broken.
	n, err := unix.Write(c.fd, c.w)
	if err == nil && n < len(c.w) {
		err = fmt.Errorf("wrote %d of %d bytes", n, len(c.w))
	}
	if err != nil {
		d.finish(c, broken(err))
	}
}

// receive reads what the connection's socket holds and ends its request
// in flight once its answer is whole.
func (d *epollDriver) receive(c *epollConn) {
	if c.over { // past the end, and the server closed it or sent what was not asked
		unix.EpollCtl(d.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
		return
	}
	k, err := unix.Read(c.fd, c.ans.space())
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return
	case err != nil:
		d.finish(c, broken(err))
		return
	case k == 0:
		d.finish(c, broken(errors.New("the server closed the connection")))
		return
	}
	c.ans.added(k)
	status, ok, err := c.ans.next()
	switch {
	case err != nil:
		d.finish(c, broken(err))
	case ok && !c.inFlight:
		d.finish(c, broken(errors.New("an answer to no request")))
	case ok:
		d.finish(c, answerStatus(c.id, status))
	}
}

// finish records the connection's request in flight, answered now or
// failed (a failure on an idle connection counts as one failed request),
// and readies the connection for its next request: a broken one has
// none.
func (d *epollDriver) finish(c *epollConn, err error) {
	if c.inFlight {
		c.run.done(d.cfg, d.t, c.id, c.due, c.sent, time.Now(), err)
		c.inFlight = false
		if c.sched != nil {
			c.due = c.sched.next()
		}
	} else {
		c.run.failed(err)
	}
	if errors.Is(err, errConnBroken) {
		c.over = true
		unix.EpollCtl(d.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	}
}
