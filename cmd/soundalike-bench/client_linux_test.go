package main

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A connect that hangs (the server's accept queue full) ends with the
// run's ctx, for each driver.
func TestClientDialStopsWithCtx(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil { // never accepted: the queue fills
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	for range 8 {
		d := net.Dialer{Timeout: 300 * time.Millisecond}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			break // the queue is full
		}
		defer c.Close()
	}
	for _, io := range ioDrivers() {
		t.Run(io, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := runClient(ctx, clientConfig{URL: "http://" + addr + "/similar?track=", IDs: []string{"a"}, Conns: 2, Duration: time.Second, IO: io})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("runClient against a full accept queue: no error")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("runClient still connecting 10 s after its ctx ended (0.3 s)")
			}
		})
	}
}
