package cputime

import "testing"

func TestProcessAdvances(t *testing.T) {
	before := Process()
	x := 0
	for i := range 50_000_000 {
		x += i & 3
	}
	if after := Process(); after <= before {
		t.Errorf("Process() went from %v to %v over a busy loop (x=%d)", before, after, x)
	}
}
