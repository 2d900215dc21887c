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
	// MaxLineBytes bounds each line of the file, the header included, in
	// bytes, its line end (\n or \r\n) not counted; a CSV record whose
	// quoted fields span lines counts whole, its line ends included. A
	// longer line, in any format, stops the import with a
	// *LineTooLongError naming its line, after reading at most
	// MaxLineBytes plus one read buffer of it: holding a line whole could
	// take any amount of memory. 0 means DefaultMaxLineBytes; a negative
	// value is refused.
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
	// NoInteractions reads tracks alone (MapperOptions.NoInteractions):
	// the user, action and timestamp columns are not read, so that a bad
	// cell there rejects no row. An interaction log is still opened, but
	// its rows are not read: Next returns io.EOF at once, and Run warns
	// that the file imports nothing (IgnoredLogReason).
	NoInteractions bool
}

// check reports a negative MaxLineBytes; nil options are the defaults.
func (o *FileOptions) check() error {
	if o != nil && o.MaxLineBytes < 0 {
		return fmt.Errorf("FileOptions.MaxLineBytes = %d: want ≥ 1 bytes, or 0 for the default %d", o.MaxLineBytes, DefaultMaxLineBytes)
	}
	return nil
}

// mapperOptions are the Mapper's options the file options ask for.
func (o *FileOptions) mapperOptions() *MapperOptions {
	if o == nil {
		return nil
	}
	return &MapperOptions{NoInteractions: o.NoInteractions}
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
//
// Its message names the limit as the Go API does, FileOptions.MaxLineBytes:
// a caller whose user sets the limit otherwise (the command line by its
// flag) sets Option to that name before printing it, as callers put their
// own name on a soundalike.TrackRefError.
type LineTooLongError struct {
	File   string
	Line   int   // the line the over-long line or record starts on
	Record bool  // a CSV record whose quoted fields span lines
	Limit  int64 // the limit in bytes
	// Length is the line's length in bytes, its line end not counted (a
	// record's counts the line ends inside it and its last), which a limit
	// of Length or more accepts; 0 when reading stopped before the end of
	// the line, already over the limit.
	Length int64
	Head   string // the line's first bytes (at most headBytes)
	// Option is what sets the limit, as the message names it; "" means
	// "FileOptions.MaxLineBytes".
	Option string
}

// headBytes is how much of an over-long line an error quotes.
const headBytes = 100

func (e *LineTooLongError) Error() string {
	option := e.Option
	if option == "" {
		option = "FileOptions.MaxLineBytes"
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
	quoted := fmt.Sprintf("it starts %q…", head)
	if e.Length > 0 && int64(len(e.Head)) >= e.Length {
		quoted = fmt.Sprintf("it is %q", head)
	}
	what := "line"
	if e.Record {
		what = "record (its quoted fields span lines)"
	}
	if e.Length <= 0 {
		return fmt.Sprintf("%s:%d: %s longer than the limit of %s (reading stopped there); %s; if the file really has lines this long, raise %s: %v",
			e.File, e.Line, what, formatBytes(e.Limit), quoted, option, ErrLineTooLong)
	}
	what = fmt.Sprintf("line of %d bytes", e.Length)
	if e.Record {
		what = fmt.Sprintf("record of %d bytes, its line ends counted (its quoted fields span lines)", e.Length)
	}
	return fmt.Sprintf("%s:%d: %s, over the limit of %s; %s; if the file really has lines this long, raise %s to %d or more: %v",
		e.File, e.Line, what, formatBytes(e.Limit), quoted, option, e.Length, ErrLineTooLong)
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

// lineLimiter sits under the row readers' bufio.Reader and checks every
// line as it is read, before any reader above it (bufio, encoding/csv,
// lineReader, csvRows' plain lines) sees it: a read that holds a line over
// the limit delivers only the bytes before that line, and fails. A line
// still going on at the end of a read fails it as soon as it is over the
// limit, so that no reader can assemble a longer one. It sees bytes when
// the buffer is filled, ahead of the rows being parsed; that is why it
// counts lines itself. For a CSV record read by encoding/csv, whose quoted
// fields may hold newlines, csvRows marks where the record starts
// (startRecord) and ends (endRecord), and the limiter fails once more than
// limit plus one buffer has been read since its start: the record is then
// over the limit whatever is still buffered.
type lineLimiter struct {
	r     io.Reader
	name  string
	limit int64

	n         int64  // bytes delivered
	lineStart int64  // offset of the current line's first byte
	lines     int    // newlines delivered
	head      []byte // the current line's first bytes delivered, up to headBytes
	cr        bool   // the last byte delivered is a \r

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
	n = l.observe(p[:n])
	if l.err != nil {
		return n, l.err
	}
	return n, err
}

// observe checks the bytes b, just read, and returns how many of them to
// deliver: all, or, when a line is over the limit (l.err is then set),
// those before it.
func (l *lineLimiter) observe(b []byte) int {
	if len(b) == 0 {
		// Nothing new: the line going on was checked when its last
		// byte came, a \r then not counted; counted now, that \r
		// would put a line of the limit's length over it.
		return 0
	}
	start := l.n // the offset of b[0]
	if l.recordStart >= 0 && len(l.recordHead) < headBytes && l.recordStart+int64(len(l.recordHead)) == start {
		l.recordHead = append(l.recordHead, b[:min(len(b), headBytes-len(l.recordHead))]...)
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		// A line wholly inside b is shorter than b: unless b is longer
		// than the limit, only the first line to end in b, which may
		// have started before it, can be over the limit.
		last, every := bytes.LastIndexByte(b, '\n'), int64(len(b)) > l.limit
		for {
			if n := l.lineLen(b, start, i); n > l.limit {
				return l.fail(b, start, i, n)
			}
			l.lines++
			l.lineStart = start + int64(i) + 1
			if i == last {
				break
			}
			if !every {
				l.lines += bytes.Count(b[i+1:last+1], []byte{'\n'})
				l.lineStart = start + int64(last) + 1
				break
			}
			i += 1 + bytes.IndexByte(b[i+1:], '\n')
		}
		l.head = l.head[:0]
	}
	// The line going on after b's last newline; a \r ending b may be
	// the start of its line end.
	n := start + int64(len(b)) - l.lineStart
	if b[len(b)-1] == '\r' {
		n--
	}
	if n > l.limit {
		return l.fail(b, start, len(b), 0)
	}
	l.head = l.lineHead(b, start, len(b))
	l.n += int64(len(b))
	l.cr = b[len(b)-1] == '\r'
	if l.recordStart >= 0 && l.n-l.recordStart > l.limit+bufSize {
		l.err = l.recordError(l.recordLine, 0)
	}
	return len(b)
}

// lineLen is the length, its line end not counted, of the line that ends
// at b[end], a \n, b starting at offset start.
func (l *lineLimiter) lineLen(b []byte, start int64, end int) int64 {
	n := start + int64(end) - l.lineStart
	if end > 0 && b[end-1] == '\r' || end == 0 && l.cr {
		n--
	}
	return n
}

// lineHead returns the first bytes, up to headBytes, of the line from
// l.lineStart to b[end], b starting at offset start: l.head holds those
// delivered before b. The result is l.head's memory.
func (l *lineLimiter) lineHead(b []byte, start int64, end int) []byte {
	if l.lineStart >= start {
		from := int(l.lineStart - start)
		return append(l.head[:0], b[from:min(end, from+headBytes)]...)
	}
	return append(l.head, b[:min(end, headBytes-len(l.head))]...)
}

// fail sets l.err to the error of the line that starts at l.lineStart and
// ends at b[end], of length n, or goes on after b (n is 0), b starting at
// offset start. It returns how many bytes of b to deliver: those before
// the line.
func (l *lineLimiter) fail(b []byte, start int64, end int, n int64) int {
	head := bytes.TrimSuffix(l.lineHead(b, start, end), []byte{'\r'}) // its line end's, mostly
	l.err = &LineTooLongError{File: l.name, Line: l.lines + 1, Limit: l.limit, Length: n, Head: string(head)}
	keep := int(max(l.lineStart-start, 0))
	l.n = start + int64(keep)
	return keep
}

// startRecord marks that a record starts at offset off of the stream, on
// line, with head its first bytes (those buffered; observe adds the rest).
func (l *lineLimiter) startRecord(off int64, line int, head []byte) {
	l.recordStart, l.recordLine = off, line
	l.recordHead = append(l.recordHead[:0], head[:min(len(head), headBytes)]...)
}

// endRecord stops watching the record csvRows started, which ended at
// offset off, and fails it when it spans lines (its first field on line
// first, its end on line last) and is over the limit. A record on one line
// is a line, which observe has checked.
func (l *lineLimiter) endRecord(off int64, first, last int) error {
	start := l.recordStart
	l.recordStart = -1
	if start < 0 || last <= first || off-start <= l.limit {
		return nil
	}
	return l.recordError(first, off-start)
}

func (l *lineLimiter) recordError(line int, n int64) error {
	return &LineTooLongError{File: l.name, Line: line, Record: true, Limit: l.limit, Length: n, Head: string(l.recordHead)}
}
