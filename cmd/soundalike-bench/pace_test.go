package main

import (
	"testing"
	"time"
)

// TestPacerSleepsUntil checks that a pacer never returns before the time
// asked, across re-arming, for times already past, and for waits shorter
// than the runtime poller's millisecond.
func TestPacerSleepsUntil(t *testing.T) {
	p, err := newPacer()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for _, d := range []time.Duration{-time.Second, 0, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond, 300 * time.Microsecond} {
		at := time.Now().Add(d)
		if err := p.sleepUntil(at); err != nil {
			t.Fatalf("sleepUntil(now%+v): %v", d, err)
		}
		if now := time.Now(); now.Before(at) {
			t.Errorf("sleepUntil(now%+v) returned %v early", d, at.Sub(now))
		}
	}
}
