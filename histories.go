package soundalike

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/audotics/soundalike/storage"
)

// histories holds every user's interactions in the snapshot, so that
// UserHistory and RecommendUser read memory, as the track queries do, and
// keep answering while another process holds the file for a write (an
// import, a reindex: minutes at 1M tracks). Like wordList, it is a few
// flat arrays: no pointer per user or interaction for the garbage
// collector to mark. historiesRead.order makes it.
type histories struct {
	users wordList // the user ids, sorted
	// first[u]..first[u+1] are user u's interactions, newest first,
	// unknown times last (newerFirst); equal times in the file's key
	// order: by track id, a shorter id first (a key holds each id's
	// length before its bytes), then by action likewise.
	first []uint32
	interactionColumns
}

// interactionColumns are interactions by column, and the file's counters
// they were read at.
type interactionColumns struct {
	track  []uint32 // by interaction: the track id, an index into names
	action []uint32 // the action, an index into names
	time   []int64  // Unix nanoseconds; 0: unknown
	names  wordList // the distinct track ids and actions, in first-seen order
	// nUsers and nInteractions are the file's counters the interactions
	// were read at. Within one file, interactions are only ever added,
	// each adding to the counter, so a later snapshot that continues the
	// file (snapshot.continues: the same file, a generation no earlier)
	// and finds the same counters reuses these instead of reading them
	// again (histories.holds). Another file's counters, or an earlier
	// generation's, say nothing of its interactions.
	nUsers, nInteractions int
}

// historiesRead are the interactions as readHistories copied them out of
// the file, in the file's order: by user, then track and action. order
// sorts them into histories once the file is released.
type historiesRead struct {
	users []userSpan // in the file's order
	interactionColumns
}

// userSpan is one user's interactions as read.
type userSpan struct {
	id     string
	lo, hi int // in the columns as read
}

// holds reports whether h holds the interactions of a file whose counters
// are c, when that file is the one h was read from, at h's generation or
// a later one (snapshot.continues, which the caller checks); false for
// nil h.
func (h *histories) holds(c storage.Counts) bool {
	return h != nil && h.nUsers == c.Users && h.nInteractions == c.Interactions
}

// readHistories copies every interaction of tx, to be sorted by order
// once the file is released. It allocates per user and per distinct track
// or action, not per interaction (BenchmarkReadHistories). ctx stops it,
// checked every stopEvery interactions.
func readHistories(ctx context.Context, tx *storage.Tx) (*historiesRead, error) {
	c := tx.Counts()
	r := &historiesRead{interactionColumns: interactionColumns{names: wordList{off: []uint32{0}}, nUsers: c.Users, nInteractions: c.Interactions}}
	names := make(map[string]uint32)
	intern := func(b []byte) uint32 {
		if i, ok := names[string(b)]; ok {
			return i
		}
		i := uint32(len(names))
		names[string(b)] = i
		r.names.text = append(r.names.text, b...)
		r.names.off = append(r.names.off, uint32(len(r.names.text)))
		return i
	}
	// The counter counts repeats too: an upper bound, clamped against a
	// damaged one (past MaxInt64 it is negative as an int), and capped
	// so that a damaged positive one costs little. The counters only
	// size the arrays.
	n := min(max(c.Interactions, 0), 1<<22)
	r.track, r.action, r.time = make([]uint32, 0, n), make([]uint32, 0, n), make([]int64, 0, n)
	r.users = make([]userSpan, 0, min(max(c.Users, 0), 1<<20))
	err := tx.ForEachInteractionBytes(func(user, track, action []byte, ts int64) error {
		if len(r.time)%stopEvery == 0 {
			if err := checkStop(ctx, "reading the interactions"); err != nil {
				return err
			}
		}
		if n := len(r.users); n == 0 || r.users[n-1].id != string(user) {
			r.users = append(r.users, userSpan{id: string(user), lo: len(r.time)})
		}
		r.track = append(r.track, intern(track))
		r.action = append(r.action, intern(action))
		r.time = append(r.time, ts)
		r.users[len(r.users)-1].hi = len(r.time)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(r.names.text) > math.MaxUint32 || len(r.time) > math.MaxUint32 {
		return nil, fmt.Errorf("interactions: %d of them, %d bytes of distinct tracks and actions: more than a snapshot holds (2³² each)",
			len(r.time), len(r.names.text))
	}
	return r, nil
}

// order returns the histories of the interactions read: the users sorted
// by id, each user's interactions newest first, the columns rewritten in
// that order. It takes r's names and sorts r's users in place.
func (r *historiesRead) order() (*histories, error) {
	slices.SortFunc(r.users, func(a, b userSpan) int { return cmp.Compare(a.id, b.id) })
	n := len(r.time)
	h := &histories{interactionColumns: interactionColumns{
		track: make([]uint32, 0, n), action: make([]uint32, 0, n), time: make([]int64, 0, n),
		names: r.names, nUsers: r.nUsers, nInteractions: r.nInteractions,
	}}
	h.first = make([]uint32, 0, len(r.users)+1)
	h.users.off = make([]uint32, 0, len(r.users)+1)
	h.users.off = append(h.users.off, 0)
	var idx []int
	for _, sp := range r.users {
		if len(h.users.text)+len(sp.id) > math.MaxUint32 {
			return nil, fmt.Errorf("interactions: more than 4 GiB of user ids: more than a snapshot holds")
		}
		h.users.text = append(h.users.text, sp.id...)
		h.users.off = append(h.users.off, uint32(len(h.users.text)))
		h.first = append(h.first, uint32(len(h.time)))
		idx = idx[:0]
		for i := sp.lo; i < sp.hi; i++ {
			idx = append(idx, i)
		}
		slices.SortStableFunc(idx, func(a, b int) int { return newerFirst(r.time[a], r.time[b]) })
		for _, i := range idx {
			h.track, h.action, h.time = append(h.track, r.track[i]), append(h.action, r.action[i]), append(h.time, r.time[i])
		}
	}
	h.first = append(h.first, uint32(len(h.time)))
	return h, nil
}

// newerFirst orders two interaction times newest first, as Time.Compare
// orders the Interaction.Time they read as: 0, unknown, is the zero time,
// older than any stored time, those before 1970 (negative) too. Stored
// times are of the years 1678 to 2262, so none is math.MinInt64.
func newerFirst(a, b int64) int {
	return cmp.Compare(sortTime(b), sortTime(a))
}

func sortTime(t int64) int64 {
	if t == 0 {
		return math.MinInt64
	}
	return t
}

// of returns user's interactions, newest first; none for an unknown user.
// Their tracks and actions share the snapshot's memory, which is never
// written after the load.
func (h *histories) of(user string) []Interaction {
	u, ok := h.users.find(user)
	if !ok {
		return nil
	}
	lo, hi := h.first[u], h.first[u+1]
	out := make([]Interaction, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, Interaction{User: user, Track: TrackID(h.names.at(int(h.track[i]))),
			Action: h.names.at(int(h.action[i])), Time: unixNanoTime(h.time[i])})
	}
	return out
}

// bytes counts the arrays.
func (h *histories) bytes() int64 {
	return int64(cap(h.users.text)+cap(h.names.text)) +
		4*int64(cap(h.users.off)+cap(h.names.off)+cap(h.first)+cap(h.track)+cap(h.action)) + 8*int64(cap(h.time))
}
