package ingest_test

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// benchData is the input of the parse benchmarks: the dev file
// decompressed when it is available (25,762 rows), else the committed
// sample (3,074 rows).
func benchData(b *testing.B) (name string, data []byte) {
	b.Helper()
	p := os.Getenv("SOUNDALIKE_DEV_DATA")
	if p == "" {
		p = "/work/shared/data/spotify_songs_dev.csv.gz"
	}
	if f, err := os.Open(p); err == nil {
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(gz)
		if err != nil {
			b.Fatal(err)
		}
		return "dev.csv", data
	}
	data, err := os.ReadFile(sample)
	if err != nil {
		b.Fatal(err)
	}
	return "sample.csv", data
}

// reportRows reports the rows per wall-clock second and, because the
// machine is shared and wall time is noisy, per CPU second of the process
// (user+sys since start, GC included).
func reportRows(b *testing.B, rows int, start time.Duration) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/(cpuTime()-start).Seconds(), "rows/cpu-s")
}

// cpuTime is the process's user+sys CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCSVBaseline is encoding/csv alone (ReuseRecord), no mapping:
// the floor BenchmarkCSV is compared with.
func BenchmarkCSVBaseline(b *testing.B) {
	_, data := benchData(b)
	b.ReportAllocs()
	rows, cpu := 0, cpuTime()
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	reportRows(b, rows, cpu)
}

// BenchmarkCSV reads, maps and validates every row: what import does
// before the database.
func BenchmarkCSV(b *testing.B) {
	name, data := benchData(b)
	b.ReportAllocs()
	rows, cpu := 0, cpuTime()
	for b.Loop() {
		src, err := ingest.NewReader(name, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := src.Next(b.Context())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	reportRows(b, rows, cpu)
}

// BenchmarkCSVGzip is BenchmarkCSV on the gzip-compressed input.
func BenchmarkCSVGzip(b *testing.B) {
	name, data := benchData(b)
	gz := gzipped(b, data)
	b.ReportAllocs()
	rows, cpu := 0, cpuTime()
	for b.Loop() {
		src, err := ingest.NewReader(name+".gz", bytes.NewReader(gz))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := src.Next(b.Context())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	reportRows(b, rows, cpu)
}

type nopSink struct{}

func (nopSink) PutTrack(*soundalike.Track) (bool, bool, error)       { return true, true, nil }
func (nopSink) PutInteraction(*soundalike.Interaction) (bool, error) { return true, nil }

// BenchmarkRun is BenchmarkCSV through Run into a sink that stores
// nothing: Run's own overhead on top of parsing.
func BenchmarkRun(b *testing.B) {
	name, data := benchData(b)
	b.ReportAllocs()
	rows, cpu := 0, cpuTime()
	for b.Loop() {
		src, err := ingest.NewReader(name, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		sum, err := ingest.Run(b.Context(), src, nopSink{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		rows += sum.TracksAdded + sum.Rejected
	}
	reportRows(b, rows, cpu)
}

// BenchmarkJSONL reads the same rows as JSON Lines.
func BenchmarkJSONL(b *testing.B) {
	name, data := benchData(b)
	src, err := ingest.NewReader(name, bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	header := src.Mapper().Columns()
	r := csv.NewReader(bytes.NewReader(data))
	r.Read()
	var buf bytes.Buffer
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		buf.WriteByte('{')
		for i, h := range header {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(`"` + h + `":`)
			writeJSONString(&buf, rec[i])
		}
		buf.WriteString("}\n")
	}
	data = buf.Bytes()
	b.ReportAllocs()
	rows, cpu := 0, cpuTime()
	for b.Loop() {
		src, err := ingest.NewReader("bench.jsonl", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := src.Next(b.Context())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	reportRows(b, rows, cpu)
}

func writeJSONString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"', '\\':
			buf.WriteByte('\\')
			buf.WriteRune(c)
		case '\n':
			buf.WriteString(`\n`)
		default:
			buf.WriteRune(c)
		}
	}
	buf.WriteByte('"')
}

// BenchmarkGunzipBaseline is decompression alone: the floor of
// BenchmarkCSVGzip.
func BenchmarkGunzipBaseline(b *testing.B) {
	_, data := benchData(b)
	gz := gzipped(b, data)
	b.ReportAllocs()
	for b.Loop() {
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportBolt is the whole import into a fresh bbolt database in
// one transaction, commit (and fsync) included: the ≥200,000 rows/s
// target. Each iteration imports into a new file.
func BenchmarkImportBolt(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			srcName, data := benchData(b)
			dir := b.TempDir()
			b.ReportAllocs()
			rows, i, cpu := 0, 0, cpuTime()
			for b.Loop() {
				i++
				eng, err := soundalike.Open(filepath.Join(dir, fmt.Sprintf("b%d.db", i)), &soundalike.Options{NoSync: !sync})
				if err != nil {
					b.Fatal(err)
				}
				err = eng.Import(b.Context(), func(tx *soundalike.ImportTx) error {
					src, err := ingest.NewReader(srcName, bytes.NewReader(data))
					if err != nil {
						return err
					}
					sum, err := ingest.Run(b.Context(), src, tx, nil)
					rows += sum.TracksAdded + sum.TracksUpdated + sum.Rejected
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				eng.Close()
			}
			reportRows(b, rows, cpu)
		})
	}
}
