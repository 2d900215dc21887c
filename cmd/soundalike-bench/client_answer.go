package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// maxAnswerHead bounds an answer's status line and headers.
const maxAnswerHead = 1 << 20

// answerBuf holds the bytes one connection received and not yet
// consumed, and cuts whole HTTP/1.1 answers from them. Both of the
// client's drivers read into it: one parser whether the read blocks or
// not.
type answerBuf struct {
	b []byte // b[:n] received
	n int
}

// space returns room for the next read, at least 16 KiB.
func (a *answerBuf) space() []byte {
	if len(a.b)-a.n < 16<<10 {
		a.b = append(a.b[:a.n], make([]byte, max(64<<10, len(a.b)))...)
	}
	return a.b[a.n:]
}

// added records that a read put k bytes into space's slice.
func (a *answerBuf) added(k int) { a.n += k }

// next returns the status of the first whole answer received and
// consumes it; ok is false while it is incomplete. A malformed answer is
// an error: the connection cannot be read further.
func (a *answerBuf) next() (status int, ok bool, err error) {
	status, size, err := parseAnswer(a.b[:a.n])
	if err != nil || size == 0 {
		return 0, false, err
	}
	a.n = copy(a.b, a.b[size:a.n])
	return status, true, nil
}

// parseAnswer reads the answer at the start of b: its status and its
// size in bytes, head and body, or a size of 0 when b does not hold all
// of it yet. The body's length is its Content-Length or, chunked, its
// chunks up to the last one and the trailer's blank line.
func parseAnswer(b []byte) (status, size int, err error) {
	headEnd := bytes.Index(b, []byte("\r\n\r\n"))
	if headEnd < 0 {
		if len(b) > maxAnswerHead {
			return 0, 0, fmt.Errorf("answer's head over %d bytes", maxAnswerHead)
		}
		return 0, 0, nil
	}
	status, length, chunked, err := parseHead(b[:headEnd+2])
	if err != nil {
		return 0, 0, err
	}
	body := headEnd + 4
	if !chunked {
		if len(b)-body < length {
			return 0, 0, nil
		}
		return status, body + length, nil
	}
	n, err := chunkedSize(b[body:])
	if err != nil || n == 0 {
		return 0, 0, err
	}
	return status, body + n, nil
}

// parseHead reads a status line and headers, each line ending in CRLF,
// and returns the status and the body's Content-Length or whether it is
// chunked.
func parseHead(head []byte) (status, length int, chunked bool, err error) {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, fmt.Errorf("not an HTTP status line: %q", line)
	}
	if status, err = atoiBytes(line[9:12]); err != nil {
		return 0, 0, false, fmt.Errorf("status line %q: %v", line, err)
	}
	length = -1
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = atoiBytes(value); err != nil {
				return 0, 0, false, fmt.Errorf("Content-Length %q: %v", value, err)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	if length < 0 && !chunked {
		return 0, 0, false, errors.New("answer with neither Content-Length nor chunked encoding")
	}
	return status, length, chunked, nil
}

// chunkedSize returns the size of the chunked body at the start of b, up
// to its last chunk and the trailer's blank line, or 0 when b does not
// hold all of it yet.
func chunkedSize(b []byte) (int, error) {
	at := 0
	for {
		eol := bytes.Index(b[at:], []byte("\r\n"))
		if eol < 0 {
			return 0, nil
		}
		sizeText, _, _ := bytes.Cut(b[at:at+eol], []byte(";"))
		n, err := strconv.ParseUint(string(sizeText), 16, 40)
		if err != nil {
			return 0, fmt.Errorf("chunk size %q: %v", b[at:at+eol], err)
		}
		at += eol + 2
		if n == 0 {
			for { // the trailer, up to its blank line
				eol := bytes.Index(b[at:], []byte("\r\n"))
				if eol < 0 {
					return 0, nil
				}
				at += eol + 2
				if eol == 0 {
					return at, nil
				}
			}
		}
		at += int(n) + 2 // the chunk and its CRLF
		if at > len(b) {
			return 0, nil
		}
	}
}

// atoiBytes parses a non-negative decimal number of at most 18 digits.
func atoiBytes(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 18 {
		return 0, fmt.Errorf("want 1 to 18 digits")
	}
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, fmt.Errorf("not a number")
		}
		n = n*10 + int(d-'0')
	}
	return n, nil
}
