package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/audotics/soundalike/internal/clip"
)

// BeginSource starts counting interaction occurrences afresh: call it before
// each file (or query) of an import. See PutInteraction.
func (tx *Tx) BeginSource() { tx.scope++ }

// occurrenceScope identifies the current source of the current write
// transaction, uniquely over the database's life: bbolt's transaction id
// (which grows with each committed write; the first one's, when a staging
// import commits several) and the source's number in it.
func (tx *Tx) occurrenceScope() uint64 { return tx.scopeBase<<16 | tx.scope&0xffff }

// PutInteraction stores one occurrence of an interaction. Identical
// interactions (same user, track, action and time) are counted rather than
// merged: the stored count is the most times one source (one file or query
// of an import, see BeginSource) held the interaction. So re-importing a
// file, or giving it twice, adds nothing, while a file that lists the same
// interaction twice (the dev file has playlists listed under two genres,
// without timestamps) stores it twice. added reports whether the count
// grew. user, track and action are non-empty and at most MaxKeyLen bytes
// each. The track must be stored; otherwise the error wraps ErrNotFound.
func (tx *Tx) PutInteraction(user, track, action string, unixNano int64) (added bool, err error) {
	defer markDamage() // called from an import callback (RunCaller)
	if user == "" || track == "" || action == "" {
		return false, errors.New("put interaction: empty user, track or action")
	}
	if n := max(len(user), len(track), len(action)); n > MaxKeyLen {
		return false, fmt.Errorf("put interaction: user, track or action of %d bytes; at most %d", n, MaxKeyLen)
	}
	if err := tx.maybeStage(); err != nil {
		return false, err
	}
	if track != tx.buf.lastPut {
		if _, _, ok := tx.Track(track); !ok {
			return false, fmt.Errorf("%w: %q", ErrNotFound, track)
		}
	}
	tx.buf.keyBuf = appendInteractionKey(tx.buf.keyBuf[:0], user, track, action, unixNano)
	// The key goes into the arena before the lookup, so that a miss (the
	// usual case) is added with the slot the lookup found; a hit gives
	// the bytes back.
	key := tx.buf.keep(tx.buf.keyBuf)
	var v interValue
	p := tx.buf.inter.get(key)
	if p != nil {
		tx.buf.unkeep(key)
		v = *p
	} else {
		tx.setReading("reading the interactions bucket")
		v.count, v.scope, v.seen = decodeInteraction(tx.bucket(bucketInteractions).Get(tx.buf.keyBuf))
	}
	if cur := tx.occurrenceScope(); v.scope != cur {
		v.scope, v.seen = cur, 0
	}
	v.seen++
	added = v.seen > v.count
	if added {
		v.count = v.seen
	}
	if p != nil {
		*p = v
	} else {
		tx.buf.inter.add(key, v)
	}
	if !added {
		return false, nil
	}
	n := tx.buf.users.get(user)
	if n == nil {
		tx.setReading("reading the users bucket")
		stored, _ := binary.Uvarint(tx.bucket(bucketUsers).Get(bytesOf(user)))
		n = tx.buf.users.add(tx.buf.keep(bytesOf(user)), stored)
	}
	if *n == 0 {
		tx.addCounter(cNUsers, 1)
	}
	*n++
	tx.addCounter(cNInteract, 1)
	return true, nil
}

// An interaction's value is uvarints: how many times it is stored, and the
// last source (occurrenceScope) that put it with how many times it did.
// The first format's value, present (a single 1), reads as a count of 1.
func (tx *Tx) encodeInteraction(v interValue) []byte {
	b := tx.buf.alloc(3 * binary.MaxVarintLen64)[:0]
	b = binary.AppendUvarint(b, v.count)
	b = binary.AppendUvarint(b, v.scope)
	return binary.AppendUvarint(b, v.seen)
}

func decodeInteraction(v []byte) (count, txid, seen uint64) {
	count, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, 0, 0
	}
	v = v[n:]
	txid, n = binary.Uvarint(v)
	if n <= 0 {
		return count, 0, 0
	}
	seen, _ = binary.Uvarint(v[n:])
	return count, txid, seen
}

// CheckInteractions reads every interaction record for Check: each key
// must parse (a key that does not is returned as the error that ends the
// scan) and each value hold a count of at least 1. The counts' sum is
// what the meta counter holds (Counts().Interactions: an interaction a
// source lists twice is one record of count 2); a difference is reported.
// each runs after every record; its error ends the scan. The sum is
// returned.
func (tx *Tx) CheckInteractions(report func(error), each func() error) (int, error) {
	sum, records := 0, 0
	err := tx.scanInteractions("checking the interactions bucket", func(u, t, a []byte, _ int64, v []byte) error {
		records++
		count, _, _ := decodeInteraction(v)
		if count == 0 {
			report(corruptf("interaction of user %q, track %q, action %q: no count in its %d-byte value", clip.String(string(u)), clip.String(string(t)), clip.String(string(a)), len(v)))
			count = 1
		}
		sum += int(min(count, 1<<31))
		return each()
	})
	if err != nil {
		return sum, err
	}
	if want := tx.Counts().Interactions; sum != want {
		report(corruptf("interactions bucket holds %d occurrences in %d records, the meta counter says %d", sum, records, want))
	}
	return sum, nil
}

// ForEachInteraction calls fn for every interaction, grouped by user.
func (tx *Tx) ForEachInteraction(fn func(user, track, action string, unixNano int64) error) error {
	return tx.ForEachInteractionBytes(func(user, track, action []byte, unixNano int64) error {
		return fn(string(user), string(track), string(action), unixNano)
	})
}

// ForEachInteractionBytes is ForEachInteraction for a caller that keeps
// few of the strings (a snapshot's histories intern them): user, track
// and action are valid only during the call, and must not be written.
// Each user's interactions are contiguous, in key order (track, action,
// time): a key begins with its user's length, then its bytes.
func (tx *Tx) ForEachInteractionBytes(fn func(user, track, action []byte, unixNano int64) error) error {
	return tx.scanInteractions("reading the interactions bucket", func(u, t, a []byte, ts int64, _ []byte) error {
		return fn(u, t, a, ts)
	})
}

// scanInteractions calls fn with every interaction record's key, parsed,
// and its value, in key order, after the staged writes are flushed; a
// key that does not parse ends the scan with its error. reading names
// the scan in the error of damage met during it (setReading).
func (tx *Tx) scanInteractions(reading string, fn func(user, track, action []byte, unixNano int64, v []byte) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	tx.scanning++
	defer func() { tx.scanning-- }()
	tx.setReading(reading)
	return tx.bucket(bucketInteractions).ForEach(func(k, v []byte) error {
		u, t, a, ts, err := parseInteractionKey(k)
		if err != nil {
			return err
		}
		return fn(u, t, a, ts, v)
	})
}

func appendInteractionKey(k []byte, user, track, action string, ts int64) []byte {
	for _, s := range [...]string{user, track, action} {
		k = binary.AppendUvarint(k, uint64(len(s)))
		k = append(k, s...)
	}
	return binary.BigEndian.AppendUint64(k, uint64(ts))
}

// parseInteractionKey splits k; the parts share k's memory.
func parseInteractionKey(k []byte) (user, track, action []byte, ts int64, err error) {
	var parts [3][]byte
	rest := k
	for i := range parts {
		n, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < n {
			return nil, nil, nil, 0, corruptf("interaction key %x does not decode", k)
		}
		parts[i] = rest[w : w+int(n) : w+int(n)]
		rest = rest[w+int(n):]
	}
	if len(rest) != 8 {
		return nil, nil, nil, 0, corruptf("interaction key %x does not decode", k)
	}
	return parts[0], parts[1], parts[2], int64(binary.BigEndian.Uint64(rest)), nil
}
