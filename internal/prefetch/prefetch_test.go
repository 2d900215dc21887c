package prefetch

import (
	"testing"
	"unsafe"
)

// A prefetch is a hint: it must not fault on any address, for a caller
// may hint at memory it then decides not to read.
func TestLineNeverFaults(t *testing.T) {
	b := make([]byte, 64)
	for _, p := range []unsafe.Pointer{nil, unsafe.Pointer(&b[0]), unsafe.Add(unsafe.Pointer(&b[0]), 1<<46)} {
		Line(p)
	}
}
