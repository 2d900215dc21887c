package trainer

import (
	"math/rand/v2"

	"github.com/audotics/soundalike/embedder"
)

// unknownRows is which rows of one table training trains, and the hashed
// bucket each row's token falls back to.
//
// A table's vocabulary is the whole catalogue's, and its hashed buckets
// serve tokens the catalogue lacks; but only the rows of the training
// users' tracks get a gradient. Every other vocabulary row (the artists
// and albums only held-out users have) would keep its small starting
// weights, and with direct output columns the tracks that read them
// would cluster together: a validation figure that rewards recognising
// held-out tracks. So each such row is read as its token's bucket, the
// row the token would have had outside the vocabulary (in training, and
// in every model by a copy of the bucket's weights), and token dropout
// trains the buckets on training tracks: an unknown artist then looks
// like one of the few training artists that share its bucket, not like
// every other unknown artist, and a token the catalogue lacks reads a
// trained bucket as well.
type unknownRows struct {
	bucket  []int  // per row: its token's bucket (a bucket row: itself)
	trained []bool // per vocabulary row: a training track reads it
}

// findUnknownRows returns table t's unknownRows, given every track's
// token rows (slots each, −1 for an absent slot) and the training users'
// tracks.
func findUnknownRows(t *embedder.Table, slots int, rows []int, train [][]uint32) unknownRows {
	u := unknownRows{bucket: make([]int, t.Rows()), trained: make([]bool, len(t.Vocab))}
	hashed := embedder.Table{Buckets: t.Buckets, Seed: t.Seed} // no vocabulary: Row is the bucket
	for row := range u.bucket {
		u.bucket[row] = row
		if row < len(t.Vocab) {
			u.bucket[row] = len(t.Vocab) + hashed.Row(t.Vocab[row])
		}
	}
	for _, ts := range train {
		for _, tr := range ts {
			for _, row := range rows[int(tr)*slots : int(tr+1)*slots] {
				if row >= 0 && row < len(t.Vocab) {
					u.trained[row] = true
				}
			}
		}
	}
	return u
}

// remap replaces every untrained vocabulary row in rows with its bucket.
func (u *unknownRows) remap(rows []int) {
	for i, row := range rows {
		if row >= 0 && row < len(u.trained) && !u.trained[row] {
			rows[i] = u.bucket[row]
		}
	}
}

// fill copies its bucket's weights into every untrained vocabulary row of
// t (t.W is changed in place), so that a model reads the row's token, at
// inference as in training, as its bucket.
func (u *unknownRows) fill(t *embedder.Table) {
	d := t.RowWidth()
	for row, ok := range u.trained {
		if !ok {
			b := u.bucket[row]
			copy(t.W[row*d:(row+1)*d], t.W[b*d:(b+1)*d])
		}
	}
}

// mapUnknown finds each table's unknown rows and reads every untrained
// row of the tracks' token rows as its bucket, when Config.TokenDropout
// trains the buckets; without it, it leaves the rows as they are (and
// r.unknown nil): an untrained bucket would be no better a row.
func (r *run) mapUnknown() {
	if r.cfg.TokenDropout == 0 {
		return
	}
	r.unknown = make([]unknownRows, len(r.fs.tables))
	for ti, t := range r.fs.tables {
		r.unknown[ti] = findUnknownRows(&t.Table, t.Slots, r.rows[ti], r.train)
		r.unknown[ti].remap(r.rows[ti])
	}
}

// fillUnknown copies each table's buckets into its untrained rows. The
// tables' W must be the caller's own.
func (r *run) fillUnknown(tables []embedder.Table) {
	for ti := range r.unknown {
		r.unknown[ti].fill(&tables[ti])
	}
}

// dropTokens reads each present token slot of the batch as its token's
// bucket with probability p: the token as if the catalogue lacked it.
func dropTokens(nt *net, unknown []unknownRows, p float64, rng *rand.Rand) {
	if p == 0 {
		return
	}
	for ti, lk := range nt.tables {
		for k, wt := range lk.wt {
			if wt != 0 && rng.Float64() < p {
				lk.idx[k] = unknown[ti].bucket[lk.idx[k]]
			}
		}
	}
}
