package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
)

// similarIDs returns the ids `similar --track id -k k` answers.
func similarIDs(t *testing.T, db, id string, k int) []string {
	t.Helper()
	out, errOut, code := cli(t, "", "similar", "--db", db, "--track", id, "-k", fmt.Sprint(k), "--json")
	if code != 0 {
		t.Fatalf("similar --track %s: exit %d: %s", id, code, errOut)
	}
	var resp server.SimilarResponse
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("similar --json: %v: %s", err, out)
	}
	var ids []string
	for _, r := range resp.Results {
		ids = append(ids, r.TrackID)
	}
	return ids
}

// Given an indexed catalogue, when delete removes a track that similar
// returned, expect similar not to return it before any reindex, the track
// gone from the catalogue and info, its interactions kept, and the next
// reindex to drop it from the index.
func TestDeleteCommand(t *testing.T) {
	db := userDB(t) // 300 tracks, u1's 3 interactions, of t0007, t0010, t0020
	before := similarIDs(t, db, "t0007", 10)
	gone := before[0]
	if gone == "t0010" {
		gone = before[1]
	}

	out, errOut, code := cli(t, "", "delete", "--db", db, gone, "t0010")
	if code != 0 {
		t.Fatalf("delete %s t0010: exit %d: %s", gone, code, errOut)
	}
	if want := "deleted 2 tracks (2 references)\n"; !strings.Contains(out, want) || !strings.Contains(out, "soundalike reindex") || !strings.Contains(out, "next reload") {
		t.Errorf("delete printed %q, want %q and what a running serve and reindex do", out, want)
	}

	after := similarIDs(t, db, "t0007", 10)
	if slices.Contains(after, gone) || slices.Contains(after, "t0010") || len(after) != 10 {
		t.Errorf("similar --track t0007 after deleting %s and t0010 = %v, want 10 results without them", gone, after)
	}
	_, errOut, code = cli(t, "", "similar", "--db", db, "--track", gone)
	if code != 1 || !strings.Contains(errOut, "is not in the catalogue (never imported, or deleted since)") {
		t.Errorf("similar --track %s (deleted) = exit %d, %q; want exit 1, not in the catalogue", gone, code, errOut)
	}
	got := info(t, db)
	if got.Tracks != 298 || got.Interactions != 3 || got.Index == nil || !got.Index.Stale {
		t.Errorf("info after delete = %+v, index %+v; want 298 tracks, the 3 interactions kept, a stale index", got, got.Index)
	}
	if _, _, err := runCmd(t.Context(), "reindex", "--db", db); err != nil {
		t.Fatal(err)
	}
	if ix := indexState(t, db); ix.Tracks != 298 || ix.Stale {
		t.Errorf("index after reindex = %+v, want 298 tracks, up to date", ix)
	}
}

// Given a server's engine that has answered queries, when another process
// deletes a track, expect the engine to stop returning it at its next
// reload (serve's --reload poll, SIGHUP), with no reindex: the usage text
// promises it.
func TestDeleteSeenByServeAtReload(t *testing.T) {
	db := testDB(t, 200)
	eng, err := soundalike.Open(db, nil) // as serve opens it
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	res, err := eng.Similar(t.Context(), "t0007", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	gone := string(res.Neighbors[0].ID)
	if _, errOut, code := cli(t, "", "delete", "--db", db, gone); code != 0 {
		t.Fatalf("delete %s: exit %d: %s", gone, code, errOut)
	}
	if changed, err := eng.Reload(t.Context()); err != nil || !changed {
		t.Fatalf("Reload after delete = %v, %v; want a new snapshot", changed, err)
	}
	res, err = eng.Similar(t.Context(), "t0007", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Neighbors {
		if string(n.ID) == gone {
			t.Errorf("Similar(t0007) after delete and reload = %v, want it without %s", res.Neighbors, gone)
		}
	}
	if len(res.Neighbors) != 10 {
		t.Errorf("Similar(t0007) after delete: %d results, want 10", len(res.Neighbors))
	}
	if _, err := eng.Similar(t.Context(), soundalike.TrackID(gone), 10, nil); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Similar(%s) after delete = %v, want ErrNotFound", gone, err)
	}
}

// Given references of which one names no track, when delete runs without
// --missing-ok, expect an error naming it and nothing deleted; with
// --missing-ok, the others deleted and it counted; and the same list run
// again to succeed, deleting nothing and writing nothing.
func TestDeleteMissing(t *testing.T) {
	db := testDB(t, 50)
	_, errOut, code := cli(t, "", "delete", "--db", db, "t0001", "nope", "t0002")
	if code != 1 || !strings.Contains(errOut, `argument 2: track "nope" is not in the catalogue`) || !strings.Contains(errOut, "nothing was deleted") || !strings.Contains(errOut, "--missing-ok") {
		t.Errorf("delete t0001 nope t0002 = exit %d, %q; want exit 1 naming argument 2 and --missing-ok", code, errOut)
	}
	if got := info(t, db); got.Tracks != 50 || got.Index.Stale {
		t.Errorf("after the refused delete: %d tracks, index stale %v; want 50, unchanged", got.Tracks, got.Index.Stale)
	}

	// Two missing: both listed, the error names the first.
	_, errOut, code = cli(t, "", "delete", "--db", db, "t0001", "nope", "gone")
	if code != 1 || !strings.Contains(errOut, `argument 3: track "gone": not in the catalogue`) || !strings.Contains(errOut, "nor is 1 more reference listed") {
		t.Errorf("delete t0001 nope gone = exit %d, %q; want both listed", code, errOut)
	}

	for run, want := range []deleteJSON{
		{References: 3, Deleted: []string{"t0001", "t0002"}, NotFound: []string{"nope"}},
		{References: 3, Deleted: []string{}, NotFound: []string{"t0001", "nope", "t0002"}},
	} {
		out, errOut, code := cli(t, "", "delete", "--db", db, "--missing-ok", "--json", "t0001", "nope", "t0002")
		if code != 0 {
			t.Fatalf("run %d: delete --missing-ok: exit %d: %s", run+1, code, errOut)
		}
		var got deleteJSON
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("delete --json: %v: %s", err, out)
		}
		if got.References != want.References || got.Repeated != 0 || !slices.Equal(got.Deleted, want.Deleted) || !slices.Equal(got.NotFound, want.NotFound) {
			t.Errorf("run %d: delete --missing-ok = %+v, want %+v", run+1, got, want)
		}
		if got := info(t, db); got.Tracks != 48 || got.Index.Stale != (run == 0) {
			t.Errorf("run %d: after delete --missing-ok: %d tracks, index stale %v; want 48, stale after the first run only", run+1, got.Tracks, got.Index.Stale)
		}
		if run == 0 {
			if _, _, err := runCmd(t.Context(), "reindex", "--db", db); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, _, code := cli(t, "", "delete", "--db", db, "--missing-ok", "t0001")
	if code != 0 || !strings.Contains(out, "deleted 0 tracks (1 reference, 1 not found)\n") || !strings.Contains(out, "nothing was deleted") {
		t.Errorf("delete --missing-ok t0001 again = exit %d, %q; want 0 deleted, nothing deleted", code, out)
	}
}

// Given a track named twice, by the same reference and by its id and its
// URI, expect the summary to count one track deleted of two references,
// one repeated, and --json to count the repeated one.
func TestDeleteSummaryCountsRepeats(t *testing.T) {
	db := testDB(t, 20)
	out, errOut, code := cli(t, "", "delete", "--db", db, "t0003", "t0003")
	if want := "deleted 1 track (2 references, 1 repeated)\n"; code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("delete t0003 t0003 = exit %d, %q; want %q (%s)", code, out, want, errOut)
	}
	out, errOut, code = cli(t, "", "delete", "--db", db, "--missing-ok", "--json", "t0004", "spotify:track:t0004", "t0003")
	var got deleteJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("delete --json: exit %d, %v: %s %s", code, err, out, errOut)
	}
	if got.References != 3 || got.Repeated != 1 || !slices.Equal(got.Deleted, []string{"t0004"}) || !slices.Equal(got.NotFound, []string{"t0003"}) {
		t.Errorf("delete --json t0004, its URI and t0003 deleted = %+v; want 3 references, 1 repeated, t0004 deleted, t0003 not found", got)
	}
	if !strings.Contains(out, `"repeated":1`) {
		t.Errorf("delete --json = %s, want a repeated field", out)
	}
}

// Given a long reference that names no track, expect the error to quote
// it cut as every quoted text is (quoteText): its start, then its length.
func TestDeleteMissingQuotesLongReference(t *testing.T) {
	db := testDB(t, 20)
	long := strings.Repeat("x", 300)
	_, errOut, code := cli(t, "", "delete", "--db", db, long)
	if want := `track "` + long[:maxQuotedText] + `…(300 bytes)" is not in the catalogue`; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("delete of a 300-byte reference = exit %d, %q; want %q", code, errOut, want)
	}
}

// Given --from FILE with comments, blank lines, a byte order mark, CRLF
// line ends and a Spotify URI, expect each reference deleted once; a bad
// line or a missing reference is named by file and line, with nothing
// deleted.
func TestDeleteFrom(t *testing.T) {
	db := testDB(t, 50)
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.txt", "t0001\nt0002\nt00\x0003\n")
	_, errOut, code := cli(t, "", "delete", "--db", db, "--from", bad)
	if code != 2 || !strings.Contains(errOut, bad+":3:") || !strings.Contains(errOut, "NUL") {
		t.Errorf("delete --from with a NUL on line 3 = exit %d, %q; want a usage error naming %s:3", code, errOut, bad)
	}
	long := write("long.txt", "# takedowns\n"+strings.Repeat("x", 1025)+"\n")
	_, errOut, code = cli(t, "", "delete", "--db", db, "--from", long)
	if code != 2 || !strings.Contains(errOut, long+":2:") || !strings.Contains(errOut, "at most 1024; give one reference a line: "+soundalike.TrackRefForms+"\n") {
		t.Errorf("delete --from with a long line 2 = exit %d, %q; want a usage error naming %s:2", code, errOut, long)
	}
	missing := write("missing.txt", "t0001\n\n# gone already\nnope\n")
	_, errOut, code = cli(t, "", "delete", "--db", db, "--from", missing)
	if code != 1 || !strings.Contains(errOut, missing+`:4: track "nope" is not in the catalogue`) {
		t.Errorf("delete --from with nope on line 4 = exit %d, %q; want an error naming %s:4", code, errOut, missing)
	}
	if got := info(t, db); got.Tracks != 50 {
		t.Fatalf("after the refused deletes: %d tracks, want 50", got.Tracks)
	}
	_, errOut, code = cli(t, "", "delete", "--db", db, "--from", filepath.Join(dir, "none.txt"))
	if code != 1 || !strings.Contains(errOut, "none.txt") {
		t.Errorf("delete --from a missing file = exit %d, %q; want an error naming it", code, errOut)
	}
	empty := write("empty.txt", "# nothing today\n\n")
	if _, errOut, code = cli(t, "", "delete", "--db", db, "--from", empty); code != 2 || !strings.Contains(errOut, "holds no track reference") {
		t.Errorf("delete --from a file of comments = exit %d, %q; want a usage error", code, errOut)
	}

	list := write("takedowns.txt", "\uFEFFt0001\r\n  # the app's takedowns\r\n\r\n  t0002  \r\nspotify:track:t0003\r\nt0001\r\n")
	out, errOut, code := cli(t, "", "delete", "--db", db, "--json", "--from", list, "t0004")
	if code != 0 {
		t.Fatalf("delete --from takedowns.txt t0004: exit %d: %s", code, errOut)
	}
	var got deleteJSON
	json.Unmarshal([]byte(out), &got)
	if want := []string{"t0004", "t0001", "t0002", "t0003"}; got.References != 5 || got.Repeated != 1 || !slices.Equal(got.Deleted, want) {
		t.Errorf("delete --from takedowns.txt t0004 = %+v, want 5 references, 1 repeated, %v deleted", got, want)
	}
	out, errOut, code = cli(t, "t0005\n# stdin\nt0006\n", "delete", "--db", db, "--from", "-")
	if code != 0 || !strings.Contains(out, "deleted 2 tracks (2 references)\n") {
		t.Errorf("delete --from - = exit %d, %q %q; want 2 deleted", code, out, errOut)
	}
	if got := info(t, db); got.Tracks != 44 {
		t.Errorf("after the deletes: %d tracks, want 44", got.Tracks)
	}
	_, errOut, code = cli(t, "nope\n", "delete", "--db", db, "--from", "-")
	if code != 1 || !strings.Contains(errOut, `stdin:1: track "nope"`) {
		t.Errorf("delete --from - of nope = exit %d, %q; want an error naming stdin:1", code, errOut)
	}
}

// Given a catalogue keyed by the app's ids with Spotify ids beside them,
// when delete is given a track's Spotify id, URI or link, expect that
// track deleted, as queries find it.
func TestDeleteBySpotifyID(t *testing.T) {
	db := filepath.Join(t.TempDir(), "app.db")
	eng, err := soundalike.Open(db, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for i := range 10 {
			tr := synth.SmallTrack(rng, i)
			tr.ID, tr.SpotifyID = soundalike.TrackID(fmt.Sprintf("app-%d", i)), fmt.Sprintf("sp%04d", i)
			switch i {
			case 9:
				tr.SpotifyID = "sp0005" // a second track sharing app-5's Spotify id
			case 8:
				tr.ID, tr.SpotifyID = "4uLU6hMCjMI75M1A2tKUQC", "4uLU6hMCjMI75M1A2tKUQC" // stored under its Spotify id
			case 7:
				tr.SpotifyID = "4uLU6hMCjMI75M1A2tKUQC" // a copy of it under the app's id
			}
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	})
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, "", "delete", "--db", db, "--json", "sp0001", "spotify:track:sp0002", "https://open.spotify.com/track/sp0003?si=x", "app-4")
	if code != 0 {
		t.Fatalf("delete by Spotify references: exit %d: %s", code, errOut)
	}
	var got deleteJSON
	json.Unmarshal([]byte(out), &got)
	if want := []string{"app-1", "app-2", "app-3", "app-4"}; !slices.Equal(got.Deleted, want) {
		t.Errorf("deleted %v, want %v", got.Deleted, want)
	}
	_, errOut, code = cli(t, "", "delete", "--db", db, "spotify:track:sp0001")
	if code != 1 || !strings.Contains(errOut, `argument 1: track "spotify:track:sp0001" is not in the catalogue`) {
		t.Errorf("delete of a deleted Spotify id = exit %d, %q; want it not found", code, errOut)
	}
	// A takedown is of what the Spotify id names: every track sharing it goes,
	// and the list run again deletes nothing more.
	for run := range 2 {
		out, errOut, code = cli(t, "", "delete", "--db", db, "--json", "--missing-ok", "sp0005")
		json.Unmarshal([]byte(out), &got)
		want := []string{"app-5", "app-9"}
		if run == 1 {
			want = []string{}
		}
		slices.Sort(got.Deleted)
		if code != 0 || !slices.Equal(got.Deleted, want) {
			t.Errorf("run %d: delete sp0005 shared by app-5 and app-9 = exit %d, deleted %v; want %v (%s)", run+1, code, got.Deleted, want, errOut)
		}
	}
	// The same when one copy is stored under the Spotify id itself; the
	// summary says why one reference deleted two tracks.
	out, errOut, code = cli(t, "", "delete", "--db", db, "spotify:track:4uLU6hMCjMI75M1A2tKUQC")
	if want := "deleted 2 tracks (1 reference; a Spotify id names every track sharing it)\n"; code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("delete of a Spotify id two tracks share = exit %d, %q; want %q (%s)", code, out, want, errOut)
	}
	out, errOut, code = cli(t, "", "delete", "--db", db, "--json", "--missing-ok", "4uLU6hMCjMI75M1A2tKUQC")
	json.Unmarshal([]byte(out), &got)
	slices.Sort(got.Deleted)
	if want := []string{"4uLU6hMCjMI75M1A2tKUQC"}; code != 0 || !slices.Equal(got.NotFound, want) || len(got.Deleted) != 0 {
		t.Errorf("delete of a Spotify id deleted already = exit %d, %+v; want it not found (%s)", code, got, errOut)
	}
	if got := info(t, db); got.Tracks != 2 {
		t.Errorf("%d tracks left, want 2", got.Tracks)
	}
	// A reference with a note beside it names no track: refused, even
	// with --missing-ok, since the track it meant would stay up.
	_, errOut, code = cli(t, "sp0006  # label request 12\n", "delete", "--db", db, "--missing-ok", "--from", "-")
	if code != 2 || !strings.Contains(errOut, "stdin:1:") || !strings.Contains(errOut, "a note on a line of its own") {
		t.Errorf("delete of a reference with a note = exit %d, %q; want a usage error naming stdin:1", code, errOut)
	}
}

// Given a database held by another process beyond --lock-timeout, or a
// delete interrupted (Ctrl-C) while it reads its list, expect an error
// saying so and nothing deleted.
func TestDeleteLockedOrInterrupted(t *testing.T) {
	db := testDB(t, 20)
	release := holdDB(t, db, "soundalike import")
	_, errOut, code := cli(t, "", "delete", "--db", db, "--lock-timeout", "300ms", "t0001")
	if code != 1 || !strings.Contains(errOut, "soundalike import (pid") || !strings.Contains(errOut, "--lock-timeout") {
		t.Errorf("delete on a held database = exit %d, %q; want an error naming the holder and --lock-timeout", code, errOut)
	}
	release()

	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancelCause(t.Context())
	time.AfterFunc(50*time.Millisecond, func() { cancel(stopSignal{syscall.SIGTERM}) })
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"delete", "--db", db, "--from", "-", "t0002"}, pr, io.Discard, io.Discard)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "delete: interrupted (terminated signal received)") || !strings.Contains(err.Error(), "nothing was deleted") {
			t.Errorf("interrupted delete = %v, want interrupted by the signal named, nothing deleted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("delete still waits for stdin 10s after the interrupt")
	}
	if got := info(t, db); got.Tracks != 20 {
		t.Errorf("after the locked and the interrupted delete: %d tracks, want 20", got.Tracks)
	}
}

// Given no reference, an empty one, or a --db with no database, expect an
// error saying so (naming the path, as other commands do), and no
// database created.
func TestDeleteUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"delete"}, 2, "no track given"},
		{[]string{"delete", "t0001", " "}, 2, "argument 2 is empty"},
		{[]string{"delete", "t0001", "--missing-ok"}, 1, "no database there yet: run `soundalike import`"},
	} {
		db := filepath.Join(t.TempDir(), "none.db")
		_, errOut, code := cli(t, "", append(tc.args, "--db", db)...)
		// The references are looked up in the database, so a missing one
		// is reported before any reference is called not found.
		if code != tc.code || !strings.Contains(errOut, tc.want) || code == 1 && (!strings.Contains(errOut, db) || strings.Contains(errOut, "not found")) {
			t.Errorf("%q = exit %d, %q; want exit %d, %q", tc.args, code, errOut, tc.code, tc.want)
		}
		if _, err := os.Stat(db); !os.IsNotExist(err) {
			t.Errorf("%q created %s (%v), want no database", tc.args, db, err)
		}
	}
}
