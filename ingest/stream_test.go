package ingest_test

import (
	"fmt"
	"io"
	"runtime"
	"testing"

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
