package soundalike_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// firstRelease opens a copy of testdata/schema1_first.db.gz: a schema-1
// database written by the first release (commit 6693c32) from the first 400
// rows of testdata/spotify_sample.csv (397 tracks, 400 interactions, 5
// users), with a model (v1, 2 epochs, seed 1) and its index:
//
//	soundalike import --db v0.db small.csv   # head -401 testdata/spotify_sample.csv
//	soundalike train --db v0.db --epochs 2 --seed 1
//	soundalike reindex --db v0.db
//
// Later releases must keep reading and writing it.
func firstRelease(t *testing.T) (*soundalike.Engine, []byte) {
	t.Helper()
	f, err := os.Open("testdata/schema1_first.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v0.db")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, gz); err != nil {
		t.Fatal(err)
	}
	out.Close()
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	sample, err := os.ReadFile("testdata/spotify_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfterN(sample, []byte("\n"), 402)
	return eng, bytes.Join(lines[:401], nil)
}

// TestFirstReleaseChecks: Check finds nothing wrong in the first
// release's file and counts its interactions as Counts does.
func TestFirstReleaseChecks(t *testing.T) {
	eng, _ := firstRelease(t)
	r, err := eng.Check(t.Context())
	if err != nil || !r.OK() || r.Interactions != 400 || r.Tracks != 397 {
		t.Fatalf("Check of the first release's database = %+v, %v; want OK with 397 tracks and 400 interactions", r, err)
	}
}

func TestFirstReleaseDatabase(t *testing.T) {
	eng, rows := firstRelease(t)
	tr, ns := checkFirstReleaseReads(t, eng)
	checkFirstReleaseWrites(t, eng, rows, tr, ns[0].ID)
}

// checkFirstReleaseReads checks what the first release stored reads as it
// was written, and returns a track and its neighbours.
func checkFirstReleaseReads(t *testing.T, eng *soundalike.Engine) (*soundalike.Track, []soundalike.Neighbor) {
	t.Helper()
	ctx := t.Context()
	c, err := eng.Counts()
	if err != nil || c.Tracks != 397 || c.Users != 5 || c.Interactions != 400 {
		t.Fatalf("Counts = %+v, %v; want 397 tracks, 5 users, 400 interactions", c, err)
	}
	tr, err := eng.Track(ctx, "65RTyZesurf9xxf7FZVL1u")
	if err != nil || tr.Name != "Not Today - Remix" || len(tr.Artists) != 1 || tr.Artists[0] != "Hillsong UNITED" ||
		tr.Features.Danceability != 0.617 || tr.Features.Key != 6 || tr.Features.Loudness != -4.476 {
		t.Fatalf("Track = %+v, %v", tr, err)
	}
	m, err := eng.Model(ctx)
	if err != nil || m.Version != "v1" || m.IndexSize != 397 {
		t.Fatalf("Model = %+v, %v; want v1 serving an index of 397", m, err)
	}
	// The first release stored the index parameters as untagged
	// index.Options, Workers included; they still read.
	if st, err := eng.IndexState(ctx); err != nil || st.Params.M != 16 || st.Params.EfConstruction != 200 ||
		st.Params.EfSearch != 80 || st.Params.Seed != 1 || st.Params.Workers != 0 || st.Tracks != 397 {
		t.Fatalf("IndexState = %+v, %v; want the first release's M 16, EfConstruction 200, EfSearch 80, seed 1", st, err)
	}
	// A user's history is a run of the interactions' keys, which schema 1
	// already ordered by user: it reads without a migration.
	all, err := eng.Interactions(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	perUser := map[string]int{}
	for _, in := range all {
		perUser[in.User]++
	}
	if len(perUser) != 5 {
		t.Fatalf("Interactions name %d users, want 5", len(perUser))
	}
	for user, n := range perUser {
		hist, err := eng.UserHistory(ctx, user)
		if err != nil || len(hist) != n {
			t.Errorf("UserHistory(%q) = %d interactions, %v; want the %d a full scan finds", user, len(hist), err, n)
		}
	}
	ns, err := neighbors(eng.Similar(ctx, tr.ID, 5, nil))
	if err != nil || len(ns) != 5 {
		t.Fatalf("Similar = %v, %v", ns, err)
	}
	return tr, ns
}

// checkFirstReleaseWrites checks that this release writes on the old
// file: a re-import of the same rows, a deletion, a new track and an
// incremental reindex.
func checkFirstReleaseWrites(t *testing.T, eng *soundalike.Engine, rows []byte, tr *soundalike.Track, gone soundalike.TrackID) {
	t.Helper()
	ctx := t.Context()

	// The same rows again add nothing: the old interaction values and
	// track records are read as this release writes them.
	var sum ingest.Summary
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		src, err := ingest.NewReader("small.csv", bytes.NewReader(rows))
		if err != nil {
			return err
		}
		sum, err = ingest.Run(ctx, src, tx, nil)
		return err
	})
	if err != nil || sum.TracksAdded+sum.TracksUpdated+sum.InteractionsAdded+sum.Rejected != 0 {
		t.Fatalf("re-import = %+v, %v; want nothing added or changed", sum, err)
	}

	// Writes on the old file: a deletion (it still has a nodes bucket), a
	// new track, and an incremental reindex.
	added := *tr
	added.ID, added.Name = "new-track-0001", "Brand New"
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		if ok, err := tx.DeleteTrack(gone); !ok || err != nil {
			t.Errorf("DeleteTrack(%s) = %v, %v", gone, ok, err)
		}
		_, _, err := tx.PutTrack(&added)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := eng.Reindex(ctx, nil)
	if err != nil || rs.Full || rs.Deleted != 1 || rs.Inserted != 1 {
		t.Fatalf("Reindex = %+v, %v; want incremental, 1 deleted, 1 inserted", rs, err)
	}
	if st, err := eng.IndexState(ctx); err != nil || st.Params.EfSearch != 80 || st.Params.M != 16 || st.Tracks != 397 {
		t.Errorf("IndexState after the update = %+v, %v; want the parameters kept", st, err)
	}
	if c, _ := eng.Counts(); c.Tracks != 397 {
		t.Errorf("tracks after -1 +1 = %d, want 397", c.Tracks)
	}
	ns2, err := neighbors(eng.Similar(ctx, "new-track-0001", 5, nil))
	if err != nil || len(ns2) != 5 {
		t.Fatalf("Similar(new track) = %v, %v", ns2, err)
	}
	for _, n := range ns2 {
		if n.ID == gone {
			t.Errorf("deleted track %s served", n.ID)
		}
	}
}
