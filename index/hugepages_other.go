//go:build !linux

package index

// adviseHugePages is a no-op where transparent huge pages are not offered.
func adviseHugePages([]uint32) {}
