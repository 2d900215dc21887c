package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// DefaultMaxLineBytes is the longest line a file may have when
// FileOptions.MaxLineBytes is 0: 1 MiB, thousands of times a features row.
const DefaultMaxLineBytes = 1 << 20

// FileOptions control OpenFile and NewFileReader. The zero value (or nil)
// means the defaults.
type FileOptions struct {
	// MaxLineBytes bounds each line of the file, the header included; a
	// CSV record whose quoted fields span lines counts whole. A longer
	// line stops the import with a *LineTooLongError, after reading at
	// most MaxLineBytes plus one read buffer of it: holding a line whole
	// could take any amount of memory. 0 means DefaultMaxLineBytes; a
	// negative value is refused.
	MaxLineBytes int
	// Context, when set, ends a read that waits on a stream (a pipe, a
	// FIFO, a terminal: a file of no known size) once it is done, so that
	// OpenFile and NewFileReader, which read the header, fail with its
	// error instead of waiting for as long as the stream sends nothing;
	// OpenFile's open of a FIFO that no writer has opened yet ends too.
	// Rows are read under the ctx passed to Next, which does the same. A
	// read given up on goes on until the stream sends or is closed. nil
	// waits.
	Context context.Context
}

// check reports a negative MaxLineBytes; nil options are the defaults.
func (o *FileOptions) check() error {
	if o != nil && o.MaxLineBytes < 0 {
		return fmt.Errorf("FileOptions.MaxLineBytes = %d: want ≥ 1 bytes, or 0 for the default %d", o.MaxLineBytes, DefaultMaxLineBytes)
	}
	return nil
}

func (o *FileOptions) context() context.Context {
	if o == nil {
		return nil
	}
	return o.Context
}

func (o *FileOptions) maxLineBytes() int64 {
	if o == nil || o.MaxLineBytes <= 0 {
		return DefaultMaxLineBytes
	}
	return int64(o.MaxLineBytes)
}

// ErrLineTooLong is wrapped by a *LineTooLongError.
var ErrLineTooLong = errors.New("line too long")

// LineTooLongError is a line (or CSV record) over FileOptions.MaxLineBytes.
// It quotes at most the line's first headBytes bytes.
type LineTooLongError struct {
	File   string
	Line   int    // the line the over-long line or record starts on
	Record bool   // a CSV record whose quoted fields span lines
	Limit  int64  // the limit in bytes
	Head   string // the line's first bytes (at most headBytes)
}

// headBytes is how much of an over-long line an error quotes.
const headBytes = 100

func (e *LineTooLongError) Error() string {
	what := "line"
	if e.Record {
		what = "record (its quoted fields span lines)"
	}
	head := e.Head
	// Drop a rune cut at headBytes; other bad bytes are quoted as \x.
	for i := 1; i <= utf8.UTFMax && i <= len(head); i++ {
		if tail := head[len(head)-i:]; utf8.RuneStart(tail[0]) {
			if !utf8.FullRuneInString(tail) {
				head = head[:len(head)-i]
			}
			break
		}
	}
	return fmt.Sprintf("%s:%d: %s longer than the limit of %s; it starts %q…; if the file really has rows this long, raise the limit with --max-line-bytes (FileOptions.MaxLineBytes): %v",
		e.File, e.Line, what, formatBytes(e.Limit), head, ErrLineTooLong)
}

func (e *LineTooLongError) Unwrap() error { return ErrLineTooLong }

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// lineLimiter sits under the row readers' bufio.Reader and fails the read
// once a line runs past limit bytes, so that no reader above it (bufio,
// encoding/csv, lineReader) can assemble a longer one. It sees bytes when
// the buffer is filled, ahead of the rows being parsed; that is why it
// counts lines itself. For a CSV record read by encoding/csv, whose quoted
// fields may hold newlines, csvRows marks where the record starts
// (startRecord) and the limiter fails once more than limit plus one buffer
// has been read since: the record is then over the limit whatever is
// still buffered.
type lineLimiter struct {
	r     io.Reader
	name  string
	limit int64

	n         int64  // bytes delivered
	lineStart int64  // offset of the current line's first byte
	lines     int    // newlines delivered
	head      []byte // the current line's first bytes, up to headBytes

	recordStart int64 // offset of the record encoding/csv is reading; -1 when none
	recordLine  int   // the line it starts on
	recordHead  []byte

	err error
}

func newLineLimiter(name string, r io.Reader, limit int64) *lineLimiter {
	return &lineLimiter{r: r, name: name, limit: limit, recordStart: -1, head: make([]byte, 0, headBytes)}
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.observe(p[:n])
	if l.err != nil {
		return n, l.err
	}
	return n, err
}

// observe accounts for the bytes b, just delivered.
func (l *lineLimiter) observe(b []byte) {
	start := l.n
	l.n += int64(len(b))
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		l.lines += bytes.Count(b[:i+1], []byte{'\n'})
		l.lineStart = start + int64(i) + 1
		rest := b[i+1:]
		l.head = append(l.head[:0], rest[:min(len(rest), headBytes)]...)
	} else if len(l.head) < headBytes {
		l.head = append(l.head, b[:min(len(b), headBytes-len(l.head))]...)
	}
	switch {
	case l.n-l.lineStart > l.limit:
		l.err = &LineTooLongError{File: l.name, Line: l.lines + 1, Limit: l.limit, Head: string(l.head)}
	case l.recordStart >= 0 && l.n-l.recordStart > l.limit+bufSize:
		l.err = l.recordError()
	}
}

// startRecord marks that a record starts at offset off of the stream, on
// line, with head its first bytes.
func (l *lineLimiter) startRecord(off int64, line int, head []byte) {
	l.recordStart, l.recordLine = off, line
	l.recordHead = append(l.recordHead[:0], head[:min(len(head), headBytes)]...)
}

// endRecord reports whether the record that ends at offset off was within
// the limit, and stops watching it.
func (l *lineLimiter) endRecord(off int64) error {
	defer func() { l.recordStart = -1 }()
	if l.recordStart >= 0 && off-l.recordStart > l.limit {
		return l.recordError()
	}
	return nil
}

func (l *lineLimiter) recordError() error {
	return &LineTooLongError{File: l.name, Line: l.recordLine, Record: true, Limit: l.limit, Head: string(l.recordHead)}
}
