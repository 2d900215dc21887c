//go:build !linux

package hugepages

import (
	"errors"
	"unsafe"
)

// Advise does nothing where transparent huge pages are not offered; it
// returns 0.
func Advise(p unsafe.Pointer, n uintptr) uintptr { return 0 }

// Discard does nothing where transparent huge pages are not offered.
func Discard(p unsafe.Pointer, n uintptr) {}

// Unadvise does nothing where transparent huge pages are not offered.
func Unadvise(p, n uintptr) {}

// MapPool fails where there is no hugetlb pool.
func MapPool(n int) ([]byte, error) {
	return nil, errors.New("the hugetlb pool is a Linux facility")
}

// Unmap does nothing where there is no hugetlb pool.
func Unmap(b []byte) error { return nil }
