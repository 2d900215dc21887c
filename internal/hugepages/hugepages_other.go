//go:build !linux

package hugepages

import "unsafe"

// Advise does nothing where transparent huge pages are not offered; it
// returns 0.
func Advise(p unsafe.Pointer, n uintptr) uintptr { return 0 }

// Discard does nothing where transparent huge pages are not offered.
func Discard(p unsafe.Pointer, n uintptr) {}

// Unadvise does nothing where transparent huge pages are not offered.
func Unadvise(p, n uintptr) {}
