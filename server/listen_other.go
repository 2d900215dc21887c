//go:build !unix

package server

import "context"

// lockSocketDir does nothing where flock is not: two servers starting at
// once on one stale socket path may remove each other's new socket.
func lockSocketDir(context.Context, string) (func(), error) { return func() {}, nil }
