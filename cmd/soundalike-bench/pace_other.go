//go:build !linux

package main

import "time"

// A pacer sleeps an open-loop connection until its next request is due.
// Outside Linux it is time.Sleep, whose resolution the runtime's poller
// sets (a millisecond where the poller's timeout is in milliseconds).
type pacer struct{}

func newPacer() (*pacer, error) { return &pacer{}, nil }

// sleepUntil returns once t has come: never before it, at once when it
// has passed.
func (p *pacer) sleepUntil(t time.Time) error {
	time.Sleep(time.Until(t))
	return nil
}

func (p *pacer) close() error { return nil }
