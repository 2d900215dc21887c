package storage

import (
	"encoding/binary"
	"hash/crc32"
	"io"

	bolt "go.etcd.io/bbolt"
)

// ChunkSize bounds every value that large blobs (models, indexes) are cut
// into. Each chunk is stored as [crc32c of the bytes u32][bytes].
const ChunkSize = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// chunkWriter cuts a byte stream into checksummed chunks.
type chunkWriter struct {
	put   func(seq uint32, chunk []byte) error
	buf   []byte
	seq   uint32
	total int64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 4, 4+ChunkSize)
		}
		room := 4 + ChunkSize - len(w.buf)
		take := min(room, len(p))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) == 4+ChunkSize {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	w.total += int64(n)
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) <= 4 {
		return nil
	}
	binary.BigEndian.PutUint32(w.buf[:4], crc32.Checksum(w.buf[4:], castagnoli))
	if err := w.put(w.seq, w.buf); err != nil {
		return err
	}
	w.seq++
	w.buf = w.buf[:4]
	return nil
}

// Close writes the last, partial chunk.
func (w *chunkWriter) Close() error { return w.flush() }

// chunkReader reads the chunks of a bucket back as one stream, checking
// every checksum and that no chunk is missing. Returned bytes alias the
// bbolt mmap only until the transaction ends; Read copies.
type chunkReader struct {
	c    *bolt.Cursor
	b    *bolt.Bucket
	cur  []byte
	next uint32
	done bool
	read int // bytes returned so far
}

func newChunkReader(b *bolt.Bucket) *chunkReader {
	return &chunkReader{b: b, c: b.Cursor()}
}

// size returns the total payload size (a hint; no checksums checked).
func (r *chunkReader) size() int {
	n := 0
	c := r.b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) > 4 {
			n += len(v) - 4
		}
	}
	return n
}

// Len returns how many bytes are left to read, from the chunks' sizes
// (a hint: no checksums checked), so that a decoder can allocate what they
// hold at once.
func (r *chunkReader) Len() int { return max(0, r.size()-r.read) }

func (r *chunkReader) load() error {
	var k, v []byte
	if r.next == 0 {
		k, v = r.c.First()
	} else {
		k, v = r.c.Next()
	}
	if k == nil {
		r.done = true
		return io.EOF
	}
	if len(k) != 4 {
		return corruptf("chunk key %x: not a chunk number", k)
	}
	if seq := binary.BigEndian.Uint32(k); seq != r.next {
		return corruptf("chunk %d missing (found %d)", r.next, seq)
	}
	if len(v) < 4 {
		return corruptf("chunk %d: truncated (%d bytes)", r.next, len(v))
	}
	if got, want := crc32.Checksum(v[4:], castagnoli), binary.BigEndian.Uint32(v[:4]); got != want {
		return corruptf("chunk %d: checksum mismatch (crc32c %08x, stored %08x)", r.next, got, want)
	}
	r.cur = v[4:]
	r.next++
	return nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.done {
			return 0, io.EOF
		}
		if err := r.load(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.read += n
	return n, nil
}
