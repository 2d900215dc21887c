package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
)

// TestTrackFlagsTakeStoredIDs: --track, --exclude, --positive and
// --negative find tracks whose stored ids ParseTrackRef refuses (a link to
// another site, an album URI): the command passes references on as the
// server does, and the engine finds a stored id first. A reference of such
// a form that names no track (a deleted track's id) is ignored in
// --exclude and is a track not found, saying what a Spotify reference must
// be, as --track, --positive or --negative. Only a reference no stored id
// could be (over 1024 bytes) is a usage error naming its flag, from the
// engine's refusal.
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
	if err != nil || !strings.Contains(out, "Recommended like 1 track and unlike 1") {
		t.Errorf("recommend --positive %s --negative %s = %.300s, %v; want recommendations", odd[0], odd[1], out, err)
	}

	// A deleted track's id, or an album URI stored nowhere, names no track.
	for _, none := range []string{"https://example.com/t/gone", "spotify:album:y"} {
		out, _, err := runCmd(t.Context(), "similar", "--db", db, "--track", odd[0], "-k", "51", "--exclude", odd[1]+","+none, "--json")
		if err != nil || strings.Contains(out, `"`+odd[1]+`"`) || !strings.Contains(out, `"t0001"`) {
			t.Errorf("similar --track %s --exclude %s,%s = %.300s, %v; want %s's answer without %s", odd[0], odd[1], none, out, err, odd[0], odd[1])
		}
		for _, args := range [][]string{
			{"similar", "--track", none},
			{"recommend", "--positive", odd[0] + "," + none},
			{"recommend", "--positive", odd[0], "--negative", none},
		} {
			_, _, err := runCmd(t.Context(), append(args, "--db", db)...)
			if !errors.Is(err, soundalike.ErrNotFound) || !strings.Contains(err.Error(), "a Spotify reference must be spotify:track:ID or https://open.spotify.com/track/ID") {
				t.Errorf("%v = %v, want a track not found saying what a Spotify reference must be", args, err)
			}
			if exitCode(err, io.Discard) != 1 {
				t.Errorf("%v: exit code %d, want 1", args, exitCode(err, io.Discard))
			}
		}
	}

	long := strings.Repeat("x", soundalike.MaxKeyLen+1)
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"similar", "--track", long}, "--track: "},
		{[]string{"similar", "--track", odd[0], "--exclude", odd[1] + "," + long}, "--exclude: "},
		{[]string{"recommend", "--positive", odd[0] + "," + long}, "--positive: "},
		{[]string{"recommend", "--positive", odd[0], "--negative", long}, "--negative: "},
		{[]string{"recommend", "--positive", odd[0], "--exclude", long}, "--exclude: "},
	} {
		args := append(tc.args, "--db", db)
		_, _, err := runCmd(t.Context(), args...)
		if err == nil || !strings.Contains(err.Error(), tc.flag+"track reference of 1025 bytes: ids are at most 1024") {
			t.Errorf("%v = %v, want an error naming %s and the longest id", tc.args, err, tc.flag)
		}
		if exitCode(err, io.Discard) != 2 {
			t.Errorf("%v: exit code %d, want 2 (usage)", tc.args, exitCode(err, io.Discard))
		}
	}
}

// Given --exclude more than once, each comma-separated, as the API repeats
// exclude=, when similar and recommend run, expect every entry left out:
// the same answer as one --exclude listing them all. The limit and the
// empty-entry check count the entries of every --exclude together.
func TestExcludeRepeated(t *testing.T) {
	db := testDB(t, 50)
	for _, cmd := range [][]string{
		{"similar", "--db", db, "--track", "t0001", "-k", "49", "--json"},
		{"recommend", "--db", db, "--positive", "t0001", "-k", "48", "--json"},
	} {
		once, _, err := runCmd(t.Context(), append(cmd, "--exclude", "t0002,t0003,t0004")...)
		if err != nil {
			t.Fatalf("%s --exclude t0002,t0003,t0004: %v", cmd[0], err)
		}
		repeated, _, err := runCmd(t.Context(), append(cmd, "--exclude", "t0002,t0003", "--exclude=t0004")...)
		if err != nil {
			t.Fatalf("%s --exclude t0002,t0003 --exclude=t0004: %v", cmd[0], err)
		}
		if resultIDs(once) == "[]" {
			t.Fatalf("%s --exclude answered no results: %.300s", cmd[0], once)
		}
		if resultIDs(repeated) != resultIDs(once) {
			t.Errorf("%s: --exclude repeated answered\n%.400s\nwant what one --exclude listing them all answers\n%.400s", cmd[0], repeated, once)
		}
		for _, id := range []string{"t0002", "t0003", "t0004"} {
			if strings.Contains(repeated, `"`+id+`"`) {
				t.Errorf("%s --exclude repeated: %s in the answer, want it left out", cmd[0], id)
			}
		}
	}
	entries := strings.Split(refs(server.MaxExclude+1), ",")
	half := len(entries) / 2
	_, _, err := runCmd(t.Context(), "similar", "--db", db, "--track", "t0001", "--exclude", strings.Join(entries[:half], ","), "--exclude", strings.Join(entries[half:], ","))
	if want := fmt.Sprintf("--exclude: %d tracks: at most %d in one query", server.MaxExclude+1, server.MaxExclude); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("similar with %d entries over two --exclude = %v, want %q", server.MaxExclude+1, err, want)
	}
	_, _, err = runCmd(t.Context(), "similar", "--db", db, "--track", "t0001", "--exclude", "t0002", "--exclude", "")
	if want := "--exclude: entry 2 of 2 is empty"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("similar --exclude t0002 --exclude '' = %v, want %q", err, want)
	}
}

// resultIDs is the track ids of the results in out, the --json answer of
// similar or recommend, in order (what else it says, such as timings, may
// differ from one run to the next).
func resultIDs(out string) string {
	_, results, _ := strings.Cut(out, `"results"`)
	return fmt.Sprint(regexp.MustCompile(`"track_id":"([^"]*)"`).FindAllStringSubmatch(results, -1))
}

// Given a track id the catalogue does not hold (never imported, or
// deleted since), when similar --track or recommend --positive names it,
// expect import's words for it: the track quoted, not in the catalogue,
// never imported or deleted since; still the library's ErrNotFound, exit 1.
func TestMissingTrackWording(t *testing.T) {
	db := testDB(t, 20)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"similar", "--track", "gone"}, `similar --track gone: track "gone" is not in the catalogue (never imported, or deleted since)`},
		{[]string{"recommend", "--positive", "t0001,gone"}, `recommend --positive gone: track "gone" is not in the catalogue (never imported, or deleted since)`},
	} {
		_, _, err := runCmd(t.Context(), append(tc.args, "--db", db)...)
		if err == nil || err.Error() != tc.want || !errors.Is(err, soundalike.ErrNotFound) || exitCode(err, io.Discard) != 1 {
			t.Errorf("%v = %v, want %q (ErrNotFound, exit 1)", tc.args, err, tc.want)
		}
	}
}

// Given a catalogue that takes far longer to load than to search, when
// similar --json, expect took_us to be the search's time, as the server's
// answer's is ("from the start of the search"), not the load's as well.
func TestSimilarTookUSIsTheSearch(t *testing.T) {
	db := testDB(t, 300)
	for range 3 {
		start := time.Now()
		out, stderr, err := runCmd(t.Context(), "similar", "--db", db, "--track", "t0001", "-k", "5", "--json")
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("similar --json: %v\n%s", err, stderr)
		}
		var resp struct {
			TookUS int64 `json:"took_us"`
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatal(err)
		}
		if took := time.Duration(resp.TookUS) * time.Microsecond; took < elapsed/4 {
			return
		}
		t.Logf("took_us %d of %v in all", resp.TookUS, elapsed)
	}
	t.Errorf("similar --json: took_us counts the load of the catalogue, not the search alone")
}
