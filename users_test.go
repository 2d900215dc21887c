package soundalike_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
)

// importInteractions stores ins in one import.
func importInteractions(t *testing.T, eng *soundalike.Engine, ins []soundalike.Interaction) {
	t.Helper()
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for i := range ins {
			if _, err := tx.PutInteraction(&ins[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUserHistory(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "h.db"), 50)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ins []soundalike.Interaction
	for i, u := range []string{"u", "uu", "u2", "v"} {
		for j := range 5 {
			ins = append(ins, soundalike.Interaction{User: u, Track: tracks[(7*i+3*j)%50].ID, Action: soundalike.ActionPlay, Time: t0.Add(time.Duration((j*3)%5) * time.Hour)})
		}
	}
	ins = append(ins, soundalike.Interaction{User: "u", Track: tracks[1].ID, Action: soundalike.ActionSkip}) // time unknown
	importInteractions(t, eng, ins)

	got, err := eng.UserHistory(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	all, err := eng.Interactions(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, in := range all {
		if in.User == "u" {
			want = append(want, fmt.Sprint(in))
		}
	}
	var gotS []string
	for i, in := range got {
		gotS = append(gotS, fmt.Sprint(in))
		if i > 0 && got[i-1].Time.Before(in.Time) {
			t.Errorf("history not newest first: %v before %v", got[i-1].Time, in.Time)
		}
	}
	if got[len(got)-1].Track != tracks[1].ID {
		t.Errorf("the interaction of unknown time is not last: %v", got)
	}
	slices.Sort(gotS)
	slices.Sort(want)
	if !slices.Equal(gotS, want) {
		t.Errorf("UserHistory(u) =\n%v\nwant (from the full scan)\n%v", gotS, want)
	}

	_, err = eng.UserHistory(ctx, "nobody")
	if !errors.Is(err, soundalike.ErrNotFound) || !strings.Contains(err.Error(), `"nobody"`) || strings.Contains(err.Error(), "track") {
		t.Errorf("UserHistory(nobody) error = %v, want ErrNotFound naming the user and no track", err)
	}
	_, err = eng.RecommendUser(ctx, "nobody", 10, nil)
	if !errors.Is(err, soundalike.ErrNotFound) || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("RecommendUser(nobody) error = %v, want ErrNotFound naming the user", err)
	}
}

// TestRecommendUserByConstruction: a user's recommendation is the
// Recommend query their history describes, with the weights the
// documented rules give (like/add 2, play 1, skip −1; halved every
// UserHalfLife before the newest interaction; summed per track).
func TestRecommendUserByConstruction(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "u.db"), 600)
	id := func(i int) soundalike.TrackID { return tracks[i].ID }
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	hl := soundalike.UserHalfLife
	ins := []soundalike.Interaction{
		{User: "one", Track: id(20), Action: soundalike.ActionPlay, Time: t0},

		{User: "w", Track: id(30), Action: soundalike.ActionLike, Time: t0},
		{User: "w", Track: id(31), Action: soundalike.ActionPlay, Time: t0.Add(-hl)},
		{User: "w", Track: id(32), Action: soundalike.ActionSkip, Time: t0.Add(-hl / 3)},
		{User: "w", Track: id(33), Action: soundalike.ActionAddToPlaylist, Time: t0.Add(-2 * hl)},
		{User: "w", Track: id(34), Action: soundalike.ActionLike, Time: t0.Add(-time.Minute)},
		{User: "w", Track: id(34), Action: soundalike.ActionSkip, Time: t0.Add(-time.Minute)},
		{User: "w", Track: id(35), Action: "share", Time: t0},

		{User: "skipper", Track: id(40), Action: soundalike.ActionSkip, Time: t0},

		{User: "skips", Track: id(41), Action: soundalike.ActionSkip, Time: t0},
		{User: "skips", Track: id(42), Action: soundalike.ActionLike, Time: t0.Add(-2 * time.Hour)},
		{User: "skips", Track: id(42), Action: soundalike.ActionSkip, Time: t0.Add(-2 * time.Hour)},
		{User: "skips", Track: id(42), Action: soundalike.ActionSkip, Time: t0.Add(-time.Hour)},
	}
	for i := range 250 {
		in := soundalike.Interaction{User: "big", Track: id(100 + i), Action: soundalike.ActionPlay, Time: t0.Add(-time.Duration(i) * time.Hour)}
		ins = append(ins, in)
		if i < soundalike.UserHistoryCap {
			in.User = "newest"
			ins = append(ins, in)
		}
	}
	importInteractions(t, eng, ins)

	// One play: what Similar answers.
	got, err := eng.RecommendUser(ctx, "one", 15, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := eng.Similar(ctx, id(20), 15, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got.Neighbors), ids(want.Neighbors)) || got.Strategy != soundalike.StrategyAverage {
		t.Errorf("one play: %v (%s), want Similar's %v", ids(got.Neighbors), got.Strategy, ids(want.Neighbors))
	}

	// Weighted by action and age, a skip a negative, a like and a skip of
	// one time summed (2 − 1), an unknown action excluded only.
	got, err = eng.RecommendUser(ctx, "w", 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	decay := math.Exp2(-float64(time.Minute) / float64(hl))
	q := soundalike.RecommendQuery{
		Positive: []soundalike.Example{trackEx(id(30), 2), trackEx(id(34), decay), trackEx(id(31), 0.5), trackEx(id(33), 0.5)},
		Negative: []soundalike.Example{trackEx(id(32), math.Exp2(-1.0/3))},
		K:        20,
		Options:  soundalike.SearchOptions{Exclude: []soundalike.TrackID{id(35)}},
	}
	wantR, err := eng.Recommend(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got.Neighbors), ids(wantR.Neighbors)) {
		t.Errorf("user w:\n got %v\nwant %v", ids(got.Neighbors), ids(wantR.Neighbors))
	}
	for i := range got.Neighbors {
		if d := math.Abs(float64(got.Neighbors[i].Score - wantR.Neighbors[i].Score)); d > 1e-5 {
			t.Errorf("user w: result %d score %v, want %v", i, got.Neighbors[i].Score, wantR.Neighbors[i].Score)
		}
	}
	hist := []soundalike.TrackID{id(30), id(31), id(32), id(33), id(34), id(35)}
	for _, n := range got.Neighbors {
		if slices.Contains(hist, n.ID) {
			t.Errorf("user w: %s, from their history, is recommended", n.ID)
		}
	}

	// Recommend by User with best_score answers what best_score answers
	// for the same examples given by hand, the history still excluded.
	q.Strategy = soundalike.StrategyBestScore
	wantB, err := eng.Recommend(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	gotB, err := eng.Recommend(ctx, soundalike.RecommendQuery{User: "w", Strategy: soundalike.StrategyBestScore, K: 20})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(gotB.Neighbors), ids(wantB.Neighbors)) || gotB.Strategy != soundalike.StrategyBestScore {
		t.Errorf("user w, best_score:\n got %v (%s)\nwant %v", ids(gotB.Neighbors), gotB.Strategy, ids(wantB.Neighbors))
	}
	if slices.Equal(ids(gotB.Neighbors), ids(got.Neighbors)) {
		t.Errorf("user w: best_score answered as average did, %v", ids(got.Neighbors))
	}
	_, err = eng.Recommend(ctx, soundalike.RecommendQuery{User: "w", Positive: []soundalike.Example{trackEx(id(30), 1)}, K: 5})
	if !errors.Is(err, soundalike.ErrInvalidQuery) || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("a query by user with examples too: %v, want ErrInvalidQuery naming the user", err)
	}

	// Only the newest UserHistoryCap interactions are examples; the older
	// ones are still excluded.
	var older []soundalike.TrackID
	for i := soundalike.UserHistoryCap; i < 250; i++ {
		older = append(older, id(100+i))
	}
	big, err := eng.RecommendUser(ctx, "big", 30, nil)
	if err != nil {
		t.Fatal(err)
	}
	newest, err := eng.RecommendUser(ctx, "newest", 30, &soundalike.SearchOptions{Exclude: older})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(big.Neighbors), ids(newest.Neighbors)) {
		t.Errorf("250 plays: %v\nwant those of the newest 200: %v", ids(big.Neighbors), ids(newest.Neighbors))
	}

	_, err = eng.RecommendUser(ctx, "skipper", 10, nil)
	if !errors.Is(err, soundalike.ErrNotFound) || !strings.Contains(err.Error(), `"skipper"`) || strings.Contains(err.Error(), "track not found") {
		t.Errorf("a user with only skips: error %v, want ErrNotFound naming them", err)
	}
	// The refusal names the positive actions by their constants, and
	// counts the interactions it read in words that fit their number.
	for user, want := range map[string]string{
		"skipper": `user "skipper" has no like, addToPlaylist or play of a catalogue track (outweighing its skips) in their only interaction`,
		"skips":   `user "skips" has no like, addToPlaylist or play of a catalogue track (outweighing its skips) among their newest 4 interactions`,
	} {
		if _, err := eng.RecommendUser(ctx, user, 10, nil); !errors.Is(err, soundalike.ErrNotFound) || err.Error() != want {
			t.Errorf("RecommendUser(%q) = %v, want ErrNotFound %q", user, err, want)
		}
	}
}

// TestRecommendUserDev: on the dev catalogue (SOUNDALIKE_DEV_DATA), each
// of a sample of playlists (users) gets as its history the rows the full
// scan holds, and recommendations that never offer a track of the
// playlist.
func TestRecommendUserDev(t *testing.T) {
	ctx := t.Context()
	path := devDB(t)
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.SaveModel(ctx, randomModel(t, 16), soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	all, err := eng.Interactions(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byUser := map[string][]string{}
	var users []string
	for _, in := range all {
		if _, ok := byUser[in.User]; !ok {
			users = append(users, in.User)
		}
		byUser[in.User] = append(byUser[in.User], fmt.Sprint(in))
	}
	for i := 0; i < len(users); i += len(users) / 25 {
		u := users[i]
		hist, err := eng.UserHistory(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		tracks := map[soundalike.TrackID]bool{}
		for _, in := range hist {
			got = append(got, fmt.Sprint(in))
			tracks[in.Track] = true
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(byUser[u]))
		if !slices.Equal(got, want) {
			t.Errorf("user %s: history of %d rows, the full scan has %d", u, len(got), len(want))
		}
		res, err := eng.RecommendUser(ctx, u, 20, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Neighbors) != 20 {
			t.Errorf("user %s: %d results, want 20", u, len(res.Neighbors))
		}
		for _, n := range res.Neighbors {
			if tracks[n.ID] {
				t.Errorf("user %s: %s, from their playlist, is recommended", u, n.ID)
			}
		}
	}
}

// TestHistoriesMatchTheFile: the served histories are the file's
// interactions of each user, newest first, equal times in the file's order
// (by track, then action): for users whose ids are prefixes of each other
// or begin with a byte that is a length elsewhere, a track no longer in
// the catalogue, and interactions imported after the snapshot was loaded.
func TestHistoriesMatchTheFile(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "h.db"), 20)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	users := []string{"a", "ab", "abc", "\x02ab", "b", "zz", "é"}
	actions := []string{soundalike.ActionPlay, soundalike.ActionLike, soundalike.ActionSkip, "share"}
	var ins []soundalike.Interaction
	for i, u := range users {
		for j := range 2 + i {
			ins = append(ins, soundalike.Interaction{User: u, Track: tracks[(5*i+j)%len(tracks)].ID,
				Action: actions[(i+j)%len(actions)], Time: t0.Add(time.Duration(j%3) * time.Minute)})
		}
	}
	ins = append(ins, soundalike.Interaction{User: "ab", Track: tracks[19].ID, Action: soundalike.ActionLike, Time: t0},
		soundalike.Interaction{User: "abc", Track: tracks[0].ID, Action: soundalike.ActionPlay}) // time unknown
	importInteractions(t, eng, ins[:len(ins)/2])
	check := func(when string) {
		t.Helper()
		all, err := eng.Interactions(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			var want []soundalike.Interaction
			for _, in := range all {
				if in.User == u {
					want = append(want, in)
				}
			}
			slices.SortStableFunc(want, func(a, b soundalike.Interaction) int { return b.Time.Compare(a.Time) })
			got, err := eng.UserHistory(ctx, u)
			if len(want) == 0 {
				if !errors.Is(err, soundalike.ErrNotFound) {
					t.Errorf("%s: UserHistory(%q) = %v, %v; want ErrNotFound", when, u, got, err)
				}
				continue
			}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s: UserHistory(%q) =\n%v, %v\nwant (the file's, newest first)\n%v", when, u, got, err, want)
			}
		}
		for _, u := range []string{"", "abcd", "\x02a", "nobody"} {
			if got, err := eng.UserHistory(ctx, u); !errors.Is(err, soundalike.ErrNotFound) {
				t.Errorf("%s: UserHistory(%q) = %v, %v; want ErrNotFound", when, u, got, err)
			}
		}
	}
	check("the first load")
	importInteractions(t, eng, ins[len(ins)/2:])
	check("after a second import")
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		_, err := tx.DeleteTrack(tracks[19].ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after a track's deletion") // its interactions stay in the history
	if fp := eng.Footprint(); fp.Histories < 16*int64(len(ins)) {
		t.Errorf("Footprint().Histories = %d, want at least 16 bytes for each of %d interactions", fp.Histories, len(ins))
	}
}
