package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// Serve answers until its context is done, then shuts down gracefully and
// returns nil, letting a request in flight finish.
func TestServeGracefulShutdown(t *testing.T) {
	f := &hooked{Engine: newEngine(t, ready)}
	slow, entered := make(chan struct{}), make(chan struct{}, 1)
	h := server.New(f, &server.Options{ShutdownTimeout: 5 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /healthz = %d, want 200", resp.StatusCode)
	}

	// A request in flight when shutdown starts still gets its answer.
	f.mu.Lock()
	f.hook = func(soundalike.Query) error { entered <- struct{}{}; <-slow; return nil }
	f.mu.Unlock()
	inflight := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "/similar?track=a")
		if err != nil {
			inflight <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	<-entered
	cancel()
	time.Sleep(50 * time.Millisecond) // let Shutdown close the listener
	close(slow)
	if code := <-inflight; code != 200 {
		t.Errorf("request in flight during shutdown = %d, want 200", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context was done")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("GET /healthz after shutdown succeeded, want a connection error")
	}
}

func TestListenAndServeBadAddress(t *testing.T) {
	err := server.New(&canned{}, nil).ListenAndServe(t.Context(), "127.0.0.1:http-nope")
	if err == nil || !strings.Contains(err.Error(), "serve") {
		t.Errorf("ListenAndServe(bad address) = %v, want an error", err)
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	hs := server.New(&canned{}, nil).HTTPServer(":0")
	d := server.DefaultOptions()
	if hs.ReadHeaderTimeout != d.ReadHeaderTimeout || hs.ReadTimeout != d.ReadTimeout || hs.WriteTimeout != d.WriteTimeout || hs.IdleTimeout != d.IdleTimeout {
		t.Errorf("HTTPServer timeouts = %v %v %v %v, want the defaults %v %v %v %v",
			hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout,
			d.ReadHeaderTimeout, d.ReadTimeout, d.WriteTimeout, d.IdleTimeout)
	}
	if d.ReadHeaderTimeout <= 0 || d.ReadTimeout <= 0 || d.WriteTimeout <= 0 || d.IdleTimeout <= 0 || d.MaxBodyBytes != 1<<20 {
		t.Errorf("DefaultOptions = %+v, want positive timeouts and a 1 MiB body limit", d)
	}
	hs = server.New(&canned{}, &server.Options{ReadTimeout: time.Second}).HTTPServer(":0")
	if hs.ReadTimeout != time.Second || hs.WriteTimeout != d.WriteTimeout {
		t.Errorf("HTTPServer with ReadTimeout 1s = %v / %v, want 1s / default", hs.ReadTimeout, hs.WriteTimeout)
	}
}

// Given a RequestTimeout longer than the default WriteTimeout (serve
// --request-timeout 30s), when the server is built, expect a write
// deadline past it: a search allowed 30s must not have its connection cut
// at 10s, unanswered and logged as the client's fault.
func TestWriteTimeoutOutlastsRequestTimeout(t *testing.T) {
	for _, rt := range []time.Duration{30 * time.Second, time.Hour, time.Duration(1<<63 - 1)} {
		hs := server.New(&canned{}, &server.Options{RequestTimeout: rt}).HTTPServer(":0")
		if hs.WriteTimeout <= rt && hs.WriteTimeout != time.Duration(1<<63-1) {
			t.Errorf("HTTPServer with RequestTimeout %v: WriteTimeout %v, want longer", rt, hs.WriteTimeout)
		}
	}
	hs := server.New(&canned{}, &server.Options{RequestTimeout: 30 * time.Second, WriteTimeout: 5 * time.Second}).HTTPServer(":0")
	if hs.WriteTimeout != 5*time.Second {
		t.Errorf("HTTPServer with WriteTimeout 5s = %v, want 5s: an explicit value is kept", hs.WriteTimeout)
	}
}

// Bad input never gets a 500: whatever the body, POST /similar answers
// 200, 400, 404 or 413, always as JSON.
func FuzzPostSimilar(f *testing.F) {
	for _, s := range []string{
		`{"tracks":["a"]}`, `{"features":` + fullFeatures() + `}`, `{"vector":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`,
		`{"vector":[1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38,1e38]}`,
		`{"vector":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"exclude":["a","a"],"exclude_artist":true,"dedupe":false,"k":1000}`,
		`{"features":{"key":-1}}`, `{"k":1e3,"tracks":["a"]}`, `null`, `{}`, `[]`, `"x"`, `{"tracks":null}`,
		`{"features":null,"vector":null}`, `{"features":` + strings.Replace(fullFeatures(), `"mode":1`, `"mode":-0`, 1) + `}`,
	} {
		f.Add(s)
	}
	h := server.New(newEngine(f, ready), nil)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzPost(t, h, "/similar", body, new(server.SimilarResponse))
	})
}

// fixed answers every search with k neighbours of the test catalogue, so
// that a benchmark measures only the server's own work.
func fixed(k int) *canned {
	ts := catalogue()
	c := &canned{res: soundalike.Results{Model: "v1", Query: ts[0]}, stats: soundalike.Stats{ModelVersion: "v1"}}
	for i := range k {
		t := ts[2+i%(len(ts)-2)]
		c.res.Neighbors = append(c.res.Neighbors, soundalike.Neighbor{ID: t.ID, Score: 0.99 - float32(i)*0.001, Track: *t})
	}
	return c
}

// BenchmarkServeHTTPSimilar is the server's overhead per GET /similar
// (k=20) around an instant Searcher: routing, parsing, translating the
// results, encoding, metrics and access logging (to a discarding logger).
func BenchmarkServeHTTPSimilar(b *testing.B) {
	h := server.New(fixed(20), nil)
	req := httptest.NewRequest("GET", "/similar?track=a&k=20", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		h.ServeHTTP(w, req)
	}
	if w.Code != 200 {
		b.Fatalf("GET /similar = %d %s", w.Code, w.Body)
	}
}

// Bad input never gets a 500: whatever the query string, GET /similar
// answers 200, 400 or 404, always as JSON.
func FuzzGetSimilar(f *testing.F) {
	for _, s := range []string{"track=a", "track=a&k=5", "k=0", "track=a&k=99999999999999999999", "track=%zz", "track=a&exclude=,,,&dedupe=0",
		"track=a&exclude_artist=T", "track=a;k=3", "track=a&track=b", "=&&=", "track=nope"} {
		f.Add(s)
	}
	h := server.New(newEngine(f, ready), nil)
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequestWithContext(t.Context(), "GET", "/similar", nil)
		req.URL.RawQuery = q
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 404:
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("GET /similar?%s = %d with invalid JSON %s", q, w.Code, w.Body)
			}
		default:
			t.Fatalf("GET /similar?%s = %d %s, want 200, 400 or 404", q, w.Code, w.Body)
		}
	})
}

// fuzzPost sends body to target as JSON and fails unless the answer is a
// 200 that decodes into ok or a 400, 404 or 413 with a JSON error: bad
// input never gets a 500.
func fuzzPost(t *testing.T, h http.Handler, target, body string, ok any) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), "POST", target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	switch w.Code {
	case 200:
		if err := json.Unmarshal(w.Body.Bytes(), ok); err != nil {
			t.Fatalf("POST %s %q = 200 with invalid JSON %s: %v", target, body, w.Body, err)
		}
	case 400, 404, 413:
		var e map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["error"] == "" {
			t.Fatalf("POST %s %q = %d %s, want {\"error\":…}", target, body, w.Code, w.Body)
		}
	default:
		t.Fatalf("POST %s %q = %d %s, want 200, 400, 404 or 413", target, body, w.Code, w.Body)
	}
}

// GET /similar recycles the storage of its answers: an answer after one
// with more results and every field is what the same query answers first.
func TestGetSimilarRecycledAnswer(t *testing.T) {
	h := server.New(newEngine(t, ready), nil)
	get := func(target string) map[string]any {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), "GET", target, nil))
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); w.Code != 200 || err != nil {
			t.Fatalf("GET %s = %d %s (%v)", target, w.Code, w.Body, err)
		}
		delete(m, "took_us")
		return m
	}
	want := get("/similar?track=a&k=2")
	for range 3 {
		get("/similar?track=x1&k=5&fields=metadata,features")
		if got := get("/similar?track=a&k=2"); !reflect.DeepEqual(got, want) {
			t.Fatalf("after a larger answer, GET /similar?track=a&k=2 = %v, want %v", got, want)
		}
	}
}

// A GET /similar answer, larger than net/http's 2 KiB before it chunks,
// goes out whole with its Content-Length.
func TestGetSimilarContentLength(t *testing.T) {
	ts := httptest.NewServer(server.New(fixed(20), nil))
	defer ts.Close()
	resp, body := send(t, http.MethodGet, ts.URL+"/similar?track=a&k=20&fields=metadata,features", "")
	if resp.StatusCode != 200 || len(body) <= 2048 {
		t.Fatalf("GET /similar = %d, %d bytes: want 200 and over 2 KiB", resp.StatusCode, len(body))
	}
	if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) > 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %v for a %d-byte body: want the length, not chunks", resp.ContentLength, resp.TransferEncoding, len(body))
	}
}

// A POST /similar/batch answer, the largest the server gives, goes out
// whole with its Content-Length as a GET /similar answer does.
func TestSimilarBatchContentLength(t *testing.T) {
	ts := httptest.NewServer(server.New(fixed(20), nil))
	defer ts.Close()
	q := `{"tracks":["a"],"k":20,"fields":["metadata","features"]}`
	resp, body := send(t, http.MethodPost, ts.URL+"/similar/batch", `{"queries":[`+q+`,`+q+`]}`)
	if resp.StatusCode != 200 || len(body) <= 2048 {
		t.Fatalf("POST /similar/batch = %d, %d bytes: want 200 and over 2 KiB", resp.StatusCode, len(body))
	}
	if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) > 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %v for a %d-byte body: want the length, not chunks", resp.ContentLength, resp.TransferEncoding, len(body))
	}
}

// Given any GET route, when asked with HEAD over HTTP (curl -I), expect
// GET's status and Content-Type and no body, as net/http's ServeMux
// answers.
func TestHeadAnswersEveryGet(t *testing.T) {
	srv := server.New(userEngine(t), nil)
	routes := srv.Routes()
	for _, r := range routes {
		if path, ok := strings.CutPrefix(r, "GET "); ok && !slices.Contains(routes, "HEAD "+path) {
			t.Errorf("the server serves %s and not HEAD %s", r, path)
		}
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	for _, target := range []string{
		"/similar?track=a", "/similar?track=nope", "/similar?k=0", "/users/alice/recommend", "/users/alice/history",
		"/tracks?q=song", "/tracks/a", "/healthz", "/readyz", "/model", "/metrics", "/openapi.json", "/map?sample=3", "/",
		"/explorer/explorer.js",
	} {
		get, getBody := send(t, "GET", ts.URL+target, "")
		head, headBody := send(t, "HEAD", ts.URL+target, "")
		if head.StatusCode != get.StatusCode || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") || len(getBody) == 0 {
			t.Errorf("HEAD %s = %d %q, GET = %d %q: want the same status and Content-Type", target,
				head.StatusCode, head.Header.Get("Content-Type"), get.StatusCode, get.Header.Get("Content-Type"))
		}
		if len(headBody) != 0 {
			t.Errorf("HEAD %s answered a %d-byte body, want none", target, len(headBody))
		}
	}
}

// send makes one request, with body as JSON unless it is "", and reads
// the whole answer.
func send(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, answer
}
