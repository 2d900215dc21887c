package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNotFound: the track is not in the catalogue. An interaction with a
// track that is not stored fails with it. soundalike.ErrNotFound is this
// same value.
var ErrNotFound = errors.New("track not found")

// MaxKeyLen is the longest track id, user or action the database stores,
// in bytes. They are bbolt keys (an interaction's key holds all three),
// and bbolt refuses keys over 32 KiB only at commit, which would fail a
// whole import instead of one write.
const MaxKeyLen = 1024

// lookupTrack returns the stored value of a track: its buffered entry p
// (nil when there is none), or else what the bucket holds. A miss is
// remembered in missID, so that the PutTrack that usually follows a failed
// Track does not look again.
func (tx *Tx) lookupTrack(id string) (p *[]byte, v []byte) {
	if id == tx.buf.missID {
		return nil, nil
	}
	if p = tx.buf.tracks.get(id); p != nil {
		return p, *p
	}
	tx.setReading("reading the tracks bucket")
	if v = tx.bucket(bucketTracks).Get(bytesOf(id)); v == nil {
		tx.buf.missID = id
	}
	return nil, v
}

// trackHeader is the storage-owned prefix of a track value.
const trackHeader = 12 // seq u64, node u32

// Track returns the stored bytes and node id of a track.
func (tx *Tx) Track(id string) (node uint32, data []byte, ok bool) {
	defer markDamage() // called from an import callback (RunCaller)
	_, v := tx.lookupTrack(id)
	if len(v) < trackHeader {
		return 0, nil, false
	}
	return binary.BigEndian.Uint32(v[8:12]), v[trackHeader:], true
}

// PutTrack stores data as the track id, which is non-empty and at most
// MaxKeyLen bytes. A new track gets the next node id; a known one keeps
// its node. When data equals what is stored nothing is written and
// changed is false.
func (tx *Tx) PutTrack(id string, data []byte) (node uint32, added, changed bool, err error) {
	defer markDamage() // called from an import callback (RunCaller)
	if id == "" {
		return 0, false, false, errors.New("put track: empty id")
	}
	if len(id) > MaxKeyLen {
		return 0, false, false, fmt.Errorf("put track: id of %d bytes; at most %d", len(id), MaxKeyLen)
	}
	if err := tx.maybeStage(); err != nil {
		return 0, false, false, err
	}
	p, old := tx.lookupTrack(id) // p is updated in place below
	if len(old) >= trackHeader {
		node = binary.BigEndian.Uint32(old[8:12])
		if bytes.Equal(old[trackHeader:], data) {
			return node, false, false, nil
		}
	} else {
		next := tx.counter(cNextNode)
		if next > 1<<32-1 {
			return 0, false, false, errors.New("put track: more than 2^32 tracks")
		}
		node = uint32(next)
		tx.setCounter(cNextNode, next+1)
		// Node ids are never reused (next_node only grows), so a new
		// node has no tombstone to clear.
		tx.addCounter(cNTracks, 1)
		added = true
	}
	seq := tx.counter(cCatalogSeq) + 1
	tx.setCounter(cCatalogSeq, seq)
	v := tx.buf.alloc(trackHeader + len(data))
	binary.BigEndian.PutUint64(v[0:8], seq)
	binary.BigEndian.PutUint32(v[8:12], node)
	copy(v[trackHeader:], data)
	if p != nil {
		*p = v
	} else {
		if id == tx.buf.missID {
			tx.buf.missID = ""
		}
		id = tx.buf.keep(bytesOf(id))
		tx.buf.tracks.add(id, v)
	}
	tx.buf.lastPut = id
	return node, added, true, nil
}

// DeleteTrack removes a track and records a tombstone for the next
// incremental reindex. Its interactions stay (they are history).
func (tx *Tx) DeleteTrack(id string) (bool, error) {
	defer markDamage() // called from an import callback (RunCaller)
	if err := tx.maybeStage(); err != nil {
		return false, err
	}
	p, v := tx.lookupTrack(id)
	if len(v) < trackHeader {
		return false, nil
	}
	node := binary.BigEndian.Uint32(v[8:12])
	tx.buf.lastPut = ""
	seq := tx.counter(cCatalogSeq) + 1
	tx.setCounter(cCatalogSeq, seq)
	if p != nil {
		*p = nil // deleted at flush, in case it is stored
	} else {
		tx.buf.tracks.add(tx.buf.keep(bytesOf(id)), nil)
	}
	tx.buf.tombs = append(tx.buf.tombs, tomb{node, seq})
	tx.addCounter(cNTracks, -1)
	return true, nil
}

// TrackEntry is one stored track as ForEachTrack sees it.
type TrackEntry struct {
	ID   string
	Node uint32
	Seq  uint64 // the catalogue seq of its last change
	Data []byte // valid only during the callback's transaction
}

// ForEachTrack calls fn for every track, in id order.
func (tx *Tx) ForEachTrack(fn func(e TrackEntry) error) error {
	return tx.scanTracks(func(k, v []byte) error {
		return fn(TrackEntry{
			ID:   string(k),
			Seq:  binary.BigEndian.Uint64(v[0:8]),
			Node: binary.BigEndian.Uint32(v[8:12]),
			Data: v[trackHeader:],
		})
	})
}

// ForEachTrackID calls fn with the id of every track, in id order:
// ForEachTrack for a caller that needs only the ids, which reads the
// tracks bucket's keys and no record beyond its header.
func (tx *Tx) ForEachTrackID(fn func(id string) error) error {
	return tx.scanTracks(func(k, _ []byte) error { return fn(string(k)) })
}

// scanTracks calls fn with the key and value of every track, in id
// order, once the buffered writes are out; a value shorter than its
// header is damage.
func (tx *Tx) scanTracks(fn func(k, v []byte) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	tx.scanning++
	defer func() { tx.scanning-- }()
	tx.setReading("reading the tracks bucket")
	return tx.bucket(bucketTracks).ForEach(func(k, v []byte) error {
		if len(v) < trackHeader {
			return corruptf("track %q: a record of %d bytes, shorter than its header", k, len(v))
		}
		return fn(k, v)
	})
}

// ForEachDeleted calls fn for every track node deleted at a seq after since.
func (tx *Tx) ForEachDeleted(since uint64, fn func(node uint32) error) error {
	if !tx.stage.staged() && len(tx.buf.tombs) > 0 {
		if err := tx.flush(); err != nil {
			return err
		}
	}
	tx.scanning++
	defer func() { tx.scanning-- }()
	tx.setReading("reading the deleted bucket")
	err := tx.tx.Bucket(bucketDeleted).ForEach(func(k, v []byte) error {
		if len(k) == 4 && len(v) == 8 && binary.BigEndian.Uint64(v) > since {
			return fn(binary.BigEndian.Uint32(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range tx.buf.tombs { // a staging import's, written at its end
		if t.seq > since {
			if err := fn(t.node); err != nil {
				return err
			}
		}
	}
	return nil
}
