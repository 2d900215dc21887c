package soundalike

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// How RecommendUser reads a user's history.
const (
	// UserHistoryCap is how many of a user's interactions, newest first,
	// RecommendUser turns into examples. Everything the user has
	// interacted with is excluded from the results all the same.
	UserHistoryCap = 200
	// UserHalfLife is the recency decay of RecommendUser: an interaction
	// this much older than the user's newest weighs half as much.
	// Interactions of unknown time (the dev file's) weigh as the newest.
	UserHalfLife = 30 * 24 * time.Hour
)

// actionWeight is how much one interaction of each action counts in
// RecommendUser, before the recency decay: likes and playlist adds say
// more than a play. Skips count against the track. Other actions count
// for nothing (the track is still excluded).
func actionWeight(action string) float64 {
	switch action {
	case ActionLike, ActionAddToPlaylist:
		return 2
	case ActionPlay:
		return 1
	case ActionSkip:
		return -1
	}
	return 0
}

// UserHistory returns every stored interaction of user, newest first,
// those of unknown time last (equal times by track id, a shorter id
// first, then by action), as of the served snapshot, like every
// query: it reads memory, not the file, so it answers while another
// process writes the database. It is not capped: UserHistoryCap caps
// only RecommendUser's examples. An interaction that a source listed
// twice (same track, action and time) is one record of count 2
// (ImportTx.PutInteraction): Counts and an import's count of added
// interactions count it twice, the history lists it once. A user with
// no interaction gets an error wrapping ErrNotFound that names them.
func (e *Engine) UserHistory(ctx context.Context, user string) ([]Interaction, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, fmt.Errorf("user history: %w", err)
	}
	s, err := e.currentContext(ctx)
	if err != nil {
		return nil, err
	}
	return s.userHistory(user)
}

// userHistory is UserHistory of the snapshot s.
func (s *snapshot) userHistory(user string) ([]Interaction, error) {
	out := s.histories.of(user)
	if len(out) == 0 {
		return nil, unknownUserError{user, "has no interactions: check the id, or import the user's interactions"}
	}
	return out, nil
}

// RecommendUser recommends k tracks for user from their history: likes,
// playlist adds and plays are positive examples, skips negative ones,
// each weighted by its action (a like or a playlist add 2, a play 1, a
// skip −1; other actions 0) and its age (UserHalfLife),
// summed per track (a track with more skips than weight for it becomes a
// negative). Only the newest UserHistoryCap interactions are read as
// examples; every track the user has interacted with is excluded from the
// results. It answers with StrategyAverage, one index search; Recommend
// with RecommendQuery.User can ask for StrategyBestScore, which finds
// more of a user's tracks for several searches (docs/quality.md). A user
// with no history, or with no positive interaction with a catalogue
// track, gets an error wrapping ErrNotFound that names them. A malformed
// query (an empty user, a bad k or opts) is refused before
// RecommendUser waits for the snapshot.
func (e *Engine) RecommendUser(ctx context.Context, user string, k int, opts *SearchOptions) (Results, error) {
	if err := checkCtx(ctx); err != nil {
		return Results{}, fmt.Errorf("recommend user: %w", err)
	}
	if user == "" {
		// Recommend would read it as no user and ask for examples.
		return Results{}, fmt.Errorf("recommend user: %w: the user id is empty", ErrInvalidQuery)
	}
	q := RecommendQuery{User: user, K: k}
	if opts != nil {
		q.Options = *opts
	}
	return e.Recommend(ctx, q)
}

// takeUserExamples fills the examples of q, which gives none
// (RecommendQuery.check), from q.User's history and excludes the
// history's tracks (see RecommendQuery.User).
func (s *snapshot) takeUserExamples(q *RecommendQuery) error {
	hist, err := s.userHistory(q.User)
	if err != nil {
		return err
	}
	uq, err := s.userQuery(q.User, hist)
	if err != nil {
		return err
	}
	q.Positive, q.Negative = uq.Positive, uq.Negative
	q.Options.Exclude = append(slices.Clone(q.Options.Exclude), historyTracks(hist)...)
	return nil
}

// userQuery turns a history (newest first) into the examples of a
// RecommendQuery. Tracks no longer in the catalogue are left out.
func (s *snapshot) userQuery(user string, hist []Interaction) (RecommendQuery, error) {
	hist = hist[:min(len(hist), UserHistoryCap)]
	newest := hist[0].Time // the history is newest first
	weights := make(map[TrackID]float64)
	var order []TrackID // first (newest) appearance
	for _, in := range hist {
		w := actionWeight(in.Action)
		if !in.Time.IsZero() && !newest.IsZero() {
			w *= math.Exp2(-float64(newest.Sub(in.Time)) / float64(UserHalfLife))
		}
		if _, ok := weights[in.Track]; !ok {
			order = append(order, in.Track)
		}
		weights[in.Track] += w
	}
	var q RecommendQuery
	for _, id := range order {
		if _, ok := s.lookup(id); !ok {
			continue // deleted from the catalogue since
		}
		switch w := weights[id]; {
		case w > 0:
			q.Positive = append(q.Positive, Example{Track: id, Weight: w})
		case w < 0:
			q.Negative = append(q.Negative, Example{Track: id, Weight: -w})
		}
	}
	if len(q.Positive) == 0 {
		return q, unknownUserError{user, fmt.Sprintf("has no %s, %s or %s of a catalogue track (outweighing its skips) %s",
			ActionLike, ActionAddToPlaylist, ActionPlay, amongNewest(len(hist)))}
	}
	return q, nil
}

// amongNewest names the n newest interactions of a history that
// userQuery read: "in their only interaction", "among their newest 5
// interactions".
func amongNewest(n int) string {
	if n == 1 {
		return "in their only interaction"
	}
	return fmt.Sprintf("among their newest %d interactions", n)
}

// historyTracks returns the distinct tracks of a history, in id order.
func historyTracks(hist []Interaction) []TrackID {
	ids := make([]TrackID, len(hist))
	for i := range hist {
		ids[i] = hist[i].Track
	}
	slices.SortFunc(ids, cmp.Compare)
	return slices.Compact(ids)
}
