package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// stopSignal is the cause of main's context when a signal stopped the
// command: it names the signal, for the exit status, and is
// context.Canceled to errors.Is, as signal.NotifyContext's cause is.
type stopSignal struct{ sig syscall.Signal }

func (s stopSignal) Error() string { return s.sig.String() + " signal received" }

func (s stopSignal) Is(target error) bool { return target == context.Canceled }

// notifyContext is signal.NotifyContext, but for the cause of its context
// when one of sigs arrives: a stopSignal, which exitStatus reads (the
// standard library's cause is of an unexported type). As with
// NotifyContext, the signals stay caught until stop is called, so that a
// second one does not kill the process (serve counts it).
func notifyContext(parent context.Context, sigs ...os.Signal) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			if sig, ok := s.(syscall.Signal); ok {
				cancel(stopSignal{sig})
			} else {
				cancel(nil)
			}
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel(nil)
		})
	}
}

// exitStatus is the process's exit status for err, the error of a
// command run with ctx: exitCode's, except that a command that failed
// because a signal stopped it (ctx's cause a stopSignal) exits 128 plus
// the signal's number, as a shell reports it: 130 for Ctrl-C (SIGINT),
// 143 for SIGTERM. A command that ended well despite the signal (serve's
// graceful stop) exits 0, and one whose own deadline passed (--timeout)
// keeps exitCode's status: its cause is not main's signal.
func exitStatus(ctx context.Context, err error, stderr io.Writer) int {
	code := exitCode(err, stderr)
	if s, ok := context.Cause(ctx).(stopSignal); ok && code != 0 && code != exitBrokenPipe {
		return 128 + int(s.sig)
	}
	return code
}
