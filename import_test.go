package soundalike_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/storage"
)

// TestImportTxRefusesWhatCheckRefuses: ImportTx refuses what CheckTrack and
// CheckInteraction refuse, with an error naming the field, and writes
// nothing for it; a key of exactly MaxKeyLen bytes is stored.
func TestImportTxRefusesWhatCheckRefuses(t *testing.T) {
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "c.db"), &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	long, longest := strings.Repeat("x", soundalike.MaxKeyLen+1), strings.Repeat("x", soundalike.MaxKeyLen)
	badFeature := track("bad", 0.5)
	badFeature.Features.Danceability = 2
	tracks := []struct {
		t    *soundalike.Track
		want string
	}{
		{track(long, 0.5), "track id is 1025 bytes long; at most 1024"},
		{track("a\x00b", 0.5), "contains a NUL byte"},
		{badFeature, "danceability: 2 is outside [0, 1]"},
		{track("", 0.5), "missing track id"},
	}
	interactions := []struct {
		in   soundalike.Interaction
		want string
	}{
		{soundalike.Interaction{User: long, Track: "ok"}, "interaction: user is 1025 bytes long"},
		{soundalike.Interaction{User: "u", Track: "ok", Action: long}, "interaction: action is 1025 bytes long"},
		{soundalike.Interaction{Track: "ok"}, "interaction: missing user"},
		{soundalike.Interaction{User: "u"}, "interaction: missing track id"},
	}
	err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for _, tt := range tracks {
			if soundalike.CheckTrack(tt.t) == nil {
				t.Errorf("CheckTrack(%.20q) = nil, want an error", tt.t.ID)
			}
			if _, _, err := tx.PutTrack(tt.t); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PutTrack(%.20q) = %v, want an error containing %q", tt.t.ID, err, tt.want)
			}
		}
		for _, id := range []string{"ok", longest} {
			if _, _, err := tx.PutTrack(track(id, 0.5)); err != nil {
				return err
			}
		}
		for _, tt := range interactions {
			if soundalike.CheckInteraction(&tt.in) == nil {
				t.Errorf("CheckInteraction(%+.20v) = nil, want an error", tt.in)
			}
			if _, err := tx.PutInteraction(&tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PutInteraction(%.20q, %.20q) = %v, want an error containing %q", tt.in.User, tt.in.Action, err, tt.want)
			}
		}
		if _, err := tx.PutInteraction(&soundalike.Interaction{User: "u", Track: "nope"}); !errors.Is(err, soundalike.ErrNotFound) || !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("PutInteraction(unknown track) = %v, want ErrNotFound (storage's too)", err)
		}
		_, err := tx.PutInteraction(&soundalike.Interaction{User: longest, Track: soundalike.TrackID(longest), Action: longest})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := eng.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracks != 2 || c.Interactions != 1 {
		t.Errorf("Counts() = %+v, want the 2 valid tracks and 1 valid interaction", c)
	}
}

// TestReadsInsideAnImport: an Import callback may read the catalogue
// through the engine (as a sync job reads the track it updates): the
// engine's own write holds the file, and the read goes through it rather
// than waiting for that write's lock.
func TestReadsInsideAnImport(t *testing.T) {
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "c.db"), &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	put := func(tx *soundalike.ImportTx) error { _, _, err := tx.PutTrack(track("a", 0.5)); return err }
	if err := eng.Import(t.Context(), put); err != nil {
		t.Fatal(err)
	}
	err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		tr, err := eng.Track(t.Context(), "a")
		if err != nil {
			return err
		}
		if _, err := eng.Counts(); err != nil {
			return err
		}
		tr.Name = "renamed"
		_, _, err = tx.PutTrack(tr)
		return err
	})
	if err != nil {
		t.Fatalf("reading the catalogue inside an Import: %v", err)
	}
	if tr, err := eng.Track(t.Context(), "a"); err != nil || tr.Name != "renamed" {
		t.Fatalf("after the import: %+v, %v; want the renamed track", tr, err)
	}
}

// TestImportCommittingNothingLeavesNoNewFile: an import into a path that
// held nothing, which commits nothing (it fails, is cancelled, rolls
// back, or changes nothing: every row rejected), leaves no file there: a mistyped path still holds no database
// (ErrNoDatabase). A file that was there, or that an import committed
// to, stays.
func TestImportCommittingNothingLeavesNoNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	errRefused := errors.New("refused")
	put := func(tx *soundalike.ImportTx) error { _, _, err := tx.PutTrack(track("a", 0.5)); return err }
	exists := func() bool { _, err := os.Stat(path); return err == nil }
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		fn   func(tx *soundalike.ImportTx) error
		want error
	}{
		{"failed", t.Context(), func(tx *soundalike.ImportTx) error { put(tx); return errRefused }, errRefused},
		{"rolled back", t.Context(), func(tx *soundalike.ImportTx) error { put(tx); return soundalike.ErrRollback }, nil},
		{"cancelled", cancelled, put, context.Canceled},
		{"changing nothing", t.Context(), func(tx *soundalike.ImportTx) error {
			bad := track("bad", 0.5)
			bad.Features.Tempo = -1
			if _, _, err := tx.PutTrack(bad); err == nil { // refused, as a rejected row is
				t.Error("PutTrack of a track with a negative tempo succeeded")
			}
			return nil
		}, nil},
	} {
		if err := eng.Import(tc.ctx, tc.fn); !errors.Is(err, tc.want) {
			t.Errorf("%s import = %v, want %v", tc.name, err, tc.want)
		}
		if exists() {
			t.Errorf("after a %s import into a new path, the file is there; want none", tc.name)
		}
	}
	if _, err := eng.Counts(); !errors.Is(err, storage.ErrNoDatabase) {
		t.Errorf("Counts() = %v, want ErrNoDatabase: there is still no database", err)
	}
	if err := eng.Import(t.Context(), put); err != nil {
		t.Fatal(err)
	}
	if err := eng.Import(t.Context(), func(*soundalike.ImportTx) error { return errRefused }); !errors.Is(err, errRefused) {
		t.Fatalf("import = %v, want %v", err, errRefused)
	}
	if c, err := eng.Counts(); err != nil || c.Tracks != 1 {
		t.Errorf("after a failed import into a database: Counts() = %+v, %v; want the 1 track committed before", c, err)
	}
}

// TestImportChangingNothingCommitsNothing: an import that stores only
// what is stored already leaves the database's generation as it was, so
// that a serving engine does not reload for it; one that changes a track
// moves it on.
func TestImportChangingNothingCommitsNothing(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	put := func(dance float64) func(tx *soundalike.ImportTx) error {
		return func(tx *soundalike.ImportTx) error {
			if _, _, err := tx.PutTrack(track("a", dance)); err != nil {
				return err
			}
			_, err := tx.PutInteraction(&soundalike.Interaction{User: "u", Track: "a", Action: "play"})
			return err
		}
	}
	generation := func() uint64 {
		t.Helper()
		db, err := storage.Open(eng.Path(), &storage.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		g, err := db.Generation()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if err := eng.Import(ctx, put(0.5)); err != nil {
		t.Fatal(err)
	}
	first := generation()
	if err := eng.Import(ctx, put(0.5)); err != nil {
		t.Fatal(err)
	}
	if g := generation(); g != first {
		t.Errorf("generation after an import that changed nothing = %d, want %d", g, first)
	}
	// Each kind of change commits: a track changed, an interaction
	// added alone, a track deleted alone.
	for _, c := range []struct {
		name string
		fn   func(tx *soundalike.ImportTx) error
	}{
		{"changed a track", put(0.6)},
		{"added an interaction", func(tx *soundalike.ImportTx) error {
			_, err := tx.PutInteraction(&soundalike.Interaction{User: "v", Track: "a", Action: "like"})
			return err
		}},
		{"deleted a track", func(tx *soundalike.ImportTx) error { _, err := tx.DeleteTrack("a"); return err }},
	} {
		before := generation()
		if err := eng.Import(ctx, c.fn); err != nil {
			t.Fatal(err)
		}
		if g := generation(); g == before {
			t.Errorf("generation after an import that %s = %d, want it moved on from %d", c.name, g, before)
		}
	}
}

// TestOpenWhileANewFileComesAndGoes: Open at a path where another
// process's import creates a file and removes it again (it committed
// nothing) succeeds: a file gone by the time Open checks it is no
// database yet, as a missing one is, not ErrNoDatabase, which would fail
// an import racing with that one. The race is microseconds wide, so the
// test runs it for half a second (from the command line, one import in
// three racing with two failing ones into a new path failed).
func TestOpenWhileANewFileComesAndGoes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			db, err := storage.Open(path, &storage.Options{NoSync: true, Timeout: 10 * time.Second})
			if err != nil {
				t.Error(err)
				return
			}
			db.RemoveCreated()
			db.Close()
		}
	})
	opens := 0
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); opens++ {
		eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true, LockTimeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("Open after %d opens: %v, want the engine: the path holds no database yet", opens, err)
		}
		eng.Close()
	}
}

// Given the range InteractionTimes returns, when CheckInteraction checks
// a time at its ends and a nanosecond beyond each, expect the ends
// accepted and the times beyond refused: the range is the check's own.
func TestInteractionTimesAreCheckInteractions(t *testing.T) {
	earliest, latest := soundalike.InteractionTimes()
	for _, tc := range []struct {
		when time.Time
		ok   bool
	}{
		{earliest, true}, {latest, true},
		{earliest.Add(-time.Nanosecond), false}, {latest.Add(time.Nanosecond), false},
	} {
		err := soundalike.CheckInteraction(&soundalike.Interaction{User: "u", Track: "t", Time: tc.when})
		if (err == nil) != tc.ok {
			t.Errorf("CheckInteraction at %s: %v, want accepted %v", tc.when.Format(time.RFC3339Nano), err, tc.ok)
		}
	}
}

// TestImportingInteractionsAgain: given an interaction file imported
// again, alone or twice in one import, expect the summary to count none
// added and the histories unchanged. Given a file that lists one
// interaction twice, expect the summary to count what Counts (info)
// counts, two occurrences of one record (storage.Tx.PutInteraction),
// and the history to list it once.
func TestImportingInteractionsAgain(t *testing.T) {
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "again.db"), 5)
	write := func(name, text string) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte("user_id,track_id,action,timestamp\n"+text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a, b := string(tracks[0].ID), string(tracks[1].ID)
	plays := write("plays.csv", "u,"+a+",play,2024-03-01T12:00:00Z\nu,"+b+",like,2024-03-01T12:05:00Z\n")
	if sum := importFiles(t, eng, plays); sum.InteractionsAdded != 2 || sum.Rejected != 0 {
		t.Fatalf("first import of plays.csv: %+v, want 2 interactions added", sum)
	}
	counts, err := eng.Counts()
	if err != nil {
		t.Fatal(err)
	}
	for _, files := range [][]string{{plays}, {plays, plays}} {
		if sum := importFiles(t, eng, files...); sum.InteractionsAdded != 0 || sum.Rejected != 0 {
			t.Errorf("import of %d× plays.csv again: %+v, want no interaction added", len(files), sum)
		}
	}
	if c, _ := eng.Counts(); c != counts {
		t.Errorf("Counts after importing plays.csv again = %+v, want %+v", c, counts)
	}
	if got := historyTracks(t, eng, "u"); len(got) != 2 {
		t.Errorf("u's history after importing plays.csv again: %v, want its 2 interactions", got)
	}

	twice := write("twice.csv", "v,"+a+",play,\nv,"+a+",play,\n")
	sum := importFiles(t, eng, twice)
	c, err := eng.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if added := c.Interactions - counts.Interactions; sum.InteractionsAdded != added || added != 2 {
		t.Errorf("twice.csv: the summary counts %d interactions added, Counts %d more; want both 2 (one record of count 2)", sum.InteractionsAdded, added)
	}
	if got := historyTracks(t, eng, "v"); !slices.Equal(got, []soundalike.TrackID{tracks[0].ID}) {
		t.Errorf("v's history after twice.csv: %v, want its one interaction once", got)
	}
}
