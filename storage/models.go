package storage

import (
	"encoding/binary"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

var (
	keyBlob = []byte("blob")
	keyMeta = []byte("meta")
)

// PutModel stores a new model version (its encoded weights and a metadata
// document) and makes it current. Versions count up from 1.
func (tx *Tx) PutModel(blob, meta []byte) (version uint64, err error) {
	if err := tx.direct("put model"); err != nil {
		return 0, err
	}
	m := tx.meta()
	version = getU64(m, keyNextModel) + 1
	b, err := tx.tx.Bucket(bucketModels).CreateBucket(u64key(version))
	if err != nil {
		return 0, fmt.Errorf("put model %d: %w", version, err)
	}
	if err := putChunked(b, keyBlob, blob); err != nil {
		return 0, err
	}
	if err := b.Put(keyMeta, meta); err != nil {
		return 0, err
	}
	if err := putU64(m, keyNextModel, version); err != nil {
		return 0, err
	}
	return version, putU64(m, keyCurrentModel, version)
}

// CurrentModel returns the current model version, 0 when there is none.
func (tx *Tx) CurrentModel() uint64 { return getU64(tx.meta(), keyCurrentModel) }

// SetCurrentModel makes an existing version current.
func (tx *Tx) SetCurrentModel(version uint64) error {
	if err := tx.direct("set current model"); err != nil {
		return err
	}
	if tx.tx.Bucket(bucketModels).Bucket(u64key(version)) == nil {
		return fmt.Errorf("model version %d does not exist", version)
	}
	return putU64(tx.meta(), keyCurrentModel, version)
}

// Model returns a stored model's blob and metadata. ok is false when the
// version does not exist.
func (tx *Tx) Model(version uint64) (blob, meta []byte, ok bool, err error) {
	tx.setReading("reading the models bucket")
	b := tx.tx.Bucket(bucketModels).Bucket(u64key(version))
	if b == nil {
		return nil, nil, false, nil
	}
	blob, err = getChunked(b, keyBlob)
	if err != nil {
		return nil, nil, false, fmt.Errorf("model %d: %w", version, err)
	}
	return blob, b.Get(keyMeta), true, nil
}

// ForEachModel calls fn for every stored model, oldest first.
func (tx *Tx) ForEachModel(fn func(version uint64, meta []byte) error) error {
	tx.setReading("reading the models bucket")
	return tx.tx.Bucket(bucketModels).ForEachBucket(func(k []byte) error {
		if len(k) != 8 {
			return nil
		}
		return fn(binary.BigEndian.Uint64(k), tx.tx.Bucket(bucketModels).Bucket(k).Get(keyMeta))
	})
}

// putChunked stores a value that may exceed bbolt's comfortable value size
// as a nested bucket of checksummed chunks.
func putChunked(parent *bolt.Bucket, name, data []byte) error {
	b, err := parent.CreateBucket(name)
	if err != nil {
		return err
	}
	// bbolt keeps the value slice until commit, so each chunk is copied.
	w := &chunkWriter{put: func(seq uint32, chunk []byte) error { return b.Put(u32key(seq), append([]byte(nil), chunk...)) }}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

func getChunked(parent *bolt.Bucket, name []byte) ([]byte, error) {
	b := parent.Bucket(name)
	if b == nil {
		return nil, corruptf("missing %s", name)
	}
	r := newChunkReader(b)
	out := make([]byte, 0, r.size())
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return nil, err
		}
	}
}
