package main

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// Given a command stopped by a signal, expect the shell's exit status,
// 128 plus the signal's number (130 for SIGINT, 143 for SIGTERM); a
// command that ended well despite it, 0; and one whose own deadline
// passed (--timeout), or that failed with no signal, exitCode's status.
func TestExitStatusOfASignal(t *testing.T) {
	stopped := func(sig syscall.Signal) context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(stopSignal{sig})
		return ctx
	}
	timedOut, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-timedOut.Done()
	interrupted := interruptedDelete("x.db", context.Canceled)
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"SIGINT", stopped(syscall.SIGINT), interrupted, 130},
		{"SIGTERM", stopped(syscall.SIGTERM), interrupted, 143},
		{"SIGINT, then a usage error", stopped(syscall.SIGINT), usagef("bad"), 130},
		{"SIGTERM, ended well", stopped(syscall.SIGTERM), nil, 0},
		{"SIGINT, standard output closed", stopped(syscall.SIGINT), errStdoutClosed, exitBrokenPipe},
		{"--timeout", timedOut, context.DeadlineExceeded, 1},
		{"a context canceled without a signal", canceledCtx(), context.Canceled, 1},
		{"no signal, a usage error", context.Background(), usagef("bad"), 2},
	} {
		if got := exitStatus(c.ctx, c.err, io.Discard); got != c.want {
			t.Errorf("%s: exitStatus = %d, want %d", c.name, got, c.want)
		}
	}
}

func canceledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Given notifyContext's context, when the process gets SIGTERM, expect it
// done, with a stopSignal cause naming SIGTERM that is context.Canceled.
func TestNotifyContextCause(t *testing.T) {
	ctx, stop := notifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("notifyContext's context not done 5s after SIGTERM")
	}
	cause := context.Cause(ctx)
	if s, ok := cause.(stopSignal); !ok || s.sig != syscall.SIGTERM || !errors.Is(cause, context.Canceled) || exitStatus(ctx, context.Canceled, io.Discard) != 143 {
		t.Errorf("cause after SIGTERM = %#v, want stopSignal{SIGTERM}, context.Canceled, exit 143", cause)
	}
}
