package main

import (
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
)

// TestTrackFlagsTakeStoredIDs: --track, --exclude, --positive and
// --negative find tracks whose stored ids ParseTrackRef refuses (a link to
// another site, an album URI): the command passes references on as the
// server does, and the engine finds a stored id first. A reference that is
// neither a stored id nor an accepted form is a usage error naming its
// flag, from the engine's refusal.
func TestTrackFlagsTakeStoredIDs(t *testing.T) {
	db := testDB(t, 50)
	odd := []string{"https://example.com/t/1", "spotify:album:x"}
	eng, err := soundalike.Open(db, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for i, id := range odd {
			tr := synth.SmallTrack(rng, 50+i)
			tr.ID = soundalike.TrackID(id)
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		_, err = eng.Reindex(t.Context(), nil)
	}
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}

	for i, id := range odd {
		other := odd[1-i]
		out, _, err := runCmd(t.Context(), "similar", "--db", db, "--track", id, "-k", "51", "--exclude", "t0001,"+other, "--json")
		if err != nil || !strings.Contains(out, `"track_id":"`+id+`"`) || strings.Contains(out, `"t0001"`) || strings.Contains(out, `"`+other+`"`) {
			t.Errorf("similar --track %s --exclude t0001,%s = %.300s, %v; want %s's answer without t0001 or %s", id, other, out, err, id, other)
		}
	}
	out, _, err := runCmd(t.Context(), "recommend", "--db", db, "--positive", odd[0], "--negative", odd[1], "-k", "5")
	if err != nil || !strings.Contains(out, "Recommended like 1 track(s) and unlike 1") {
		t.Errorf("recommend --positive %s --negative %s = %.300s, %v; want recommendations", odd[0], odd[1], out, err)
	}

	bad := "spotify:album:y"
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"similar", "--track", bad}, "--track: "},
		{[]string{"similar", "--track", odd[0], "--exclude", odd[1] + "," + bad}, "--exclude: "},
		{[]string{"recommend", "--positive", odd[0] + "," + bad}, "--positive: "},
		{[]string{"recommend", "--positive", odd[0], "--negative", bad}, "--negative: "},
		{[]string{"recommend", "--positive", odd[0], "--exclude", bad}, "--exclude: "},
	} {
		args := append(tc.args, "--db", db)
		_, _, err := runCmd(t.Context(), args...)
		if err == nil || !strings.Contains(err.Error(), tc.flag+`"`+bad+`"`) || !strings.Contains(err.Error(), "spotify:track:ID") {
			t.Errorf("%v = %v, want an error naming %s%q and the accepted forms", tc.args, err, tc.flag, bad)
		}
		if exitCode(err, io.Discard) != 2 {
			t.Errorf("%v: exit code %d, want 2 (usage)", tc.args, exitCode(err, io.Discard))
		}
	}
}
