package weaviate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/weaviate"
)

// threeNodes skips a test that needs the 3-node cluster.
func threeNodes(t *testing.T) []string {
	t.Helper()
	urls, _ := clusterURLs(t)
	if len(urls) != 3 {
		t.Skip("needs the 3-node cluster of scripts/weaviate-test-cluster (SOUNDALIKE_TEST_WEAVIATE=DIR/urls)")
	}
	return urls
}

// proxies puts a slowProxy in front of each node and returns them with
// their URLs.
func proxies(t *testing.T, urls []string) ([]*proxy, []string) {
	var ps []*proxy
	var at []string
	for _, u := range urls {
		p := slowProxy(t, u)
		ps, at = append(ps, p), append(at, p.URL)
	}
	return ps, at
}

// TestSlowNodeIsHedged: with one node of three taking searches and
// holding them for a minute, GET /similar answers 200 every time, the
// queries that ask the slow node first included: after the hedge delay
// the next node is asked too and answers. The searches left at the slow
// node are then cancelled, not held for their minute. (Before hedging, a
// query that asked the slow node first waited for it until the request's
// deadline and answered 503.)
func TestSlowNodeIsHedged(t *testing.T) {
	urls := threeNodes(t)
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})

	slow := slowProxy(t, urls[0])
	hc, err := weaviate.Dial([]string{slow.URL, urls[1], urls[2]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	remote := served(t, path, hc, alias) // ready while every node is quick
	slow.delay.Store(int64(time.Minute))

	const deadline = 5 * time.Second
	srv := httptest.NewServer(server.New(remote, &server.Options{RequestTimeout: deadline}))
	defer srv.Close()
	all := embeddings(t, eng)
	for i := range 6 { // nodes are asked first in turn: the slow one at least twice
		id := all[i*397].id
		start := time.Now()
		resp, err := http.Get(srv.URL + "/similar?track=" + string(id) + "&k=10")
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		t.Logf("query %d: %d in %v (slow node: %d searches received, %d held)", i, resp.StatusCode,
			time.Since(start).Round(time.Millisecond), slow.searches.Load(), slow.inFlight.Load())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /similar with node %s holding searches for a minute: %d %q; want 200 from the other nodes within the %v deadline",
				slow.URL, resp.StatusCode, body.Error, deadline)
		}
	}
	if slow.searches.Load() == 0 {
		t.Fatalf("the slow node %s got no search: the test did not exercise a hedge", slow.URL)
	}
	// Cancelled when another node answered: the client hung up, so the
	// proxy stops holding them long before their minute.
	for until := time.Now().Add(20 * time.Second); slow.inFlight.Load() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(until) {
			t.Fatalf("the slow node still holds %d requests 20s after every query was answered: the requests hedged against were not cancelled",
				slow.inFlight.Load())
		}
	}
}

// TestEveryNodeSlow: when every node takes searches and holds them,
// GET /similar answers 503 at the request's deadline, as without hedging,
// naming every node asked (each was, in turn, after the hedge delay), and
// Nearest's error wraps soundalike.ErrIndexUnavailable and
// context.DeadlineExceeded.
func TestEveryNodeSlow(t *testing.T) {
	urls := threeNodes(t)
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})

	slow, slowURLs := proxies(t, urls)
	sc, err := weaviate.Dial(slowURLs, nil)
	if err != nil {
		t.Fatal(err)
	}
	remote := served(t, path, sc, alias) // ready while every node is quick
	for _, p := range slow {
		p.delay.Store(int64(time.Minute))
	}

	const timeout = time.Second
	srv := httptest.NewServer(server.New(remote, &server.Options{RequestTimeout: timeout}))
	defer srv.Close()
	all := embeddings(t, eng)
	resp, err := http.Get(srv.URL + "/similar?track=" + string(all[0].id))
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	t.Logf("%d %s", resp.StatusCode, body.Error)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.Error, "within "+timeout.String()) {
		t.Fatalf("GET /similar with every node holding searches: %d %q; want 503 saying the nodes did not answer within %v",
			resp.StatusCode, body.Error, timeout)
	}
	for _, u := range slowURLs {
		if !strings.Contains(body.Error, u) {
			t.Errorf("GET /similar with every node holding searches: %q does not name node %s", body.Error, u)
		}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want whole seconds", resp.Header.Get("Retry-After"))
	}

	src, err := weaviate.NewSource(sc, alias)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	_, err = src.Nearest(ctx, sum.Model, all[0].v, 10, nil)
	t.Logf("%v", err)
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Nearest with every node holding searches: %v; want ErrIndexUnavailable and context.DeadlineExceeded", err)
	}
}

// TestHealthySearchSendsOneRequest: through a healthy cluster, each
// search is one request to one node: none waits long enough to be hedged.
// The proxies hold nothing and count the searches they pass on. A search
// that did take as long as the hedge delay (a loaded machine) may have
// been sent to another node too, and only such a one.
func TestHealthySearchSendsOneRequest(t *testing.T) {
	urls := threeNodes(t)
	c, _ := dial(t)
	alias := newAlias(t, c)
	eng := local(t, catalogue(t))
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})

	counted, proxied := proxies(t, urls)
	pc, err := weaviate.Dial(proxied, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := weaviate.NewSource(pc, alias)
	if err != nil {
		t.Fatal(err)
	}
	all := embeddings(t, eng)
	const queries = 300
	allowed, slowest := 0, time.Duration(0)
	for i := range queries {
		// A server's deadline: the hedge delay is the default, not a
		// fraction of a short deadline.
		ctx, cancel := context.WithTimeout(t.Context(), server.DefaultRequestTimeout)
		start := time.Now()
		ns, err := src.Nearest(ctx, sum.Model, all[(i*7919)%len(all)].v, 20, nil)
		took := time.Since(start)
		cancel()
		if err != nil || len(ns) != 20 {
			t.Fatalf("Nearest through a healthy cluster: %d neighbours, %v", len(ns), err)
		}
		slowest = max(slowest, took)
		allowed += min(len(urls)-1, int(took/weaviate.DefaultHedgeDelay))
	}
	var sent int64
	for _, p := range counted {
		sent += p.searches.Load()
	}
	t.Logf("%d searches: %d requests sent; slowest %v; %d hedges allowed for searches that took %v or more",
		queries, sent, slowest.Round(time.Microsecond), allowed, weaviate.DefaultHedgeDelay)
	if sent < queries || sent > int64(queries+allowed) {
		t.Fatalf("%d searches through a healthy cluster sent %d requests; want one each (and at most %d more for the searches as slow as the hedge delay)",
			queries, sent, allowed)
	}
}

// TestSimilarPastDeadlineNamesNodes: when every node takes requests and
// holds them past a search's deadline, Nearest's error is both
// soundalike.ErrIndexUnavailable and context.DeadlineExceeded, and GET
// /similar answers the 503 that names the nodes, with the Retry-After of
// an unavailable index, not the server's own "request timed out". The
// nodes are stand-ins that hold every request until it is cancelled, so
// this runs without a cluster.
func TestSimilarPastDeadlineNamesNodes(t *testing.T) {
	var urls []string
	for range 3 {
		n := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/meta" { // the client asks for the version when it is made (Dial)
				w.Write([]byte(`{"version":"1.35.2"}`))
				return
			}
			io.Copy(io.Discard, r.Body) // only then does the server notice a client that hangs up
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}))
		t.Cleanup(n.Close)
		urls = append(urls, n.URL)
	}
	c, err := weaviate.Dial(urls, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := weaviate.NewSource(c, "")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = src.Nearest(ctx, "v1", make([]float32, 64), 10, nil)
	t.Logf("Nearest: %v", err)
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Nearest past its deadline with every node holding = %v; want ErrIndexUnavailable and context.DeadlineExceeded", err)
	}

	eng, err := soundalike.Open(catalogue(t), &soundalike.Options{Detached: true, VectorSource: src})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	h := server.New(eng, &server.Options{RequestTimeout: timeout})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), "GET", "/similar?track=65RTyZesurf9xxf7FZVL1u", nil)) // the sample's first track
	var body struct{ Error string }
	json.Unmarshal(w.Body.Bytes(), &body)
	t.Logf("GET /similar: %d %s (Retry-After %s)", w.Code, body.Error, w.Header().Get("Retry-After"))
	// The nodes had what was left of the request's timeout when the read
	// began: a little less than timeout.
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(body.Error, "did not answer within ") {
		t.Fatalf("GET /similar with every node holding searches: %d %q; want 503 saying the nodes did not answer in the %v the request had", w.Code, body.Error, timeout)
	}
	for _, u := range urls {
		if !strings.Contains(body.Error, u) {
			t.Errorf("GET /similar with every node holding searches: %q does not name node %s", body.Error, u)
		}
	}
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want whole seconds", w.Header().Get("Retry-After"))
	}
}
