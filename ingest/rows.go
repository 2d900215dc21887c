package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// csvRows reads RFC 4180 CSV. A line without quotes that is whole in the
// read buffer is split here; anything else (quotes, a line across buffer
// refills, the last line without a newline) goes to encoding/csv, which
// reads from the same buffer. Most lines of a features file are plain
// numbers and ids, and splitting them here takes a third of the time.
type csvRows struct {
	name  string
	br    *bufio.Reader
	lim   *lineLimiter // under br; nil in tests that read without a limit
	r     *csv.Reader
	ncols int
	last  int // line of the last row returned
	// own counts the lines split here, which encoding/csv never saw: its
	// line numbers are that many behind. lines is how many lines have
	// been read, while synced: after an error whose row's end is not
	// known, every line goes to encoding/csv.
	own    int
	lines  int
	synced bool
	fields []string
	// joined counts the rows read that may be several joined by a stray
	// quote (see joinedRows); firstJoined is the line of the first.
	joined, firstJoined int
}

func newCSVRows(name string, br *bufio.Reader, lim *lineLimiter, mo *MapperOptions) (rowReader, *Mapper, error) {
	r := csv.NewReader(br) // uses br itself: it is a large enough *bufio.Reader
	r.ReuseRecord = true
	c := &csvRows{name: name, br: br, lim: lim, r: r, synced: true}
	_, header, err := c.next()
	if err != nil {
		if err == io.EOF {
			return nil, nil, fmt.Errorf("%s: empty file: no header row", name)
		}
		return nil, nil, err
	}
	c.ncols = len(header)
	m, err := newFileMapper(name, header, mo)
	if err != nil {
		return nil, nil, err
	}
	return c, m, nil
}

func (c *csvRows) next() (int, []string, error) {
	if c.synced && c.ncols > 0 { // the header goes to encoding/csv, which learns the field count from it
		if line, values, err, ok := c.plain(); ok {
			return line, values, err
		}
	}
	rec, err := c.readRecord()
	if err == nil {
		c.last, _ = c.r.FieldPos(0)
		c.last += c.own
		// The row ends where its last field does: newlines inside
		// quoted fields are line breaks of the file.
		end, _ := c.r.FieldPos(len(rec) - 1)
		c.lines = end + strings.Count(rec[len(rec)-1], "\n") + c.own
		if c.lines > c.last && mayBeJoined(rec) {
			c.joined++
			if c.firstJoined == 0 {
				c.firstJoined = c.last
			}
		}
		return c.last, rec, nil
	}
	c.synced = false
	if err == io.EOF {
		return 0, nil, err
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return 0, nil, readError(c.name, c.last, err)
	}
	pe.StartLine += c.own
	pe.Line += c.own
	c.last = pe.Line
	// encoding/csv has read the bad row to its end: the plain path may go
	// on from the next line.
	end := pe.StartLine // the row's last line, when known
	switch pe.Err {
	case csv.ErrFieldCount:
		if len(rec) > 0 {
			last, _ := c.r.FieldPos(len(rec) - 1)
			end = last + strings.Count(rec[len(rec)-1], "\n") + c.own
			c.lines, c.synced = end, true
		}
	case csv.ErrBareQuote, csv.ErrQuote:
		end = pe.Line
		c.lines, c.synced = pe.Line, true
	}
	rowErr := func(format string, a ...any) (int, []string, error) {
		reason := fmt.Sprintf(format, a...)
		if end > pe.StartLine {
			// A stray quote can join the rows of several lines into
			// one: each of them is rejected, though one error is given.
			reason = fmt.Sprintf("lines %d-%d were read as one row (a quoted field holds their line ends) and rejected: %s", pe.StartLine, end, reason)
		}
		return pe.StartLine, nil, &RowError{File: c.name, Line: pe.StartLine, Reason: reason}
	}
	switch pe.Err {
	case csv.ErrFieldCount:
		return rowErr("row has %d fields, the header has %d", len(rec), c.ncols)
	case csv.ErrBareQuote:
		return rowErr(`stray quote (") inside an unquoted field (line %d, byte %d): put the whole field in quotes and double the quotes inside it`, pe.Line, pe.Column)
	case csv.ErrQuote:
		if _, eof := c.br.Peek(1); eof == io.EOF && pe.Line > pe.StartLine {
			return 0, nil, fmt.Errorf("%s:%d: unterminated quoted field: the quote opened on line %d is never closed, so lines %d-%d could not be read as rows: %w",
				c.name, pe.StartLine, pe.StartLine, pe.StartLine, pe.Line, csv.ErrQuote)
		}
		return rowErr(`misplaced or unterminated quote (") (line %d, byte %d): a quoted field must end with a quote followed by a comma or the end of the line`, pe.Line, pe.Column)
	}
	return rowErr("%v", pe.Err)
}

// mayBeJoined reports whether a row that spans lines has a field with a
// comma after a line end: what a stray quote (") makes of the rows of
// several lines, read as one field until a quote closes it. When it
// closes in the column it opened in, the row has the header's number of
// fields and is taken: one track with another's values, the other lost,
// and no row rejected. A name that holds a line end ("Two\nlines") seldom
// has a comma after it, and is not warned of.
func mayBeJoined(rec []string) bool {
	for _, f := range rec {
		if i := strings.IndexByte(f, '\n'); i >= 0 && strings.IndexByte(f[i:], ',') >= 0 {
			return true
		}
	}
	return false
}

// joinedRows reports how many rows mayBeJoined and the line of the first.
func (c *csvRows) joinedRows() (n, first int) { return c.joined, c.firstJoined }

// readRecord reads a record with encoding/csv, failing with a
// *LineTooLongError when its quoted fields span lines and it is over the
// limit (see lineLimiter, which checks each line).
func (c *csvRows) readRecord() ([]string, error) {
	if c.lim == nil {
		return c.r.Read()
	}
	line := c.last + 1
	if c.synced {
		line = c.lines + 1
	}
	head, _ := c.br.Peek(min(c.br.Buffered(), headBytes))
	c.lim.startRecord(c.lim.n-int64(c.br.Buffered()), line, head)
	rec, err := c.r.Read()
	first, last := 0, 0
	if err == nil {
		first, _ = c.r.FieldPos(0)
		last, _ = c.r.FieldPos(len(rec) - 1)
		last += strings.Count(rec[len(rec)-1], "\n")
	}
	if lerr := c.lim.endRecord(c.lim.n-int64(c.br.Buffered()), first+c.own, last+c.own); lerr != nil && err == nil {
		return nil, lerr
	}
	return rec, err
}

// plain splits the next line when it has no quote and is whole in the
// buffer, as encoding/csv would: empty lines are skipped, a final \r\n or
// \n ends the line, and a row must have the header's number of fields.
// ok is false when the line must go to encoding/csv.
func (c *csvRows) plain() (line int, values []string, err error, ok bool) {
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		n := bytes.IndexByte(buf, '\n')
		if n < 0 || bytes.IndexByte(buf[:n], '"') >= 0 {
			return 0, nil, nil, false
		}
		b := buf[:n]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		row := string(b)
		c.br.Discard(n + 1)
		c.own++
		c.lines++
		c.last = c.lines
		if row == "" {
			continue // encoding/csv skips empty lines
		}
		c.fields = c.fields[:0]
		for {
			i := strings.IndexByte(row, ',')
			if i < 0 {
				break
			}
			c.fields = append(c.fields, row[:i])
			row = row[i+1:]
		}
		c.fields = append(c.fields, row)
		if len(c.fields) != c.ncols {
			return c.last, nil, &RowError{File: c.name, Line: c.last, Reason: fmt.Sprintf("row has %d fields, the header has %d", len(c.fields), c.ncols)}, true
		}
		return c.last, c.fields, nil, true
	}
}

// newFileMapper is NewMapper for a file's header: see Mapper.checkFile.
func newFileMapper(name string, header []string, mo *MapperOptions) (*Mapper, error) {
	m := newMapper(name, mo)
	for _, c := range header {
		m.addColumn(c)
	}
	if err := m.checkFile(); err != nil {
		if sep, ok := otherSeparator(header); ok {
			// "no track id column" would be all the error said, with
			// the track_id column in plain sight.
			return nil, fmt.Errorf("%s: %w: the header is one column, %q, with %q between its names: a %q-separated file is not read (accepted: comma-separated CSV or tab-separated TSV, numbers with a decimal point: 0.5, not 0,5)",
				name, ErrColumns, clip(header[0]), sep, sep)
		}
		return nil, err
	}
	return m, nil
}

// otherSeparator reports the separator, ';' or '|', of a header that is
// read as one column because it has neither a comma nor a tab: the
// spreadsheets of countries that write 0,5 for a half save CSV with
// semicolons. No file of one column can make tracks, so it is never
// wrong to say so.
func otherSeparator(header []string) (byte, bool) {
	if len(header) != 1 {
		return 0, false
	}
	semi, bar := strings.Count(header[0], ";"), strings.Count(header[0], "|")
	switch {
	case semi > 0 && semi >= bar:
		return ';', true
	case bar > 0:
		return '|', true
	}
	return 0, false
}

// tsvRows reads tab-separated values: no quoting rules except that a field
// wholly enclosed in double quotes is unquoted ("" inside becomes ").
// Fields cannot contain tabs or newlines.
type tsvRows struct {
	name   string
	lr     lineReader
	ncols  int
	values []string
}

func newTSVRows(name string, br *bufio.Reader, mo *MapperOptions) (rowReader, *Mapper, error) {
	t := &tsvRows{name: name, lr: lineReader{br: br}}
	_, header, err := t.next()
	if err != nil {
		if err == io.EOF {
			return nil, nil, fmt.Errorf("%s: empty file: no header row", name)
		}
		return nil, nil, err
	}
	header = append([]string(nil), header...)
	t.ncols = len(header)
	m, err := newFileMapper(name, header, mo)
	if err != nil {
		return nil, nil, err
	}
	return t, m, nil
}

func (t *tsvRows) next() (int, []string, error) {
	for {
		b, err := t.lr.next()
		if err != nil {
			if err == io.EOF {
				return 0, nil, err
			}
			return 0, nil, readError(t.name, t.lr.line, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		s := string(b)
		t.values = t.values[:0]
		for {
			i := strings.IndexByte(s, '\t')
			if i < 0 {
				t.values = append(t.values, unquoteTSV(s))
				break
			}
			t.values = append(t.values, unquoteTSV(s[:i]))
			s = s[i+1:]
		}
		if t.ncols > 0 && len(t.values) != t.ncols {
			return t.lr.line, nil, &RowError{File: t.name, Line: t.lr.line,
				Reason: fmt.Sprintf("row has %d fields, the header has %d", len(t.values), t.ncols)}
		}
		return t.lr.line, t.values, nil
	}
}

func unquoteTSV(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// jsonlRows reads JSON Lines. The first object's keys are the columns; a
// later object may add a column the Mapper knows, and keys it does not
// know are ignored. A key missing from an object reads as "". A key
// given twice in one object is read as a column named twice in a CSV
// header is: its first value is read, the others are ignored, and the
// file is warned about once (repeatedKeys).
type jsonlRows struct {
	name    string
	lr      lineReader
	m       *Mapper
	index   map[string]int // key → column
	values  []string
	keys    []string // reused by decodeObject
	vals    []string
	pending *pendingRow
	// setIn holds, per column, the last object (its ordinal, objects)
	// that gave it a value, so that a key's second value in one object
	// is told from its first.
	setIn   []int
	objects int
	// repeated counts the objects that give a key twice; firstRepeat is
	// the line of the first, and repeatedKey its key.
	repeated, firstRepeat int
	repeatedKey           string
}

// noteRepeat counts an object, at line, that gives key twice.
func (j *jsonlRows) noteRepeat(line int, key string) {
	if j.repeated == 0 {
		j.firstRepeat, j.repeatedKey = line, strings.Clone(key) // key may point into the line buffer
	}
	j.repeated++
}

// repeatedKeys reports the objects that give a key twice, the line of the
// first and its key.
func (j *jsonlRows) repeatedKeys() (n, first int, key string) {
	return j.repeated, j.firstRepeat, j.repeatedKey
}

type pendingRow struct {
	line   int
	values []string
}

func newJSONLRows(name string, br *bufio.Reader, mo *MapperOptions) (rowReader, *Mapper, error) {
	j := &jsonlRows{name: name, lr: lineReader{br: br}, index: map[string]int{}}
	var (
		keys []string
		vals []string
	)
	for {
		b, err := j.lr.next()
		if err != nil {
			if err == io.EOF {
				return nil, nil, fmt.Errorf("%s: empty file: no JSON object", name)
			}
			return nil, nil, readError(name, j.lr.line, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		keys, vals, err = decodeObject(b, nil, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: the first object gives the columns, but %s", name, j.lr.line, err)
		}
		break
	}
	// The mapper is built key by key so that a duplicate key keeps one
	// column, and its first value, as a CSV header's repeated column does
	// (encoding/json keeps the last: a column's first occurrence is what
	// import reads everywhere else).
	m := newMapper(name, mo)
	m.firstObjectLine = j.lr.line
	first := make([]string, 0, len(keys))
	repeat := ""
	for i, k := range keys {
		if _, dup := j.index[k]; dup {
			if repeat == "" {
				repeat = k
			}
			continue
		}
		j.index[k] = len(first)
		m.addColumn(k)
		first = append(first, vals[i])
	}
	if err := m.checkFile(); err != nil {
		return nil, nil, err
	}
	if repeat != "" {
		j.noteRepeat(j.lr.line, repeat)
	}
	j.m = m
	j.pending = &pendingRow{line: j.lr.line, values: first}
	return j, m, nil
}

func (j *jsonlRows) next() (int, []string, error) {
	if p := j.pending; p != nil {
		j.pending = nil
		return p.line, p.values, nil
	}
	for {
		b, err := j.lr.next()
		if err != nil {
			if err == io.EOF {
				return 0, nil, err
			}
			return 0, nil, readError(j.name, j.lr.line, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		line := j.lr.line
		rowErr := func(err error) (int, []string, error) {
			return line, nil, &RowError{File: j.name, Line: line, Reason: err.Error()}
		}
		keys, vals, err := decodeObject(b, j.keys[:0], j.vals[:0])
		if err != nil {
			return rowErr(err)
		}
		j.keys, j.vals = keys, vals
		j.values = j.values[:0]
		for range j.m.columns {
			j.values = append(j.values, "")
		}
		j.objects++
		repeat := ""
		for i, k := range keys {
			c, ok := j.index[k]
			if !ok {
				// A key the first object did not have: take it only if it
				// feeds a field that has no column yet.
				fr, known := aliasIndex[normalizeName(k)]
				if !known || j.m.col[fr.f] >= 0 {
					continue
				}
				c = len(j.m.columns)
				j.m.addColumn(k)
				j.index[k] = c
				j.values = append(j.values, "")
			}
			for len(j.setIn) <= c {
				j.setIn = append(j.setIn, 0)
			}
			if j.setIn[c] == j.objects {
				if repeat == "" {
					repeat = k
				}
				continue // the key's first value is read
			}
			j.setIn[c] = j.objects
			j.values[c] = vals[i]
		}
		if repeat != "" {
			j.noteRepeat(line, repeat)
		}
		return line, j.values, nil
	}
}

// decodeObject decodes one JSON object into its keys, in order, and its
// values as text: strings unquoted, null and nested objects as "", and
// numbers, booleans and arrays as their JSON text (a list cell accepts a
// JSON array). The line is checked with json.Valid and then scanned by
// hand: encoding/json's token API costs hundreds of allocations a row.
func decodeObject(b []byte, keys, vals []string) ([]string, []string, error) {
	if !utf8.Valid(b) {
		return nil, nil, errors.New("invalid UTF-8 (the file must be UTF-8 encoded)")
	}
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		if err == nil {
			err = errors.New("not a single JSON value")
		}
		return nil, nil, fmt.Errorf("invalid JSON: %v (each line must be exactly one {…} object)", err)
	}
	line := string(b) // one allocation; unescaped strings are slices of it
	i := skipSpace(line, 0)
	if line[i] != '{' {
		return nil, nil, errors.New("not a JSON object (each line must be one {…} object)")
	}
	i = skipSpace(line, i+1)
	for line[i] != '}' {
		end := scanValue(line, i)
		key, err := jsonText(line[i:end])
		if err != nil {
			return nil, nil, fmt.Errorf("invalid JSON: %v", err)
		}
		i = skipSpace(line, end)
		i = skipSpace(line, i+1) // the colon
		end = scanValue(line, i)
		v, err := jsonText(line[i:end])
		if err != nil {
			return nil, nil, fmt.Errorf("invalid JSON at key %q: %v", key, err)
		}
		keys = append(keys, key)
		vals = append(vals, v)
		i = skipSpace(line, end)
		if line[i] == ',' {
			i = skipSpace(line, i+1)
		}
	}
	return keys, vals, nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanValue returns the end of the JSON value starting at s[i], which
// json.Valid has vouched for.
func scanValue(s string, i int) int {
	switch s[i] {
	case '"':
		return scanString(s, i)
	case '{', '[':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				i = scanString(s, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(s) {
		switch s[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// scanString returns the end of the JSON string starting at s[i].
func scanString(s string, i int) int {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// jsonText turns one JSON value into cell text (see decodeObject).
func jsonText(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		if strings.IndexByte(raw, '\\') < 0 {
			return raw[1 : len(raw)-1], nil
		}
		var s string
		err := json.Unmarshal([]byte(raw), &s)
		return s, err
	case 'n', '{':
		return "", nil // null; nested objects are ignored
	}
	return raw, nil
}
