package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"runtime"
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
			for _, want := range []string{tc.name + tc.line, "64 KiB", "--max-line-bytes"} {
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
