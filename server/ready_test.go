package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/storage"
)

// Given a reload that fails (a record damaged below the engine), when GET
// /readyz, expect 200 still, saying the served generation is stale, the
// generation on disk and why.
func TestReadyzSaysStale(t *testing.T) {
	eng := newEngine(t, ready)
	h := server.New(eng, nil)
	if w := do(t, h, "GET", "/readyz", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"ready"`) {
		t.Fatalf("GET /readyz = %d %s, want 200 ready", w.Code, w.Body)
	}
	served := eng.Stats().Generation

	db, err := storage.Open(eng.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *storage.Tx) error {
		_, _, _, err := tx.PutTrack("x1", []byte{0xee, 1, 2}) // no track encoding
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reload(t.Context()); err == nil {
		t.Fatal("Reload of a damaged record = nil, want an error")
	}

	w := do(t, h, "GET", "/readyz", "")
	if w.Code != 200 {
		t.Fatalf("GET /readyz after a failed reload = %d %s, want 200: the old snapshot still answers", w.Code, w.Body)
	}
	var got struct {
		Status           string `json:"status"`
		Generation       uint64 `json:"generation"`
		GenerationOnDisk uint64 `json:"generation_on_disk"`
		ReloadError      string `json:"reload_error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "stale" || got.Generation != served || got.GenerationOnDisk <= served || !strings.Contains(got.ReloadError, "x1") {
		t.Errorf("GET /readyz = %s, want status stale, generation %d, a newer generation on disk, and the error naming track x1", w.Body, served)
	}
	if w := do(t, h, "GET", "/similar?track=a", ""); w.Code != 200 {
		t.Errorf("GET /similar while stale = %d, want 200 from the old snapshot", w.Code)
	}
}

// Given a database whose stored index is damaged, when the engine's first
// load meets it, expect /similar and /readyz to answer 503 naming the
// command that rebuilds the index, not a 500 or the file's path.
func TestDamagedIndexIs503(t *testing.T) {
	path := newEngine(t, ready).Path()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		idx := tx.Bucket([]byte("indexes"))
		return idx.ForEachBucket(func(k []byte) error {
			chunks := idx.Bucket(k).Bucket([]byte("chunks"))
			ck, v := chunks.Cursor().First()
			bad := append([]byte(nil), v...)
			bad[len(bad)/2] ^= 0xff
			return chunks.Put(ck, bad)
		})
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	h := server.New(eng, nil)
	for _, target := range []string{"/similar?track=a", "/readyz"} {
		w := do(t, h, "GET", target, "")
		if w.Code != 503 || !strings.Contains(w.Body.String(), "soundalike reindex --full") || strings.Contains(w.Body.String(), path) {
			t.Errorf("GET %s with a damaged index = %d %s, want 503 naming soundalike reindex --full", target, w.Code, w.Body)
		}
	}
}

// Given an engine its program has closed (shutting down) while the server
// still takes requests, when GET /readyz or /similar, expect 503 saying
// so, not a 500.
func TestClosedEngineIs503(t *testing.T) {
	eng := newEngine(t, ready)
	h := server.New(eng, nil)
	eng.Close()
	for _, target := range []string{"/similar?track=a", "/readyz"} {
		w := do(t, h, "GET", target, "")
		if w.Code != 503 || !strings.Contains(w.Body.String(), "the engine is closed") {
			t.Errorf("GET %s after the engine closed = %d %s, want 503 saying it is closed", target, w.Code, w.Body)
		}
	}
}

// startingSearcher answers as serve's does while it waits to load the
// database another process holds: every search and /readyz get err.
type startingSearcher struct {
	*soundalike.Engine
	err error
}

func (s startingSearcher) Similar(context.Context, soundalike.TrackID, int, *soundalike.SearchOptions) (soundalike.Results, error) {
	return soundalike.Results{}, s.err
}

func (s startingSearcher) Ready(context.Context) error { return s.err }

// Given a Searcher still starting (a server.ErrStarting saying what it
// waits for), when GET /similar or /readyz, or WriteError, expect 503
// with that message and a Retry-After in whole seconds, so that a client
// or load balancer knows to come back, as the OpenAPI document says.
func TestStartingIs503WithRetryAfter(t *testing.T) {
	err := fmt.Errorf("%w: waiting to load the database db, held by soundalike reindex (pid 42)", server.ErrStarting)
	h := server.New(startingSearcher{newEngine(t, ready), err}, nil)
	check := func(what string, w *httptest.ResponseRecorder) {
		t.Helper()
		s, aerr := strconv.Atoi(w.Header().Get("Retry-After"))
		if w.Code != 503 || aerr != nil || s < 1 || !strings.Contains(w.Body.String(), "held by soundalike reindex") {
			t.Errorf("%s while starting = %d (Retry-After %q) %s, want 503 with Retry-After in seconds, saying what it waits for", what, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	for _, target := range []string{"/similar?track=a", "/readyz"} {
		check("GET "+target, do(t, h, "GET", target, ""))
	}
	w := httptest.NewRecorder()
	server.WriteError(w, err)
	check("WriteError", w)
}

// Given a nil Searcher or a nil *Engine, when New, expect it to panic
// there, naming the mistake, not to answer every request 500.
func TestNewRefusesNilSearcher(t *testing.T) {
	for name, s := range map[string]server.Searcher{"nil": nil, "nil engine": (*soundalike.Engine)(nil)} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "nil Searcher") {
					t.Errorf("New(%s) recovered %v, want a panic naming the nil Searcher", name, r)
				}
			}()
			server.New(s, nil)
		}()
	}
}
