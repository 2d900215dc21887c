package soundalike_test

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
	bolt "go.etcd.io/bbolt"
)

// setRecord overwrites the stored value of track id, below the engine, as
// a disk error or a bug in another writer would. It returns the old value.
func setRecord(t *testing.T, path string, id string, value func(old []byte) []byte) []byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var old []byte
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("tracks"))
		old = append([]byte(nil), b.Get([]byte(id))...)
		if old == nil {
			t.Fatalf("no stored track %s", id)
		}
		return b.Put([]byte(id), value(old))
	})
	if err != nil {
		t.Fatal(err)
	}
	return old
}

// importTrack adds a track through a short-lived writer, as a batch job
// beside a server does.
func importTrack(t *testing.T, path string, i int) soundalike.TrackID {
	t.Helper()
	w, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tr := synth.SmallTrack(rand.New(rand.NewPCG(uint64(i), 5)), i)
	if err := w.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(tr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tr.ID
}

// TestFailedReloadKeepsServing: a serving engine whose reload meets a
// corrupt record keeps answering from the snapshot it has, and the failure
// is visible: returned by Reload, in Stats and in /metrics. Once the
// record is repaired, the next reload succeeds and clears the error.
func TestFailedReloadKeepsServing(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "serve.db")
	writer, _ := fixture(t, path, 200)
	writer.Close()

	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	before, err := eng.Similar(ctx, "t0005", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	served := eng.Stats()
	h := server.New(eng, nil)

	// A new generation, with one record corrupt (an unknown codec version).
	added := importTrack(t, path, 7001)
	good := setRecord(t, path, "t0010", func(old []byte) []byte {
		bad := append([]byte(nil), old...)
		bad[12] = 99 // after [seq u64][node u32]: the track's codec version
		return bad
	})

	changed, err := eng.Reload(ctx)
	if err == nil || changed || !strings.Contains(err.Error(), "t0010") || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Reload over a corrupt record = %v, %v; want an error naming the track and the bad version", changed, err)
	}
	st := eng.Stats()
	if st.ReloadFailures != 1 || st.ReloadError == nil || st.ReloadError.Error() != err.Error() {
		t.Errorf("Stats after the failure: failures %d, error %v; want 1 and Reload's error", st.ReloadFailures, st.ReloadError)
	}
	if st.Generation != served.Generation || st.Tracks != served.Tracks || !st.Loaded.Equal(served.Loaded) {
		t.Errorf("Stats after the failure = %+v, want the snapshot served before (%+v)", st, served)
	}
	after, err := eng.Similar(ctx, "t0005", 10, nil)
	if err != nil {
		t.Fatalf("Similar after a failed reload: %v, want the previous snapshot's answer", err)
	}
	if after.Generation != before.Generation || len(after.Neighbors) != len(before.Neighbors) || after.Neighbors[0].ID != before.Neighbors[0].ID {
		t.Errorf("Similar after a failed reload = gen %d %v, want the previous answer (gen %d %v)",
			after.Generation, after.Neighbors, before.Generation, before.Neighbors)
	}
	if _, err := eng.Track(ctx, added); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track(%s) of the failed generation: %v, want ErrNotFound (not served yet)", added, err)
	}
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "GET", target, nil))
		return w
	}
	if body := get("/metrics").Body.String(); !strings.Contains(body, "soundalike_reload_failures_total 1\n") {
		t.Errorf("GET /metrics lacks soundalike_reload_failures_total 1")
	}
	if w := get("/similar?track=t0005"); w.Code != 200 {
		t.Errorf("GET /similar after a failed reload = %d %s, want 200", w.Code, w.Body)
	}

	// Retried on the same damage, the failure is counted again but logged
	// as an error only once: the log says when it began.
	if _, err := eng.Reload(ctx); err == nil {
		t.Fatal("a second Reload over the corrupt record succeeded")
	}
	if n := strings.Count(logs.String(), "level=ERROR msg=\"loading a new snapshot failed"); n != 1 {
		t.Errorf("two reloads failing alike logged %d errors, want 1:\n%s", n, logs.String())
	}

	// Repaired by the next write: the reload succeeds and clears the error.
	setRecord(t, path, "t0010", func([]byte) []byte { return good })
	importTrack(t, path, 7002)
	if changed, err := eng.Reload(ctx); err != nil || !changed {
		t.Fatalf("Reload after the repair = %v, %v; want a change", changed, err)
	}
	st = eng.Stats()
	if st.ReloadFailures != 2 || st.ReloadError != nil || st.Generation <= served.Generation || !st.Loaded.After(served.Loaded) {
		t.Errorf("Stats after the repair = %+v, want a newer snapshot, 2 failures counted and no error", st)
	}
	if _, err := eng.Track(ctx, added); err != nil {
		t.Errorf("Track(%s) after the repair: %v", added, err)
	}
	if !strings.Contains(logs.String(), "msg=\"the database loads again") {
		t.Errorf("the log does not say the failure is over:\n%s", logs.String())
	}
}

// TestFirstLoadFailureIsReported: an attached engine whose first load
// fails answers queries with that error, never with ErrNoModel.
func TestFirstLoadFailureIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "first.db")
	writer, _ := fixture(t, path, 50)
	writer.Close()
	setRecord(t, path, "t0003", func(old []byte) []byte { return old[:14] })
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	_, err = eng.Similar(t.Context(), "t0001", 5, nil)
	if err == nil || errors.Is(err, soundalike.ErrNoModel) || !strings.Contains(err.Error(), "t0003") {
		t.Errorf("Similar with a corrupt catalogue = %v, want the load's error naming t0003", err)
	}
	if err := eng.Ready(); err == nil || errors.Is(err, soundalike.ErrNoModel) {
		t.Errorf("Ready = %v, want the load's error", err)
	}
	if st := eng.Stats(); st.ReloadFailures == 0 || st.ReloadError == nil {
		t.Errorf("Stats = %+v, want the failure recorded", st)
	}
}
