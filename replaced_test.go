package soundalike_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/storage"
)

// serveDetached opens a detached engine on path, as serve does, and
// returns it once it serves.
func serveDetached(t *testing.T, path string) *soundalike.Engine {
	t.Helper()
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true, Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// mustReload reloads eng and fails the test unless the reload published
// a new snapshot.
func mustReload(t *testing.T, eng *soundalike.Engine, what string) {
	t.Helper()
	if changed, err := eng.Reload(t.Context()); err != nil || !changed {
		t.Fatalf("Reload %s = %v, %v; want a new snapshot", what, changed, err)
	}
}

// importInteraction adds one interaction through a short-lived writer.
func importInteraction(t *testing.T, path string, in soundalike.Interaction) {
	t.Helper()
	w, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		_, err := tx.PutInteraction(&in)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// Given a served file, when a backup of it taken one write earlier is
// renamed into place and written to once, so that it has reached the
// served generation with other tracks, expect the next reload to serve
// the restored file: its tracks, and the track search over them.
func TestReloadServesABackupRenamedIntoPlaceAtTheServedGeneration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "st.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	backup := path + ".bak"
	dbdamage.Copy(t, path, backup)
	eng := serveDetached(t, path)

	dropped := importTrack(t, path, 7001)
	mustReload(t, eng, "after an import")
	served := eng.Stats()
	restored := importTrack(t, backup, 7002)
	if err := os.Rename(backup, path); err != nil {
		t.Fatal(err)
	}
	mustReload(t, eng, "of a backup renamed into place, written to the served generation")
	if st := eng.Stats(); st.Generation != served.Generation {
		t.Fatalf("generation after the restore = %d, want %d: the test wants the restored file at the served generation", st.Generation, served.Generation)
	}
	if _, err := eng.Track(ctx, dropped); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track(%s), only in the file replaced: %v, want ErrNotFound", dropped, err)
	}
	if _, err := eng.Track(ctx, restored); err != nil {
		t.Errorf("Track(%s) of the restored file: %v", restored, err)
	}
	found, err := eng.SearchTracks(ctx, "Song 7002", 1)
	if err != nil || len(found) != 1 || found[0].ID != restored {
		t.Errorf(`SearchTracks("Song 7002") = %v, %v; want track %s: the word index of the restored file`, found, err, restored)
	}
}

// Given a served file, when a backup at the served generation with other
// tracks is renamed into place while a reload waits for the served
// file's lock (after the reload's stat of the path, before its open),
// expect that reload to serve the file it opened, not to take it for the
// served one, unchanged; and, when the file replaced is moved back as it
// was, the next reload to serve it again, not to take the stat the
// first reload made of it for the file it read.
func TestReloadServesAFileRenamedInBetweenItsStatAndItsOpen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "st.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	backup, replaced := path+".bak", path+".replaced"
	dbdamage.Copy(t, path, backup)
	var holder *storage.DB
	renamed := false
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true, Detached: true, LockTimeout: 10 * time.Second,
		OnLockWait: func(string) {
			// The reload has stat'ed the path and waits for the lock:
			// put the backup in place, and let go of the file replaced
			// (kept under another name).
			if err := os.Link(path, replaced); err != nil {
				t.Error(err)
			}
			if err := os.Rename(backup, path); err != nil {
				t.Error(err)
			}
			renamed = true
			holder.Close()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	dropped := importTrack(t, path, 7001)
	mustReload(t, eng, "after an import")
	served := eng.Stats()
	restored := importTrack(t, backup, 7002) // the backup at the served generation
	if holder, err = storage.Open(path, &storage.Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	// Touched, so that the reload opens the file rather than skip it.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	mustReload(t, eng, "of a backup renamed into place as the reload waited to open")
	if !renamed {
		t.Fatal("the reload did not wait for the lock: the test wants the rename in that wait")
	}
	if st := eng.Stats(); st.Generation != served.Generation {
		t.Fatalf("generation after the rename = %d, want %d: the test wants the renamed file at the served generation", st.Generation, served.Generation)
	}
	if _, err := eng.Track(ctx, dropped); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track(%s), only in the file replaced: %v, want ErrNotFound", dropped, err)
	}
	if _, err := eng.Track(ctx, restored); err != nil {
		t.Errorf("Track(%s) of the file renamed in: %v", restored, err)
	}

	if err := os.Rename(replaced, path); err != nil {
		t.Fatal(err)
	}
	mustReload(t, eng, "of the file replaced, moved back")
	if _, err := eng.Track(ctx, dropped); err != nil {
		t.Errorf("Track(%s) of the file moved back: %v", dropped, err)
	}
	if changed, err := eng.Reload(ctx); changed || err != nil {
		t.Errorf("Reload after = %v, %v; want nothing new", changed, err)
	}
}

// Given a served file, when a copy of it with a damaged track record, at
// the same generation, is renamed into place, expect the next reload to
// fail on the damage, and the previous snapshot to keep serving.
func TestReloadRefusesADamagedCopyRenamedIntoPlace(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "st.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	eng := serveDetached(t, path)
	served := eng.Stats()

	c := path + ".copy"
	dbdamage.Copy(t, path, c)
	dbdamage.CorruptTrack(t, c, "t0010") // below the engine: the generation stays
	if err := os.Rename(c, path); err != nil {
		t.Fatal(err)
	}
	changed, err := eng.Reload(ctx)
	if changed || err == nil || !strings.Contains(err.Error(), "t0010") {
		t.Fatalf("Reload of a damaged copy renamed into place = %v, %v; want an error naming track t0010", changed, err)
	}
	st := eng.Stats()
	if st.ReloadFailures != 1 || st.ReloadError == nil || st.Generation != served.Generation {
		t.Errorf("Stats after the failure = %+v, want 1 failure, its error, and generation %d served", st, served.Generation)
	}
	if _, err := eng.Track(ctx, "t0010"); err != nil {
		t.Errorf("Track(t0010) after the failed reload: %v, want the previous snapshot's", err)
	}
}

// interactions adds n interactions of user u, enough for the interactions
// bucket to have pages of its own.
func interactions(t *testing.T, path, u string, n int) {
	t.Helper()
	w, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for i := range n {
			in := soundalike.Interaction{User: u, Track: soundalike.TrackID(fmt.Sprintf("t%04d", i)), Action: soundalike.ActionPlay}
			if _, err := tx.PutInteraction(&in); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Given a served file with interactions, when a copy of it one write on,
// with the same interaction counters but its interactions bucket damaged,
// is renamed into place, expect the reload to read the interactions anew
// and fail on the damage, rather than serve the previous file's.
func TestReloadReadsTheInteractionsOfAFileRenamedIntoPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "st.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	interactions(t, path, "u", 50)
	eng := serveDetached(t, path)
	if h, err := eng.UserHistory(t.Context(), "u"); err != nil || len(h) != 50 {
		t.Fatalf("UserHistory(u) = %d interactions, %v; want 50", len(h), err)
	}

	c := path + ".copy"
	dbdamage.Copy(t, path, c)
	importTrack(t, c, 7001) // a generation on; the same interactions
	pages := dbdamage.BucketPages(t, c)["interactions"]
	if len(pages) == 0 {
		t.Fatal("the interactions bucket is inline: the test wants pages to damage")
	}
	dbdamage.Flip(t, c, int64(pages[0])*dbdamage.PageSize, 16)
	if err := os.Rename(c, path); err != nil {
		t.Fatal(err)
	}
	changed, err := eng.Reload(t.Context())
	if changed || !errors.Is(err, storage.ErrDamaged) || !strings.Contains(err.Error(), "interactions") {
		t.Fatalf("Reload of a file with damaged interactions renamed into place = %v, %v; want ErrDamaged naming the interactions", changed, err)
	}
}

// Given a served file, when an earlier copy of it that went its own way
// (another interaction, as many) is written back over it in place (the
// same file, an earlier generation), expect the reload to serve the
// copy's interactions, not the previous snapshot's.
func TestReloadReadsTheInteractionsOfAnEarlierGenerationCopiedInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "st.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	earlier := path + ".bak"
	dbdamage.Copy(t, path, earlier)
	importInteraction(t, earlier, soundalike.Interaction{User: "u", Track: "t0001", Action: soundalike.ActionPlay})
	importInteraction(t, path, soundalike.Interaction{User: "u", Track: "t0002", Action: soundalike.ActionLike})
	importTrack(t, path, 7001) // the served file a generation ahead
	eng := serveDetached(t, path)
	h, err := eng.UserHistory(t.Context(), "u")
	if err != nil || len(h) != 1 || h[0].Track != "t0002" {
		t.Fatalf("UserHistory(u) = %v, %v; want its like of t0002", h, err)
	}

	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	dbdamage.Copy(t, earlier, path) // in place: os.WriteFile truncates the file
	if after, err := os.Stat(path); err != nil || !os.SameFile(before, after) {
		t.Fatalf("the copy in place made another file (%v): the test wants the same one", err)
	}
	mustReload(t, eng, "of an earlier generation copied in place")
	h, err = eng.UserHistory(t.Context(), "u")
	if err != nil || len(h) != 1 || h[0].Track != "t0001" {
		t.Errorf("UserHistory(u) after the copy = %v, %v; want its play of t0001, the copy's", h, err)
	}
}
