package weaviate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/weaviate"
)

// TestPublishReportsObjectErrors: a batch the cluster takes but whose
// objects it refuses one by one (vectors of another dimension than the
// collection's) fails the publish with what the cluster said of which
// track, not as an unreachable cluster.
func TestPublishReportsObjectErrors(t *testing.T) {
	c, _ := dial(t)
	urls, _ := clusterURLs(t)
	alias := newAlias(t, c)
	eng := local(t, catalogue(t))
	info, err := eng.Model(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The model version's collection, made by hand with one shard of
	// 3-dimensional vectors: every 64-dimensional one publish sends is
	// refused.
	collection := weaviate.CollectionName(alias, info.Version)
	post := func(path, body string) {
		resp, err := http.Post(urls[0]+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	post("/v1/schema", `{"class":"`+collection+`","vectorizer":"none","replicationConfig":{"factor":2},"shardingConfig":{"desiredCount":1},
		"properties":[{"name":"trackId","dataType":["text"]},{"name":"contentHash","dataType":["text"]}]}`)
	post("/v1/objects", `{"class":"`+collection+`","vector":[1,0,0]}`)

	_, err = weaviate.Publish(context.Background(), eng, c, &weaviate.PublishOptions{Alias: alias, BatchSize: 100, InFlight: 1})
	t.Logf("%v", err)
	first := embeddings(t, eng)[0].id
	if err == nil || strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), string(first)) ||
		!strings.Contains(err.Error(), "length") || !strings.Contains(err.Error(), collection) {
		t.Fatalf("publish of 64-dimensional vectors into a collection of 3: %v; want an error naming %s, track %s and what the cluster said", err, collection, first)
	}
	if n := strings.Count(err.Error(), "http://"); n != 1 {
		t.Fatalf("publish of refused objects: %v; want the answer of the one node asked (names %d node URLs), not the batch sent to every node", err, n)
	}
}

// TestSlowNodeTimesOutSimilar: a node that takes the connection but
// answers late fails GET /similar with a 503 that names the node, the
// collection and the time the node was given, not the server's own
// timeout message.
func TestSlowNodeTimesOutSimilar(t *testing.T) {
	c, _ := dial(t)
	urls, _ := clusterURLs(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})

	slow := slowProxy(t, urls[0])
	sc, err := weaviate.Dial([]string{slow.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	remote := served(t, path, sc, alias) // ready while the node is quick
	slow.delay.Store(int64(time.Minute))

	const timeout = time.Second
	srv := httptest.NewServer(server.New(remote, &server.Options{RequestTimeout: timeout}))
	defer srv.Close()
	start := time.Now()
	resp, err := http.Get(srv.URL + "/similar?track=" + string(embeddings(t, eng)[0].id))
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	t.Logf("%v: %d %s", time.Since(start), resp.StatusCode, body.Error)
	// The node's call begins a moment after the request's timeout starts,
	// so it was given a little less than the timeout: 1s, or 999ms.
	_, after, _ := strings.Cut(body.Error, "within ")
	had, _, _ := strings.Cut(after, ",")
	given, err := time.ParseDuration(had)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.Error, slow.URL) ||
		!strings.Contains(body.Error, sum.Collection) || err != nil || given > timeout || given < timeout-100*time.Millisecond {
		t.Fatalf("GET /similar through a node that answers late: %d %q; want 503 naming node %s, collection %s and the %v it had",
			resp.StatusCode, body.Error, slow.URL, sum.Collection, timeout)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("GET /similar through a node that answers late: Retry-After %q, want whole seconds", resp.Header.Get("Retry-After"))
	}
}

// proxy is a proxy in front of a node that holds each request for delay
// (0 at first) before passing it on, and counts what it gets.
type proxy struct {
	*httptest.Server
	delay    atomic.Int64 // nanoseconds
	searches atomic.Int64 // GraphQL requests (searches, counts) received
	inFlight atomic.Int64 // requests received and not yet answered or given up
}

// slowProxy is a proxy in front of the node at nodeURL.
func slowProxy(t *testing.T, nodeURL string) *proxy {
	t.Helper()
	node, err := url.Parse(nodeURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{}
	rp := httputil.NewSingleHostReverseProxy(node)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.inFlight.Add(1)
		defer p.inFlight.Add(-1)
		if r.URL.Path == "/v1/graphql" {
			p.searches.Add(1)
		}
		// Read the body first: only then does the server notice a client
		// that hangs up (and end r's context).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-time.After(time.Duration(p.delay.Load())):
		case <-r.Context().Done():
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// TestTimeoutBoundsARequest: a node that takes a request and does not
// answer fails it after Options.Timeout, and the next node answers; with
// no other node, the error names the node. (Without the timeout a publish
// waited for as long as a node held a batch: minutes, when a replica died
// mid-write.) Reads do not hedge here, so that the timeout is what moves
// the read on.
func TestTimeoutBoundsARequest(t *testing.T) {
	c, _ := dial(t)
	urls, _ := clusterURLs(t)
	alias := newAlias(t, c)
	sum := publish(t, local(t, catalogue(t)), c, &weaviate.PublishOptions{Alias: alias})
	slow := slowProxy(t, urls[0])
	slow.delay.Store(int64(30 * time.Second))
	opts := &weaviate.Options{Timeout: time.Second, HedgeDelay: -1}
	both, err := weaviate.Dial([]string{slow.URL, urls[1]}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // each node first once
		if n, err := both.Count(t.Context(), sum.Collection); err != nil || n != sum.Tracks {
			t.Fatalf("Count through a node that does not answer and one that does = %d, %v; want %d", n, err, sum.Tracks)
		}
	}
	alone, err := weaviate.Dial([]string{slow.URL}, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = alone.Count(t.Context(), sum.Collection)
	t.Logf("%v", err)
	if err == nil || !strings.Contains(err.Error(), slow.URL) || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("Count through a node that does not answer = %v; want a timeout naming %s", err, slow.URL)
	}
}

// TestStoppedPublishSaysHowToComplete: a publish stopped half way (an
// interrupt) says that the collection stays incomplete and that running
// soundalike publish again completes it.
func TestStoppedPublishSaysHowToComplete(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	interrupt := errors.New("interrupt signal received")
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	sum, err := weaviate.Publish(ctx, eng, c, &weaviate.PublishOptions{Alias: alias, BatchSize: 400, InFlight: 1, Progress: func(done, total int) {
		if done >= 800 {
			stop(interrupt)
		}
	}})
	t.Logf("%v", err)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), interrupt.Error()) ||
		!strings.Contains(err.Error(), sum.Collection+" stays marked incomplete") || !strings.Contains(err.Error(), "run `soundalike publish` again") {
		t.Fatalf("publish stopped half way: %v; want context.Canceled, saying why, that %s stays incomplete and to run `soundalike publish` again",
			err, sum.Collection)
	}
	// A stop during the publish of changes to a complete collection
	// leaves it complete but behind: the message says so.
	publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	all := embeddings(t, eng)
	eng, _, _, _ = change(t, path, all)
	ctx, stop = context.WithCancelCause(context.Background())
	_, err = weaviate.Publish(ctx, eng, c, &weaviate.PublishOptions{Alias: alias, BatchSize: 1000, Progress: func(done, total int) {
		if done >= 1000 {
			stop(interrupt)
		}
	}})
	t.Logf("%v", err)
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "incomplete") || !strings.Contains(err.Error(), "run `soundalike publish` again") {
		t.Fatalf("publish of changes stopped: %v; want context.Canceled and to run `soundalike publish` again", err)
	}
}

// TestPublishWhenANodeDies kills a node of the cluster during a publish:
// the error names that node and says what to do; a re-run while the node
// is down says the same, and one after the node is back completes the
// collection with every track, once.
func TestPublishWhenANodeDies(t *testing.T) {
	c, dir := dial(t)
	if dir == "" || len(c.URLs()) != 3 {
		t.Skip("needs the 3-node cluster of scripts/weaviate-test-cluster (SOUNDALIKE_TEST_WEAVIATE=DIR/urls)")
	}
	// A batch whose replica dies under it can be held by its coordinator
	// until the client's timeout: a short one keeps the test short.
	c, err := weaviate.Dial(c.URLs(), &weaviate.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	alias := newAlias(t, c)
	eng := local(t, catalogue(t))
	all := embeddings(t, eng)
	script, err := filepath.Abs("../scripts/weaviate-test-cluster")
	if err != nil {
		t.Fatal(err)
	}
	dead := c.URLs()[2]
	t.Cleanup(func() { // whatever happens, the next test gets 3 nodes
		if out, err := exec.Command(script, "start-node", dir, "3").CombinedOutput(); err != nil {
			t.Errorf("start-node 3: %v\n%s", err, out)
		}
	})
	kill := func() {
		// It runs in Progress: t.Error, not t.Fatal, and the checks of
		// the publish's error fail.
		b, err := os.ReadFile(filepath.Join(dir, "node3.pid"))
		if err != nil {
			t.Error(err)
			return
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Error(err)
			return
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Errorf("kill node 3 (pid %d): %v", pid, err)
			return
		}
		// Until it has exited, start-node takes it for running.
		for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("node 3 (pid %d) still runs 10s after SIGKILL", pid)
				return
			}
		}
	}
	var once sync.Once
	sum, err := weaviate.Publish(context.Background(), eng, c, &weaviate.PublishOptions{Alias: alias, Replicas: 2, BatchSize: 200, InFlight: 1,
		Progress: func(done, total int) {
			if done >= 400 {
				once.Do(kill)
			}
		}})
	check := func(when string, err error, want ...string) {
		t.Helper()
		t.Logf("%s: %v", when, err)
		if err == nil || strings.Contains(err.Error(), "cluster unreachable") || !strings.Contains(err.Error(), "run `soundalike publish` again") ||
			slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(err.Error(), w) }) {
			t.Fatalf("publish %s: %v; want an error naming %q and saying what to do", when, err, want)
		}
	}
	check("with node 3 killed during it", err, dead+" (", "does not answer", sum.Collection+" stays marked incomplete")
	_, err = weaviate.Publish(context.Background(), eng, c, &weaviate.PublishOptions{Alias: alias})
	check("again while node 3 is down", err, dead+" (", "does not answer")

	if out, err := exec.Command(script, "start-node", dir, "3").CombinedOutput(); err != nil {
		t.Fatalf("start-node 3: %v\n%s", err, out)
	}
	again := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	if again.Added+again.Unchanged != len(all) || !again.Switched {
		t.Fatalf("the run after node 3 came back: %+v", again)
	}
	if n, err := c.Count(context.Background(), again.Collection); err != nil || n != len(all) {
		t.Fatalf("collection holds %d objects (%v), want %d", n, err, len(all))
	}
}

// TestDialAsksTheNodesAtOnce: the Weaviate client asks a node for its
// version when it is made, and a node that takes the request and does not
// answer holds it for the request timeout; Dial makes the nodes' clients at
// once, so such nodes cost one timeout, not one each. The nodes here answer
// only when all three requests are in flight together.
func TestDialAsksTheNodesAtOnce(t *testing.T) {
	const nodes = 3
	var mu sync.Mutex
	inFlight, most := 0, 0
	all := make(chan struct{})
	var urls []string
	for range nodes {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			if inFlight == nodes {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
			case <-r.Context().Done():
			}
			mu.Lock()
			inFlight--
			mu.Unlock()
			http.Error(w, "not a weaviate node", http.StatusServiceUnavailable)
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	if _, err := weaviate.Dial(urls, &weaviate.Options{Timeout: 3 * time.Second}); err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if most != nodes {
		t.Errorf("Dial had at most %d of the %d nodes' version requests in flight at once, want all", most, nodes)
	}
}

// TestDialDoesNotWaitForASilentNode: a node that takes the version request
// (GET /v1/meta) the client sends when it is made, and does not answer it,
// held Dial for the whole request timeout although the other nodes had
// answered. Dial returns once they have; until the silent node answers,
// requests pass it by without sending it anything, a request that every
// other node fails names it, and once it answers it is asked in turn.
func TestDialDoesNotWaitForASilentNode(t *testing.T) {
	const timeout = 5 * time.Second
	wake := make(chan struct{})
	answering := make(chan struct{})
	close(answering)
	silent := standInNode(t, wake)
	wakeUp := sync.OnceFunc(func() { close(wake) })
	t.Cleanup(wakeUp) // before the stand-in closes, which waits for its requests
	urls := []string{silent.URL, standInNode(t, answering).URL, standInNode(t, answering).URL}

	start := time.Now()
	c, err := weaviate.Dial(urls, &weaviate.Options{Timeout: timeout})
	took := time.Since(start)
	t.Logf("Dial took %v", took)
	if err != nil {
		t.Fatal(err)
	}
	if took > 2*time.Second {
		t.Fatalf("Dial with node %s silent and 2 nodes answering took %v; want well within the %v request timeout (under 2s)", silent.URL, took, timeout)
	}
	if got := c.URLs(); !slices.Equal(got, urls) {
		t.Errorf("URLs() = %v, want %v", got, urls)
	}

	for range len(urls) { // each node first once
		if n, err := c.Nodes(t.Context()); err != nil || n != 3 {
			t.Fatalf("Nodes with node %s silent = %d, %v; want 3 from the other nodes", silent.URL, n, err)
		}
	}
	_, err = c.Count(t.Context(), "Tracks") // the stand-ins fail searches and counts
	t.Logf("Count: %v", err)
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || !strings.Contains(err.Error(), silent.URL+": has not answered the version request") {
		t.Errorf("Count that every answering node fails = %v; want ErrIndexUnavailable saying that %s has not answered its version request", err, silent.URL)
	}
	if n := silent.asked.Load(); n != 0 {
		t.Fatalf("the silent node was sent %d requests before it answered its version request; want them passed on to the others", n)
	}

	wakeUp()
	for until := time.Now().Add(timeout); silent.asked.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(until) {
			t.Fatalf("node %s answered its version request, and %v later it has been sent no request", silent.URL, timeout)
		}
		if n, err := c.Nodes(t.Context()); err != nil || n != 3 {
			t.Fatalf("Nodes once node %s answered = %d, %v; want 3", silent.URL, n, err)
		}
	}
}

// standIn is a stand-in for a Weaviate node, for tests of how requests
// are spread over the nodes.
type standIn struct {
	*httptest.Server
	asked atomic.Int64 // requests received, the version request (GET /v1/meta) aside
}

// standInNode starts a standIn. It holds each request until hold is
// closed, then answers the version request and the nodes' status (GET
// /v1/nodes: 3 nodes), and fails anything else with a 503.
func standInNode(t *testing.T, hold <-chan struct{}) *standIn {
	n := &standIn{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/meta" {
			n.asked.Add(1)
		}
		io.Copy(io.Discard, r.Body) // only then does the server notice a client that hangs up
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		switch r.URL.Path {
		case "/v1/meta":
			w.Write([]byte(`{"version":"1.33.0"}`))
		case "/v1/nodes":
			w.Write([]byte(`{"nodes":[{"name":"node1"},{"name":"node2"},{"name":"node3"}]}`))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":[{"message":"a stand-in answers no search"}]}`))
		}
	}))
	t.Cleanup(n.Close)
	return n
}
