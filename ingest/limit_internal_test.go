package ingest

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLineLimiterEveryLine reads random texts through a lineLimiter in
// reads of random sizes, smaller and larger than the limit, and checks
// that it fails at the first line over the limit, wherever the reads cut
// it, having delivered nothing of the lines after it; and that it
// delivers a text without such a line whole. A line's length does not
// count its \n, nor a \r before it or at the end of the text, as the row
// readers drop those too.
func TestLineLimiterEveryLine(t *testing.T) {
	// (The reads come through emptyReads: an io.Reader may return 0
	// bytes and no error.)
	rng := rand.New(rand.NewPCG(3, 4))
	const limit = 50
	for iter := range 3000 {
		var text strings.Builder
		for range rng.IntN(12) {
			n := rng.IntN(limit + 3)
			if rng.IntN(8) == 0 {
				n = rng.IntN(3 * limit)
			}
			text.WriteString(strings.Repeat("x", n))
			if rng.IntN(3) == 0 {
				text.WriteString("\r")
			}
			text.WriteString("\n")
		}
		if rng.IntN(2) == 0 {
			text.WriteString(strings.Repeat("y", rng.IntN(limit+3)))
			if rng.IntN(3) == 0 {
				text.WriteString("\r")
			}
		}
		data := text.String()

		// The first line over the limit, and where it starts.
		badLine, badStart, badLen := 0, 0, 0
		off := 0
		for i, line := range strings.Split(data, "\n") {
			if n := len(strings.TrimSuffix(line, "\r")); n > limit {
				badLine, badStart, badLen = i+1, off, n
				break
			}
			off += len(line) + 1
		}

		lim := newLineLimiter("f", &emptyReads{bytes.NewReader([]byte(data)), rng}, limit)
		var got []byte
		var err error
		for err == nil {
			p := make([]byte, 1+rng.IntN(3*limit))
			var n int
			n, err = lim.Read(p)
			got = append(got, p[:n]...)
		}
		if !strings.HasPrefix(data, string(got)) {
			t.Fatalf("text %d %q: delivered %q, not a prefix of the text", iter, data, got)
		}
		if badLine == 0 {
			if err.Error() != "EOF" || len(got) != len(data) {
				t.Fatalf("text %d %q: delivered %d of %d bytes, err %v; want all, no line being over %d", iter, data, len(got), len(data), err, limit)
			}
			continue
		}
		lt, ok := errors.AsType[*LineTooLongError](err)
		if !ok {
			t.Fatalf("text %d %q: err %v, want a *LineTooLongError for line %d (%d bytes)", iter, data, err, badLine, badLen)
		}
		if lt.Line != badLine || (lt.Length != 0 && lt.Length != int64(badLen)) {
			t.Errorf("text %d %q: line %d, length %d; want line %d, length %d (or 0)", iter, data, lt.Line, lt.Length, badLine, badLen)
		}
		if want := data[badStart:][:min(headBytes, badLen)]; !strings.HasPrefix(want, lt.Head) || lt.Head == "" {
			t.Errorf("text %d %q: head %q, want a start of %q", iter, data, lt.Head, want)
		}
		if n := len(got) - badStart; n < 0 || n > limit+1 {
			t.Errorf("text %d %q: delivered %d bytes of the over-long line %d, want none or, once it is known to be over the limit, at most %d", iter, data, n, badLine, limit+1)
		}
	}
}

// emptyReads is r, answering one read in four with 0 bytes and no error,
// as an io.Reader may.
type emptyReads struct {
	r   *bytes.Reader
	rng *rand.Rand
}

func (e *emptyReads) Read(p []byte) (int, error) {
	if e.rng.IntN(4) == 0 {
		return 0, nil
	}
	return e.r.Read(p)
}
