//go:build !linux

package storage

// startWriteback does nothing where sync_file_range does not exist.
func startWriteback(path string) (stop func()) { return func() {} }
