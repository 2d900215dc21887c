package ingest

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// openContext opens path for reading, giving up when ctx is done. Opening
// a FIFO (a named pipe) waits in the kernel until a writer opens it too,
// which may be never, and ctx cannot reach a goroutine blocked in open(2).
// So anything but a regular file or a directory is opened on a goroutine
// of its own while openContext waits for it or for ctx. (Opening the FIFO
// with O_NONBLOCK would not wait for a writer at all: reads that find no
// writer end at once, and the file would read as empty.)
//
// When ctx wins over a FIFO, openContext opens it for writing, without
// waiting: that is the writer the abandoned open waits for, so it returns,
// and its file is closed before openContext does. When that cannot be done
// (no write permission, another kind of file), the goroutine closes the
// file whenever its open returns. A nil ctx waits.
func openContext(ctx context.Context, path string) (*os.File, error) {
	if ctx == nil || ctx.Done() == nil {
		return os.Open(path)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().IsRegular() || fi.IsDir() {
		return os.Open(path) // does not wait, or fails as it would
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := make(chan openResult, 1)
	go func() {
		f, err := os.Open(path)
		res <- openResult{f, err}
	}()
	select {
	case r := <-res:
		return r.f, r.err
	case <-ctx.Done():
	}
	if fi.Mode()&os.ModeNamedPipe != 0 {
		if r, ok := unblockFIFO(path, res); ok {
			r.close()
			return nil, ctx.Err()
		}
	}
	go func() { (<-res).close() }()
	return nil, ctx.Err()
}

type openResult struct {
	f   *os.File
	err error
}

func (r openResult) close() {
	if r.f != nil {
		r.f.Close()
	}
}

// unblockAttempts bounds how often unblockFIFO tries to open the FIFO for
// writing, unblockWait the wait between tries: about a second in all.
const (
	unblockAttempts = 100
	unblockWait     = 10 * time.Millisecond
)

// unblockFIFO ends an open of the FIFO at path, which waits for a writer,
// by opening the FIFO for writing and closing it at once, and returns the
// open's result from res. O_NONBLOCK keeps the writer's own open from
// waiting: it fails with ENXIO while no reader has the FIFO open, as when
// the goroutine has not yet entered open(2), so it is tried again, as it
// is when it succeeded for another reader of the FIFO. Any other failure
// (no write permission) gives up: ok is false.
func unblockFIFO(path string, res <-chan openResult) (r openResult, ok bool) {
	for range unblockAttempts {
		w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			w.Close()
		} else if !errors.Is(err, syscall.ENXIO) {
			return openResult{}, false
		}
		select {
		case r := <-res:
			return r, true
		case <-time.After(unblockWait):
		}
	}
	return openResult{}, false
}
