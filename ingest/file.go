package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Format is a file format that Open and NewReader recognise.
type Format int

// The recognised formats. Each may also be gzip-compressed.
const (
	CSV   Format = iota + 1 // comma-separated, RFC 4180 quoting
	TSV                     // tab-separated; a field wholly in double quotes is unquoted
	JSONL                   // JSON Lines: one object per line
)

// String returns the format's name, as used in messages.
func (f Format) String() string {
	switch f {
	case CSV:
		return "CSV"
	case TSV:
		return "TSV"
	case JSONL:
		return "JSON Lines"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// bufSize is the read buffer. Rows longer than this still work (they are
// assembled), it only bounds how much is read ahead.
const bufSize = 256 << 10

// FileSource reads records from a CSV, TSV or JSON Lines stream, gzipped
// or not. It reads one row at a time: memory does not grow with the file.
type FileSource struct {
	name       string
	format     Format
	compressed bool
	size       int64 // bytes in the (compressed) file, -1 when unknown
	counter    *countingReader
	stream     *streamReader // under counter when the size is unknown
	closers    []io.Closer
	rows       rowReader
	mapper     *Mapper
	n          int
}

var _ Source = (*FileSource)(nil)

// rowReader yields raw rows: the line a row starts on and its values,
// aligned with the Mapper's columns. err is io.EOF at the end, a *RowError
// for a row that cannot be read (reading goes on), or a fatal error.
type rowReader interface {
	next() (line int, values []string, err error)
}

// Open opens a file and recognises its format: gzip from its magic bytes,
// then JSON Lines when the first non-space byte is '{', otherwise CSV or
// TSV by whether the header line has more commas or tabs (the name's
// extension, .csv/.tsv/.jsonl/.ndjson with an optional .gz, settles a
// tie). It reads the header and fails, wrapping ErrColumns, if the columns
// cannot make tracks: nothing has been imported at that point. A file whose
// only columns are a track id, a user and optionally an action and a
// timestamp (plus columns soundalike does not know) is an interaction log:
// its records carry no Track, and their tracks must be in the catalogue.
func Open(path string) (*FileSource, error) { return OpenFile(path, nil) }

// OpenFile is Open with options; nil means the defaults.
func OpenFile(path string, opts *FileOptions) (*FileSource, error) {
	f, err := openContext(opts.context(), path)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	s, err := newSource(path, f, size, opts, opts.mapperOptions())
	if err != nil {
		f.Close()
		return nil, err
	}
	s.closers = append(s.closers, f)
	return s, nil
}

// NewReader is Open for a stream that is already open (stdin, an HTTP
// body). name is used for errors and, when the content does not settle it,
// for the format. The caller closes r; a nil r is an error.
func NewReader(name string, r io.Reader) (*FileSource, error) { return NewFileReader(name, r, nil) }

// NewFileReader is NewReader with options; nil means the defaults.
func NewFileReader(name string, r io.Reader, opts *FileOptions) (*FileSource, error) {
	size := int64(-1)
	if l, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader
		size = int64(l.Len())
	}
	return newSource(name, r, size, opts, opts.mapperOptions())
}

func newSource(name string, r io.Reader, size int64, opts *FileOptions, mo *MapperOptions) (*FileSource, error) {
	if r == nil {
		return nil, fmt.Errorf("ingest: %s: the reader is nil: want an open io.Reader", name)
	}
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("ingest: %s: %w", name, err)
	}
	s := &FileSource{name: name, size: size, counter: &countingReader{r: r}}
	if size < 0 {
		s.stream = &streamReader{r: r, ctx: opts.context()}
		s.counter.r = s.stream
	}
	br := bufio.NewReaderSize(s.counter, bufSize)
	head, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: not a valid gzip file: %w", name, err)
		}
		s.compressed = true
		s.closers = append(s.closers, gz)
		br = bufio.NewReaderSize(gz, bufSize)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return nil, fmt.Errorf("%s: is a zip archive; unzip it first (accepted: CSV, TSV or JSON Lines, optionally gzip-compressed)", name)
	case bytes.HasPrefix(head, []byte("BZh")), bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}),
		bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, fmt.Errorf("%s: is bzip2, xz or zstd compressed; only gzip is supported (accepted: CSV, TSV or JSON Lines, optionally gzip-compressed)", name)
	}
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	format, ends, err := detect(name, br)
	if err != nil {
		for _, c := range s.closers {
			c.Close()
		}
		return nil, err
	}
	s.format = format
	// The row readers read through the limiter, which reads br: one more
	// copy of each byte, little beside parsing it.
	var in io.Reader = br
	switch ends {
	case crEnds:
		in = crReader{br}
	case crCRLFEnds:
		in = &dropCRReader{r: br}
	}
	lim := newLineLimiter(name, in, opts.maxLineBytes())
	br = bufio.NewReaderSize(lim, bufSize)
	switch format {
	case JSONL:
		s.rows, s.mapper, err = newJSONLRows(name, br, mo)
	case TSV:
		s.rows, s.mapper, err = newTSVRows(name, br, mo)
	default:
		s.rows, s.mapper, err = newCSVRows(name, br, lim, mo)
	}
	if err != nil {
		for _, c := range s.closers {
			c.Close()
		}
		return nil, err
	}
	return s, nil
}

// lineEnds is how a file's lines end, as far as its readers must know:
// they all split lines at \n and drop one \r before it.
type lineEnds int

const (
	lfEnds     lineEnds = iota // \n or \r\n
	crEnds                     // a lone \r (classic Mac OS)
	crCRLFEnds                 // \r\r\n: see dropCRReader
)

// detect recognises the format from the first bytes, falling back on the
// name's extension, and how lines end, from how the first one does.
func detect(name string, br *bufio.Reader) (f Format, ends lineEnds, err error) {
	head, err := br.Peek(64 << 10)
	if len(head) == 0 && err != nil && err != io.EOF {
		return 0, lfEnds, readError(name, 0, err)
	}
	cr, lf := bytes.IndexByte(head, '\r'), bytes.IndexByte(head, '\n')
	if cr >= 0 && (lf < 0 || cr < lf) {
		// The first line end is a run of \r: with a \n after it, \r\n
		// or \r\r\n; without one, lone \r's.
		run := cr
		for run < len(head) && head[run] == '\r' {
			run++
		}
		switch {
		case run == len(head) || head[run] != '\n':
			ends = crEnds
		case run-cr > 1:
			ends = crCRLFEnds
		}
	}
	f, err = detectFormat(name, head, ends == crEnds)
	return f, ends, err
}

func detectFormat(name string, head []byte, crOnly bool) (Format, error) {
	eol := byte('\n')
	if crOnly {
		eol = '\r'
	}
	// Any other read error (a gzip stream truncated after the first
	// 64 KiB) comes back when the rows are read, with a line number.
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 {
		return 0, fmt.Errorf("%s: empty file: no header row (accepted: CSV, TSV or JSON Lines with a header naming the columns)", name)
	}
	switch trimmed[0] {
	case '{':
		return JSONL, nil
	case '[':
		return 0, fmt.Errorf("%s: is a JSON array; write one object per line instead (JSON Lines)", name)
	}
	line := head
	if i := bytes.IndexByte(line, eol); i >= 0 {
		line = line[:i]
	}
	if bytes.IndexByte(line, 0) >= 0 || !utf8.Valid(line) && len(line) < len(head) {
		return 0, fmt.Errorf("%s: the header line is not UTF-8 text: not a CSV, TSV or JSON Lines file", name)
	}
	tabs, commas := bytes.Count(line, []byte{'\t'}), bytes.Count(line, []byte{','})
	switch {
	case tabs > commas:
		return TSV, nil
	case commas > tabs:
		return CSV, nil
	}
	switch ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(strings.ToLower(name), ".gz"))); ext {
	case ".tsv", ".tab":
		return TSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil // the content will say what is wrong
	}
	return CSV, nil
}

// Next returns the next record. See Source. An interaction log opened
// with FileOptions.NoInteractions has none: its rows are not read.
func (s *FileSource) Next(ctx context.Context) (Record, error) {
	if s.mapper.ignoresRows() {
		return Record{}, io.EOF
	}
	if s.stream != nil {
		s.stream.ctx = ctx
	}
	s.n++
	if s.n&4095 == 0 {
		if err := ctx.Err(); err != nil {
			return Record{}, err
		}
	}
	line, values, err := s.rows.next()
	if err != nil {
		return Record{}, err
	}
	return s.mapper.Map(line, values)
}

// joinedRows reports the rows read that may be the rows of several lines
// joined by a stray quote, and the line of the first (CSV only; see
// mayBeJoined). Run warns of them.
func (s *FileSource) joinedRows() (n, first int) {
	if j, ok := s.rows.(interface{ joinedRows() (int, int) }); ok {
		return j.joinedRows()
	}
	return 0, 0
}

// repeatedKeys reports, for JSON Lines, the objects that give a key twice,
// the line of the first and its key.
func (s *FileSource) repeatedKeys() (n, first int, key string) {
	if j, ok := s.rows.(*jsonlRows); ok {
		return j.repeatedKeys()
	}
	return 0, 0, ""
}

// Recycle implements Recycler.
func (s *FileSource) Recycle(rec Record) { s.mapper.Recycle(rec) }

// Close releases the file (and the gzip reader). It does not close a
// reader passed to NewReader.
func (s *FileSource) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.closers = nil
	return first
}

// Name returns the file name used in errors.
func (s *FileSource) Name() string { return s.name }

// Format returns the recognised format.
func (s *FileSource) Format() Format { return s.format }

// Compressed reports whether the file is gzip-compressed.
func (s *FileSource) Compressed() bool { return s.compressed }

// Mapper returns the column mapping built from the header.
func (s *FileSource) Mapper() *Mapper { return s.mapper }

// Position reports how many bytes of the file have been read (compressed
// bytes for a gzip file, read ahead by up to one buffer) and the file's
// size, -1 when unknown. Run uses it for progress.
func (s *FileSource) Position() (read, size int64) { return s.counter.n, s.size }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// streamReader reads a stream (a pipe, a FIFO, a terminal) so that a
// read that waits ends when ctx is done: a Read blocked in the kernel
// cannot be called off, and an interrupted import waited, deaf to the
// interrupt, for as long as the stream sent nothing. Each read runs on a
// goroutine of its own, into a buffer of its own, while Read waits for it
// or for ctx; a read given up on keeps its buffer and ends when the
// stream gives or is closed, and every later Read fails with ctx's error.
// A read fills up to a bufio buffer (bufSize; a pipe gives up to 64 KiB),
// so the goroutine and the copy cost little beside parsing what it reads.
// A file whose size is known (a regular file, a strings.Reader) does not
// wait, and is read directly.
type streamReader struct {
	r io.Reader
	// ctx is FileOptions.Context while the header is read, then the ctx
	// of each FileSource.Next; nil reads directly.
	ctx context.Context
	buf []byte
	res chan streamRead
	err error // ctx's error, once a read was given up on
}

type streamRead struct {
	n   int
	err error
}

func (s *streamReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.ctx == nil || s.ctx.Done() == nil {
		return s.r.Read(p)
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	if cap(s.buf) < len(p) {
		s.buf = make([]byte, len(p))
	}
	if s.res == nil {
		s.res = make(chan streamRead, 1)
	}
	buf, res, r := s.buf[:len(p)], s.res, s.r
	go func() {
		n, err := r.Read(buf)
		res <- streamRead{n, err}
	}()
	select {
	case got := <-res:
		return copy(p, buf[:got.n]), got.err
	case <-s.ctx.Done():
		s.buf, s.res, s.err = nil, nil, s.ctx.Err()
		return 0, s.err
	}
}

// readError turns a failure of the underlying reader (a truncated or
// corrupt gzip stream, an I/O error) into a fatal error naming the file.
func readError(name string, line int, err error) error {
	if _, ok := errors.AsType[*LineTooLongError](err); ok {
		return err
	}
	where := name
	if line > 0 {
		where = fmt.Sprintf("%s: after line %d", name, line)
	}
	var gzErr bool
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		gzErr = true
	}
	if gzErr || strings.HasPrefix(err.Error(), "flate:") {
		return fmt.Errorf("%s: the file is truncated or corrupt (%w); nothing after this point could be read", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// crReader reads a file whose lines end with a lone \r as if they ended
// with \n. A \r\n further on becomes two line ends, and every reader skips
// the empty line between them.
type crReader struct{ r io.Reader }

func (c crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// dropCRReader reads a file whose lines end with \r\r\n as if they ended
// with \n: it drops every \r. Python's csv module writes such files on
// Windows when the file is opened without newline="": it ends a row with
// \r\n, and the text mode writes each \n as \r\n. Line numbers then
// count the \n's, as wc, grep -n and sed do; counting each \r as a line
// end, as crReader does, put a row's line at 3n-2. The text mode wrote
// the line ends inside quoted fields the same way, so the \r's there go
// too.
type dropCRReader struct{ r io.Reader }

func (d *dropCRReader) Read(p []byte) (int, error) {
	for {
		n, err := d.r.Read(p)
		kept := 0
		for _, b := range p[:n] {
			if b != '\r' {
				p[kept] = b
				kept++
			}
		}
		// A read of only \r's is read again: bufio gives up after 100
		// reads that return nothing.
		if kept > 0 || err != nil || n == 0 {
			return kept, err
		}
	}
}

// lineReader reads lines of any length, without their \n or \r\n.
type lineReader struct {
	br   *bufio.Reader
	buf  []byte
	line int
}

// next returns the next line (valid until the next call) and its number.
// A read failure is returned as is, without the partial line.
func (l *lineReader) next() ([]byte, error) {
	b, err := l.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.buf = append(l.buf[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = l.br.ReadSlice('\n')
			l.buf = append(l.buf, b...)
		}
		b = l.buf
	}
	if err != nil && !(err == io.EOF && len(b) > 0) {
		return nil, err
	}
	l.line++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return b, nil
}
