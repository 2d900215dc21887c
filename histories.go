package soundalike

import (
	"cmp"
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
// collector to mark.
type histories struct {
	users wordList // the user ids, sorted
	// first[u]..first[u+1] are user u's interactions, newest first,
	// unknown times last (newerFirst); equal times in the file's key
	// order: by track id, a shorter id first (a key holds each id's
	// length before its bytes), then by action likewise.
	first  []uint32
	track  []uint32 // by interaction: the track id, an index into names
	action []uint32 // the action, an index into names
	time   []int64  // Unix nanoseconds; 0: unknown
	names  wordList // the distinct track ids and actions, in first-seen order
	// nUsers and nInteractions are the file's counters the histories were
	// read at. Interactions are only ever added, each adding to the
	// counter, so a later snapshot whose counters are the same reuses
	// these histories instead of reading them again.
	nUsers, nInteractions int
	// read holds the users as read, in the file's order, until order
	// sorts them (and sets first): that happens after the file is
	// released.
	read []userSpan
}

// userSpan is one user's interactions while readHistories collects them.
type userSpan struct {
	id     string
	lo, hi int // in the columns as read
}

// readHistories copies every interaction of tx into histories, to be
// sorted by order once the file is released; or returns keep, which
// holds the same ones. It allocates per user and per distinct track or
// action, not per interaction (BenchmarkReadHistories).
func readHistories(tx *storage.Tx, keep *histories) (*histories, error) {
	c := tx.Counts()
	if keep != nil && keep.nUsers == c.Users && keep.nInteractions == c.Interactions {
		return keep, nil
	}
	h := &histories{names: wordList{off: []uint32{0}}, nUsers: c.Users, nInteractions: c.Interactions}
	names := make(map[string]uint32)
	intern := func(b []byte) uint32 {
		if i, ok := names[string(b)]; ok {
			return i
		}
		i := uint32(len(names))
		names[string(b)] = i
		h.names.text = append(h.names.text, b...)
		h.names.off = append(h.names.off, uint32(len(h.names.text)))
		return i
	}
	// The counter counts repeats too: an upper bound, clamped against a
	// damaged one (past MaxInt64 it is negative as an int), and capped
	// so that a damaged positive one costs little. The counters only
	// size the arrays.
	n := min(max(c.Interactions, 0), 1<<22)
	h.track, h.action, h.time = make([]uint32, 0, n), make([]uint32, 0, n), make([]int64, 0, n)
	spans := make([]userSpan, 0, min(max(c.Users, 0), 1<<20))
	err := tx.ForEachInteractionBytes(func(user, track, action []byte, ts int64) error {
		if n := len(spans); n == 0 || spans[n-1].id != string(user) {
			spans = append(spans, userSpan{id: string(user), lo: len(h.time)})
		}
		h.track = append(h.track, intern(track))
		h.action = append(h.action, intern(action))
		h.time = append(h.time, ts)
		spans[len(spans)-1].hi = len(h.time)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(h.names.text) > math.MaxUint32 || len(h.time) > math.MaxUint32 {
		return nil, fmt.Errorf("interactions: %d of them, %d bytes of distinct tracks and actions: more than a snapshot holds (2³² each)",
			len(h.time), len(h.names.text))
	}
	h.read = spans
	return h, nil
}

// order sorts the users as read by id and each user's interactions
// newest first, rewriting the columns in that order. Histories reused
// from an earlier snapshot are sorted already.
func (h *histories) order() error {
	if h.first != nil {
		return nil
	}
	spans := h.read
	h.read = nil
	slices.SortFunc(spans, func(a, b userSpan) int { return cmp.Compare(a.id, b.id) })
	n := len(h.time)
	track, action, time := make([]uint32, 0, n), make([]uint32, 0, n), make([]int64, 0, n)
	h.first = make([]uint32, 0, len(spans)+1)
	h.users.off = make([]uint32, 0, len(spans)+1)
	h.users.off = append(h.users.off, 0)
	var idx []int
	for _, sp := range spans {
		if len(h.users.text)+len(sp.id) > math.MaxUint32 {
			return fmt.Errorf("interactions: more than 4 GiB of user ids: more than a snapshot holds")
		}
		h.users.text = append(h.users.text, sp.id...)
		h.users.off = append(h.users.off, uint32(len(h.users.text)))
		h.first = append(h.first, uint32(len(time)))
		idx = idx[:0]
		for i := sp.lo; i < sp.hi; i++ {
			idx = append(idx, i)
		}
		slices.SortStableFunc(idx, func(a, b int) int { return newerFirst(h.time[a], h.time[b]) })
		for _, i := range idx {
			track, action, time = append(track, h.track[i]), append(action, h.action[i]), append(time, h.time[i])
		}
	}
	h.first = append(h.first, uint32(len(time)))
	h.track, h.action, h.time = track, action, time
	return nil
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
