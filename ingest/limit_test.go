package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike/ingest"
)

const featuresHeader = "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence,track_name"

// endless yields prefix, then fill repeated forever; it fails the test
// when more than max bytes are read from it: a reader that held a whole
// over-long line would need far more.
type endless struct {
	t      *testing.T
	prefix []byte
	fill   []byte
	read   int64
	max    int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.max {
		e.t.Errorf("read past %d bytes: the line limit did not stop the reader", e.max)
		return 0, errors.New("read past the bound")
	}
	p = p[:min(int64(len(p)), e.max-e.read)]
	n := 0
	for n < len(p) {
		var src []byte
		if e.read < int64(len(e.prefix)) {
			src = e.prefix[e.read:]
		} else {
			off := (e.read - int64(len(e.prefix))) % int64(len(e.fill))
			src = e.fill[off:]
		}
		c := copy(p[n:], src)
		n += c
		e.read += int64(c)
	}
	return n, nil
}

// importLimited opens r and imports it, returning the first fatal error.
func importLimited(name string, r io.Reader, opts *ingest.FileOptions) error {
	src, err := ingest.NewFileReader(name, r, opts)
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = ingest.Run(context.Background(), src, newFakeDB().begin(), nil)
	return err
}

func TestLineLimit(t *testing.T) {
	const limit = 64 << 10
	row := "t1,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,song\n"
	for _, tc := range []struct {
		name, prefix, fill string
		line               string // ":N:" expected in the error
		record             bool
	}{
		{"long.csv", featuresHeader + "\n" + row + row + "t3,", "a", ":4:", false},
		{"header.csv", "track_id,", "a", ":1:", false},
		{"quoted.csv", featuresHeader + "\n" + row + `t2,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,"`, "x\n", ":3:", true},
		{"long.tsv", strings.ReplaceAll(featuresHeader, ",", "\t") + "\n" + strings.ReplaceAll(row, ",", "\t") + "t2\t", "a", ":3:", false},
		{"long.jsonl", `{"track_id":"t1","acousticness":0.1,"danceability":0.2,"energy":0.3,"instrumentalness":0.4,"key":5,"liveness":0.6,"loudness":-7,"mode":1,"speechiness":0.08,"tempo":120,"valence":0.9}` + "\n\n" + `{"track_id":"`, "a", ":3:", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Two read buffers of 256 KiB and a 64 KiB peek may be read
			// ahead of the limit, no more.
			r := &endless{t: t, prefix: []byte(tc.prefix), fill: []byte(tc.fill), max: int64(len(tc.prefix)) + limit + 4<<18}
			err := importLimited(tc.name, r, &ingest.FileOptions{MaxLineBytes: limit})
			if !errors.Is(err, ingest.ErrLineTooLong) {
				t.Fatalf("err = %v, want ErrLineTooLong", err)
			}
			msg := err.Error()
			for _, want := range []string{tc.name + tc.line, "64 KiB", "FileOptions.MaxLineBytes"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if len(msg) > 400 {
				t.Errorf("error is %d bytes long, want the line clipped: %.500s", len(msg), msg)
			}
			if lt, _ := errors.AsType[*ingest.LineTooLongError](err); lt == nil || lt.Record != tc.record {
				t.Errorf("error %#v: want Record %v", lt, tc.record)
			}
		})
	}
}

// TestLineLimitGzip is the case of the audit: a small gzip file holding a
// 1 GiB line is refused after reading about the limit, in little memory.
func TestLineLimitGzip(t *testing.T) {
	pr, pw := io.Pipe()
	produced := make(chan int64, 1)
	go func() {
		var n int64
		defer func() { produced <- n }()
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		if _, err := zw.Write([]byte(featuresHeader + "\nt1,")); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for n < 1<<30 {
			if _, err := zw.Write(chunk); err != nil {
				return
			}
			n += int64(len(chunk))
		}
		zw.Close()
		pw.Close()
	}()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := importLimited("huge.csv.gz", pr, nil)
	runtime.ReadMemStats(&after)
	pr.CloseWithError(errors.New("test done"))
	n := <-produced

	if !errors.Is(err, ingest.ErrLineTooLong) || !strings.Contains(err.Error(), "huge.csv.gz:2:") || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("err = %v, want huge.csv.gz:2: … over the 1 MiB limit", err)
	}
	if n > 32<<20 {
		t.Errorf("%d MiB of the line were decompressed; the 1 MiB limit should stop it within a few MiB", n>>20)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("allocated %d MiB to refuse the line, want a few", alloc>>20)
	}
}

func TestLineLimitRaised(t *testing.T) {
	name := strings.Repeat("n", 2<<20)
	file := featuresHeader + "\nt1,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9," + name + "\n"
	if err := importLimited("big.csv", strings.NewReader(file), nil); !errors.Is(err, ingest.ErrLineTooLong) {
		t.Fatalf("a 2 MiB line under the default limit: err = %v, want ErrLineTooLong", err)
	}
	if err := importLimited("big.csv", strings.NewReader(file), &ingest.FileOptions{MaxLineBytes: 4 << 20}); err != nil {
		t.Fatalf("a 2 MiB line under a 4 MiB limit: %v", err)
	}
}

// TestLongHeaderClipped: a header under the limit that names no known
// column is quoted clipped in the refusal.
func TestLongHeaderClipped(t *testing.T) {
	header := strings.Repeat("x", 500<<10) + "," + strings.Repeat("y", 300<<10) + "\n1,2\n"
	err := importLimited("wide.csv", strings.NewReader(header), nil)
	if !errors.Is(err, ingest.ErrColumns) {
		t.Fatalf("err = %v, want ErrColumns", err)
	}
	if len(err.Error()) > 2000 {
		t.Errorf("the refusal is %d bytes: the header is echoed", len(err.Error()))
	}
}

// TestLineLimitEveryLine: a line over the limit stops the import in every
// format and on every path a row takes (CSV's plain lines, its quoted
// fields, TSV, JSON Lines), however short it is beside a read; the error
// names the file, the line, its length, the limit, and what to raise to
// what. A limit of the line's length accepts it: the line end is not
// counted. A CSV record whose quoted fields span lines counts whole.
func TestLineLimitEveryLine(t *testing.T) {
	const long = 1041
	pad := func(prefix, suffix string) string {
		return prefix + strings.Repeat("x", long-len(prefix)-len(suffix)) + suffix
	}
	tsv := func(s string) string { return strings.ReplaceAll(s, ",", "\t") }
	jsonRow := func(id, name string) string {
		return `{"track_id":"` + id + `","acousticness":0.1,"danceability":0.2,"energy":0.3,"instrumentalness":0.4,"key":5,"liveness":0.6,"loudness":-7,"mode":1,"speechiness":0.08,"tempo":120,"valence":0.9,"track_name":"` + name + `"}`
	}
	const features = "0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,"
	record := "t3," + features + "\"" + strings.Repeat("y", 300) + "\n" + strings.Repeat("y", 300) + "\n" + strings.Repeat("y", 300) + "\""
	for _, tc := range []struct {
		name   string
		lines  []string // the file's lines; the over-long one is the third
		length int      // the third's length
		record bool
	}{
		{"plain.csv", []string{featuresHeader, row1, pad("t3,"+features, ""), row2}, long, false},
		{"quoted.csv", []string{featuresHeader, row1, pad("t3,"+features+`"a ""b`, `"`), row2}, long, false},
		{"record.csv", []string{featuresHeader, row1, record, row2}, len(record), true},
		{"rows.tsv", []string{tsv(featuresHeader), tsv(row1), tsv(pad("t3,"+features, "")), tsv(row2)}, long, false},
		{"rows.jsonl", []string{jsonRow("t1", "one"), jsonRow("t2", "two"), pad(jsonRow("t3", "")[:len(jsonRow("t3", ""))-2], `"}`), jsonRow("t4", "four")}, long, false},
	} {
		for _, end := range []string{"\n", "\r\n"} {
			lines := slices.Clone(tc.lines)
			length := tc.length
			if tc.record {
				lines[2] = strings.ReplaceAll(lines[2], "\n", end)
				length = len(lines[2]) + len(end) // its line ends counted
			}
			file := strings.Join(lines, end) + end
			t.Run(fmt.Sprintf("%s %q", tc.name, end), func(t *testing.T) {
				err := importLimited(tc.name, strings.NewReader(file), &ingest.FileOptions{MaxLineBytes: length - 1})
				lt, ok := errors.AsType[*ingest.LineTooLongError](err)
				if !ok {
					t.Fatalf("limit %d: err = %v, want a *LineTooLongError", length-1, err)
				}
				if lt.Line != 3 || lt.Length != int64(length) || lt.Record != tc.record || !strings.HasPrefix(lines[2], lt.Head) || len(lt.Head) < 50 {
					t.Errorf("limit %d: %+v, want line 3, length %d, record %v, the line's head", length-1, lt, length, tc.record)
				}
				what := fmt.Sprintf("line of %d bytes", length)
				if tc.record {
					what = fmt.Sprintf("record of %d bytes", length)
				}
				msg := err.Error()
				for _, want := range []string{tc.name + ":3: " + what, fmt.Sprintf("over the limit of %d bytes", length-1), fmt.Sprintf("raise FileOptions.MaxLineBytes to %d or more", length)} {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q does not say %q", msg, want)
					}
				}
				if err := importLimited(tc.name, strings.NewReader(file), &ingest.FileOptions{MaxLineBytes: length}); err != nil {
					t.Errorf("limit %d, the line's length: %v", length, err)
				}
			})
		}
	}
}

// TestLineLimitHeader: a header over the limit is a line, quoted from its
// start, not a record; a caller that names the limit otherwise (the
// command line by its flag) sets Option.
func TestLineLimitHeader(t *testing.T) {
	file := featuresHeader + "\n" + row1 + "\n"
	err := importLimited("h.csv", strings.NewReader(file), &ingest.FileOptions{MaxLineBytes: 100})
	lt, ok := errors.AsType[*ingest.LineTooLongError](err)
	if !ok {
		t.Fatalf("err = %v, want a *LineTooLongError", err)
	}
	if lt.Line != 1 || lt.Record || lt.Length != int64(len(featuresHeader)) || lt.Head != featuresHeader[:100] {
		t.Errorf("%+v, want line 1 of %d bytes, not a record, quoted from its start", lt, len(featuresHeader))
	}
	lt.Option = "--max-line-bytes"
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("raise --max-line-bytes to %d or more", len(featuresHeader))) || strings.Contains(msg, "FileOptions") {
		t.Errorf("with Option set: %q, want it named alone", msg)
	}
}

// TestLineLimitAcrossReads: a line over the limit that starts in one read
// of the buffer and ends in the next, neither part over the limit, is
// caught wherever it falls; the limit is larger than a read.
func TestLineLimitAcrossReads(t *testing.T) {
	const limit = 300 << 10
	filler := strings.Repeat(row2+"\n", 40)
	for _, before := range []int{100 << 10, 150 << 10, 200 << 10, 250 << 10} {
		var b strings.Builder
		b.WriteString(featuresHeader + "\n")
		for b.Len() < before {
			b.WriteString(filler)
		}
		line := strings.Count(b.String(), "\n") + 1
		b.WriteString("t3," + strings.Repeat("x", limit+10<<10) + "\n")
		for range 200 {
			b.WriteString(filler)
		}
		err := importLimited("big.csv", strings.NewReader(b.String()), &ingest.FileOptions{MaxLineBytes: limit})
		lt, ok := errors.AsType[*ingest.LineTooLongError](err)
		if !ok || lt.Line != line {
			t.Errorf("a %d KiB line on line %d, after %d KiB: err = %v, want it refused", (limit+10<<10)>>10, line, before>>10, err)
		}
	}
}
