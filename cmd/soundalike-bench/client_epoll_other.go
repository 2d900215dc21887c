//go:build !linux

package main

import (
	"context"
	"errors"
)

const (
	haveEpoll = false
	defaultIO = ioGoroutines
)

// epollDriver is Linux only: outside it, --io epoll is refused before a
// run starts.
type epollDriver struct {
	cfg *clientConfig
	req requestText
}

func (d *epollDriver) dial(context.Context, string) error {
	return errors.New("--io epoll: Linux only")
}
func (d *epollDriver) run(context.Context, clientTimes) ([]*connRun, error) {
	return nil, errors.New("--io epoll: Linux only")
}
func (d *epollDriver) close() {}
