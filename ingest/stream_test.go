package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike/ingest"
)

// rowGen is an io.Reader that produces a CSV header and n generated rows
// on the fly, so that the test itself holds no large buffer.
type rowGen struct {
	n, i int
	buf  []byte
}

func (g *rowGen) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.i == 0:
			g.buf = []byte("track_id,track_name,track_artist,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms,playlist_id,playlist_genre\n")
		case g.i > g.n:
			return 0, io.EOF
		default:
			g.buf = fmt.Appendf(nil, "id%09d,A song with a reasonably long title number %d,Some Artist %d,0.5,0.6,%d,-5.5,1,0.05,0.2,0.001,0.1,0.4,120.5,200000,playlist%d,pop\n",
				g.i, g.i, g.i%1000, g.i%12, g.i%500)
		}
		g.i++
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// TestStreamingMemory reads a large generated CSV and checks that the heap
// stays flat: it must not grow with the input.
func TestStreamingMemory(t *testing.T) {
	rows := 200_000 // about 40 MB of CSV
	if testing.Short() {
		rows = 50_000
	}
	src, err := ingest.NewReader("big.csv", &rowGen{n: rows})
	if err != nil {
		t.Fatal(err)
	}
	var (
		ms       runtime.MemStats
		peak     uint64
		n, bytes int
	)
	for {
		rec, err := src.Next(t.Context())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		bytes += len(rec.Track.Name) + 150
		if n%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if n != rows {
		t.Fatalf("read %d rows, want %d", n, rows)
	}
	// The reader holds two 256 KiB buffers and one row; 8 MiB leaves room
	// for the test binary's own heap.
	t.Logf("heap peak %d KiB over %d rows", peak>>10, n)
	if peak > 8<<20 {
		t.Errorf("heap peaked at %d MiB while streaming %d rows (~%d MiB): reading is not streamed", peak>>20, rows, bytes>>20)
	}
}

// TestInterruptWhileStreamWaits: a stream that sends nothing more (a
// terminal, a stalled pipe) does not hold an interrupted import: Run and
// NewFileReader return the context's error while the read still waits.
// They waited for as long as the stream did.
func TestInterruptWhileStreamWaits(t *testing.T) {
	const within = 10 * time.Second
	t.Run("rows", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close() // ends the read given up on
		// More than the 64 KiB that opening reads ahead, then nothing.
		var file strings.Builder
		file.WriteString(featuresHeader + "\n")
		for i := 0; file.Len() < 256<<10; i++ {
			fmt.Fprintf(&file, "%s%d\n", row1, i)
		}
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			pw.Write([]byte(file.String()))
			// Interrupted once every row is read and the next read waits.
			time.Sleep(100 * time.Millisecond)
			cancel()
		}()
		src, err := ingest.NewReader("stdin", pr)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		done := make(chan error, 1)
		go func() {
			_, err := ingest.Run(ctx, src, newFakeDB().begin(), nil)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
		case <-time.After(within):
			t.Fatalf("Run still waits on the stream %v after the interrupt", within)
		}
	})
	t.Run("header", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		endsOnInterrupt(t, within, "NewFileReader", func(ctx context.Context) (*ingest.FileSource, error) {
			return ingest.NewFileReader("stdin", pr, &ingest.FileOptions{Context: ctx})
		})
	})
	t.Run("fifo without a writer", func(t *testing.T) {
		// Opening a FIFO waits in open(2) for a writer, before any read.
		fifo := filepath.Join(t.TempDir(), "in.csv")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		endsOnInterrupt(t, within, "OpenFile", func(ctx context.Context) (*ingest.FileSource, error) {
			return ingest.OpenFile(fifo, &ingest.FileOptions{Context: ctx})
		})
		// The open given up on holds no file: a writer finds no reader.
		w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			w.Close()
		}
		if !errors.Is(err, syscall.ENXIO) {
			t.Errorf("opening the FIFO for writing after OpenFile gave up = %v, want ENXIO (no reader left)", err)
		}
	})
}

// endsOnInterrupt calls open (what) with a context cancelled after 50 ms
// and fails t unless it returns context.Canceled within the given time.
func endsOnInterrupt(t *testing.T, within time.Duration, what string, open func(context.Context) (*ingest.FileSource, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		src, err := open(ctx)
		if err == nil {
			src.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s = %v, want context.Canceled", what, err)
		}
	case <-time.After(within):
		t.Fatalf("%s still waits %v after the interrupt", what, within)
	}
}

// TestOpenFIFO: a FIFO opened with a Context is read as a file is, its
// writer coming after the open began.
func TestOpenFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "in.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() { wrote <- os.WriteFile(fifo, []byte(featuresHeader+"\n"+row1+"\n"), 0) }()
	src, err := ingest.OpenFile(fifo, &ingest.FileOptions{Context: t.Context()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sum, err := ingest.Run(t.Context(), src, newFakeDB().begin(), nil)
	if err != nil || sum.TracksAdded != 1 {
		t.Errorf("Run = %+v, %v, want 1 track added", sum, err)
	}
	if err := <-wrote; err != nil {
		t.Errorf("writing the FIFO: %v", err)
	}
}
