package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCmd runs the command line with buffers, the way main does.
func runCmd(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	return runCmdStdin(ctx, "", args...)
}

func runCmdStdin(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errw bytes.Buffer
	err = run(ctx, args, strings.NewReader(stdin), &out, &errw)
	return out.String(), errw.String(), err
}

// cli runs the command line and returns stdout, stderr and the exit code
// main would use.
func cli(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, err := runCmdStdin(t.Context(), stdin, args...)
	var errw bytes.Buffer
	code = exitCode(err, &errw)
	return stdout, stderr + errw.String(), code
}
