package storage

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// startWriteback has the kernel start writing the file's dirty pages to
// disk every millisecond while a commit writes the rest, as PostgreSQL's
// *_flush_after and RocksDB's bytes_per_sync do: the commit's fdatasync
// then waits only for the tail. stop ends it; errors only mean it did
// not help.
func startWriteback(path string) (stop func()) {
	f, err := os.Open(path)
	if err != nil {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		f.Close()
	}
}
