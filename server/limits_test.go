package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

func TestWorkLimits(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	refs := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`"t%02d"`, i%23)
		}
		return s
	}
	excl := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("t%02d", i%23)
		}
		return strings.Join(s, ",")
	}
	cases := []struct {
		name, method, target, body string
		status                     int
		errs                       []string
	}{
		{"given MaxSeeds seeds, when POST /similar, expect 200", "POST", "/similar", `{"tracks":[` + strings.Join(refs(server.MaxSeeds), ",") + `]}`, 200, nil},
		{"given one seed over MaxSeeds, when POST /similar, expect 400 naming the limit", "POST", "/similar", `{"tracks":[` + strings.Join(refs(server.MaxSeeds+1), ",") + `]}`, 400, []string{"tracks", fmt.Sprint(server.MaxSeeds)}},
		{"given MaxExclude exclusions, when POST /similar, expect 200", "POST", "/similar", `{"tracks":["a"],"exclude":[` + strings.Join(refs(server.MaxExclude), ",") + `]}`, 200, nil},
		{"given one exclusion over MaxExclude, when POST /similar, expect 400 naming the limit", "POST", "/similar", `{"tracks":["a"],"exclude":[` + strings.Join(refs(server.MaxExclude+1), ",") + `]}`, 400, []string{"exclude", fmt.Sprint(server.MaxExclude)}},
		{"given MaxFilterIDs filter.ids, when POST /similar, expect 200", "POST", "/similar", `{"tracks":["a"],"filter":{"ids":[` + strings.Join(refs(server.MaxFilterIDs), ",") + `]}}`, 200, nil},
		{"given one filter.ids over MaxFilterIDs, when POST /similar, expect 400 naming the limit", "POST", "/similar", `{"tracks":["a"],"filter":{"ids":[` + strings.Join(refs(server.MaxFilterIDs+1), ",") + `]}}`, 400, []string{"filter.ids", fmt.Sprint(server.MaxFilterIDs)}},
		{"given one filter.ids over MaxFilterIDs in a batch's query, when POST /similar/batch, expect 400 naming the limit", "POST", "/similar/batch", `{"queries":[{"tracks":["a"],"filter":{"ids":[` + strings.Join(refs(server.MaxFilterIDs+1), ",") + `]}}]}`, 400, []string{"filter.ids", fmt.Sprint(server.MaxFilterIDs)}},
		{"given one exclusion over MaxExclude, the last one empty, when POST /similar, expect 400 naming the limit, checked before the references", "POST", "/similar", `{"tracks":["a"],"exclude":[` + strings.Join(refs(server.MaxExclude), ",") + `,""]}`, 400, []string{"exclude: 1001 tracks", fmt.Sprint(server.MaxExclude)}},
		{"given one seed over MaxSeeds, the last one empty, when POST /similar, expect 400 naming the limit, checked before the references", "POST", "/similar", `{"tracks":[` + strings.Join(refs(server.MaxSeeds), ",") + `,""]}`, 400, []string{"tracks: 101 seed tracks", fmt.Sprint(server.MaxSeeds)}},
		{"given one seed over MaxSeeds in a batch's second query, when POST /similar/batch, expect 400 naming the limit at the query", "POST", "/similar/batch", `{"queries":[{"tracks":["a"]},{"tracks":[` + strings.Join(refs(server.MaxSeeds+1), ",") + `]}]}`, 400, []string{"queries[1].tracks: 101 seed tracks", fmt.Sprint(server.MaxSeeds)}},
		{"given MaxExclude exclusions, when GET /similar, expect 200", "GET", "/similar?track=a&exclude=" + excl(server.MaxExclude), "", 200, nil},
		{"given one exclusion over MaxExclude, when GET /similar, expect 400", "GET", "/similar?track=a&exclude=" + excl(server.MaxExclude+1), "", 400, []string{"exclude", fmt.Sprint(server.MaxExclude)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, h, tc.method, tc.target, tc.body)
			if w.Code != tc.status {
				t.Fatalf("%s %.60s = %d %s, want %d", tc.method, tc.target, w.Code, w.Body, tc.status)
			}
			if tc.status != 200 {
				checkError(t, w, tc.errs...)
			}
		})
	}
}

// A search that outlives Options.RequestTimeout is answered 503 with
// Retry-After: the engine checks the deadline before it searches.
func TestRequestTimeout(t *testing.T) {
	f := &hooked{Engine: newEngine(t, ready), hook: func(soundalike.Query) error { time.Sleep(100 * time.Millisecond); return nil }}
	h := server.New(f, &server.Options{RequestTimeout: 20 * time.Millisecond})
	for _, r := range []struct{ method, target, body string }{{"GET", "/similar?track=a", ""}, {"POST", "/similar", `{"tracks":["a"]}`}} {
		w := do(t, h, r.method, r.target, r.body)
		if w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("%s %s past the deadline = %d (Retry-After %q) %s, want 503 with Retry-After", r.method, r.target, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
		checkError(t, w, "timed out", "20ms")
	}
	if m := do(t, h, "GET", "/metrics", "").Body.String(); !strings.Contains(m, `soundalike_searches_rejected_total{reason="timeout"} 2`) {
		t.Errorf("metrics lack 2 timeouts:\n%s", grepLines(m, "searches"))
	}
}

// slowLookups passes track search and lookups on to a real engine after
// a pause, as a large catalogue's first word index or a loaded machine
// would take.
type slowLookups struct {
	*soundalike.Engine
	pause time.Duration
}

func (s slowLookups) SearchTracks(ctx context.Context, text string, k int) ([]soundalike.Track, error) {
	time.Sleep(s.pause)
	return s.Engine.SearchTracks(ctx, text, k)
}

func (s slowLookups) Track(ctx context.Context, id soundalike.TrackID) (*soundalike.Track, error) {
	time.Sleep(s.pause)
	return s.Engine.Track(ctx, id)
}

// GET /tracks is a search too: past Options.RequestTimeout it is answered
// 503 with Retry-After, by words (the engine checks the deadline before
// it searches) and by ids (the server checks it between lookups), not 200
// however late.
func TestTracksRequestTimeout(t *testing.T) {
	eng := newEngine(t, ready)
	if _, err := eng.SearchTracks(t.Context(), "song", 1); err != nil { // the snapshot and its word index, loaded
		t.Fatal(err)
	}
	h := server.New(slowLookups{eng, 60 * time.Millisecond}, &server.Options{RequestTimeout: 20 * time.Millisecond})
	for _, target := range []string{"/tracks?q=song&k=100", "/tracks?ids=a,x1", "/tracks?id=a&id=x1"} {
		w := do(t, h, "GET", target, "")
		if w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Errorf("GET %s past the deadline = %d (Retry-After %q) %.200s, want 503 with Retry-After", target, w.Code, w.Header().Get("Retry-After"), w.Body)
			continue
		}
		checkError(t, w, "timed out", "20ms")
	}
}

// MaxInFlight searches run, MaxQueued wait, the next is refused at once
// with 503 and Retry-After; a queued search that outlives its deadline is
// refused too. Metrics count what runs, waits and is refused.
func TestInFlightLimit(t *testing.T) {
	entered, unblock := make(chan struct{}, 4), make(chan struct{})
	f := &hooked{Engine: newEngine(t, ready), hook: func(soundalike.Query) error { entered <- struct{}{}; <-unblock; return nil }}
	h := server.New(f, &server.Options{MaxInFlight: 1, MaxQueued: 1, RequestTimeout: 5 * time.Second})
	codes := make(chan int, 2)
	get := func() {
		req := httptest.NewRequestWithContext(t.Context(), "GET", "/similar?track=a", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		codes <- w.Code
	}
	go get()
	<-entered // the first runs
	go get()  // the second waits
	waitMetric(t, h, "soundalike_searches_queued 1")
	if m := do(t, h, "GET", "/metrics", "").Body.String(); !strings.Contains(m, "soundalike_searches_in_flight 1") {
		t.Errorf("metrics lack 1 search in flight:\n%s", grepLines(m, "searches"))
	}

	w := do(t, h, "GET", "/similar?track=a", "")
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("third search = %d (Retry-After %q) %s, want 503 with Retry-After 1", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	checkError(t, w, "busy")
	if w := do(t, h, "GET", "/healthz", ""); w.Code != 200 {
		t.Errorf("GET /healthz while busy = %d, want 200: only searches are limited", w.Code)
	}

	close(unblock)
	for range 2 {
		if c := <-codes; c != 200 {
			t.Errorf("a search that ran or waited = %d, want 200", c)
		}
	}
	m := do(t, h, "GET", "/metrics", "").Body.String()
	for _, want := range []string{`soundalike_searches_rejected_total{reason="busy"} 1`, "soundalike_searches_in_flight 0", "soundalike_searches_queued 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(m, "searches"))
		}
	}
}

func TestQueuedSearchTimesOut(t *testing.T) {
	entered, unblock := make(chan struct{}, 4), make(chan struct{})
	defer close(unblock)
	f := &hooked{Engine: newEngine(t, ready), hook: func(soundalike.Query) error { entered <- struct{}{}; <-unblock; return nil }}
	h := server.New(f, &server.Options{MaxInFlight: 1, MaxQueued: 4, RequestTimeout: 50 * time.Millisecond})
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), "GET", "/similar?track=a", nil))
	<-entered
	w := do(t, h, "POST", "/similar", `{"tracks":["a"]}`)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("queued search past its deadline = %d %s, want 503 with Retry-After", w.Code, w.Body)
	}
	checkError(t, w, "timed out")
}

// waitMetric polls /metrics until it holds line.
func waitMetric(t *testing.T, h http.Handler, line string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(do(t, h, "GET", "/metrics", "").Body.String(), line) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("metrics never showed %q", line)
}

// Heavy searches run in at most half the slots: with two slots, one heavy
// search running and another waiting, a plain search still runs at once.
func TestHeavySearchesLeavePlainOnesASlot(t *testing.T) {
	entered, unblock := make(chan struct{}, 4), make(chan struct{})
	f := &hooked{Engine: newEngine(t, ready), hook: func(q soundalike.Query) error {
		if len(q.Tracks) > 10 { // the heavy ones
			entered <- struct{}{}
			<-unblock
		}
		return nil
	}}
	h := server.New(f, &server.Options{MaxInFlight: 2, MaxQueued: 4, RequestTimeout: 5 * time.Second})
	heavy := `{"tracks":["t00","t01","t02","t03","t04","t05","t06","t07","t08","t09","t10"],"k":1000}`
	codes := make(chan int, 2)
	for range 2 {
		go func() {
			req := httptest.NewRequestWithContext(t.Context(), "POST", "/similar", strings.NewReader(heavy))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			codes <- w.Code
		}()
	}
	<-entered
	waitMetric(t, h, "soundalike_searches_queued 1") // the second heavy one waits for the heavy slot
	if w := do(t, h, "GET", "/similar?track=a", ""); w.Code != 200 {
		t.Errorf("plain search beside heavy ones = %d %s, want 200 at once", w.Code, w.Body)
	}
	close(unblock)
	for range 2 {
		if c := <-codes; c != 200 {
			t.Errorf("heavy search = %d, want 200 once its turn came", c)
		}
	}
}
