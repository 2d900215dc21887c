package weaviate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/weaviate"
)

// The tests of this file publish to stand-in nodes, without a cluster:
// nodes that a new collection's schema reaches late, as Weaviate's Raft
// replicated schema does (the creation returns once the leader has
// applied it; each other node applies it when the leader's next message
// reaches it).

// Weaviate's answers for a collection, Tracks_v1, whose creation has not
// reached a node yet; status_test.go has the others: deleted (the GraphQL
// answer of a node whose schema lacks it) and noSchema (a node's with no
// schema at all).
var (
	// noIndex is a node's answer to a read that needs a shard held by a
	// node that has no index of the collection yet (the shard's node
	// answers `local index "Tracks_v1" not found`, which the node asked
	// passes on, within its explorer's wrapping, as the GraphQL answer's
	// error).
	noIndex = graphQLAnswer{status: http.StatusOK,
		body: `{"data":{"Get":{"Tracks_v1":null}},"errors":[{"locations":[{"column":6,"line":1}],"message":"explorer: list class: search: object search at index tracks_v1: ` +
			`remote shard object search tracks_v1_x1: status code: 422, error: local index \"Tracks_v1\" not found","path":["Get","Tracks_v1"]}]}`}
	// notInSchema is the message of each object of a batch refused by a
	// node that reads the schema locally (COLLECTION_RETRIEVAL_STRATEGY
	// LocalOnly) and has not applied the collection's creation yet.
	notInSchema = "class 'Tracks_v1' not present in schema"
)

// publishNodes are stand-ins for the nodes of a cluster that hold one
// state together: what a publish of a catalogue to alias Tracks reads
// and writes (collections, the alias, objects). After a collection is
// created, they answer the first graphQLLag GraphQL requests (all nodes
// together; -1: every one) with lag, the n-th (from 0) with
// lag[n % len(lag)], and
// refuse every object of the first batchLag batch requests with
// notInSchema: the nodes learn the collection late.
type publishNodes struct {
	urls       []string
	graphQLLag int
	lag        []graphQLAnswer
	batchLag   int

	mu          sync.Mutex
	collections map[string]json.RawMessage // name → schema
	aliases     map[string]string          // alias → collection
	objects     map[string]bool            // the ids of the objects written
	created     bool                       // a collection was created
	graphQL     atomic.Int64               // GraphQL requests since the creation
	batches     atomic.Int64               // batch requests since the creation
}

func newPublishNodes(t *testing.T, nodes, graphQLLag int, lag []graphQLAnswer, batchLag int) *publishNodes {
	t.Helper()
	p := &publishNodes{graphQLLag: graphQLLag, lag: lag, batchLag: batchLag,
		collections: map[string]json.RawMessage{}, aliases: map[string]string{}, objects: map[string]bool{}}
	for range nodes {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body) // only then does the server notice a client that hangs up
			if err != nil {
				return
			}
			status, answer := p.answer(r.Method, r.URL.Path, body)
			if status == http.StatusTeapot {
				t.Errorf("%s %s: the stand-in expects no such request", r.Method, r.URL.Path)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(answer))
		}))
		t.Cleanup(srv.Close)
		p.urls = append(p.urls, srv.URL)
	}
	return p
}

// answer is a node's answer to a request: status and body.
func (p *publishNodes) answer(method, path string, body []byte) (int, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name, isSchema := strings.CutPrefix(path, "/v1/schema/")
	alias, isAlias := strings.CutPrefix(path, "/v1/aliases/")
	switch {
	case method == http.MethodGet && path == "/v1/meta":
		return http.StatusOK, `{"version":"1.35.2"}`
	case method == http.MethodGet && path == "/v1/.well-known/live":
		return http.StatusOK, ``
	case method == http.MethodGet && isSchema:
		if cl, ok := p.collections[name]; ok {
			return http.StatusOK, string(cl)
		}
		return http.StatusNotFound, ``
	case method == http.MethodPost && path == "/v1/schema":
		var cl struct{ Class string }
		if json.Unmarshal(body, &cl) != nil || cl.Class == "" {
			return http.StatusUnprocessableEntity, `{"error":[{"message":"a class without a name"}]}`
		}
		p.collections[cl.Class], p.created = body, true
		return http.StatusOK, string(body)
	case method == http.MethodPut && isSchema:
		p.collections[name] = body
		return http.StatusOK, string(body)
	case method == http.MethodGet && isAlias:
		if target, ok := p.aliases[alias]; ok {
			return http.StatusOK, `{"alias":"` + alias + `","class":"` + target + `"}`
		}
		return http.StatusNotFound, ``
	case method == http.MethodPost && path == "/v1/aliases":
		var a struct{ Alias, Class string }
		json.Unmarshal(body, &a)
		p.aliases[a.Alias] = a.Class
		return http.StatusOK, string(body)
	case method == http.MethodPost && path == "/v1/graphql" && p.created:
		if n := int(p.graphQL.Add(1)); p.graphQLLag < 0 || n <= p.graphQLLag {
			a := p.lag[(n-1)%len(p.lag)]
			return a.status, a.body
		}
		return http.StatusOK, `{"data":{"Get":{"Tracks_v1":[]}}}` // a new collection holds nothing
	case method == http.MethodPost && path == "/v1/batch/objects" && p.created:
		var batch struct{ Objects []struct{ ID string } }
		if err := json.Unmarshal(body, &batch); err != nil {
			return http.StatusUnprocessableEntity, `{"error":[{"message":"a batch that does not parse"}]}`
		}
		lagging := int(p.batches.Add(1)) <= p.batchLag
		results := make([]map[string]any, len(batch.Objects))
		for i, o := range batch.Objects {
			result := map[string]any{}
			if lagging {
				result["errors"] = map[string]any{"error": []map[string]string{{"message": notInSchema}}}
			} else {
				p.objects[o.ID] = true
			}
			results[i] = map[string]any{"id": o.ID, "result": result}
		}
		b, _ := json.Marshal(results)
		return http.StatusOK, string(b)
	}
	return http.StatusTeapot, `{"error":[{"message":"the stand-in expects no such request"}]}`
}

// publishTo publishes the sample catalogue to alias Tracks through the
// stand-in nodes, with ctx, one batch at a time (so that the batch
// requests come in the order sent).
func publishTo(ctx context.Context, t *testing.T, p *publishNodes, eng *soundalike.Engine) (weaviate.PublishSummary, error) {
	t.Helper()
	c, err := weaviate.Dial(p.urls, &weaviate.Options{HedgeDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	return weaviate.Publish(ctx, eng, c, &weaviate.PublishOptions{Alias: "Tracks", Shards: 3, Replicas: 2, InFlight: 1})
}

// TestPublishWaitsForANewCollectionToReachTheNodes: the nodes a new
// collection's schema has not reached yet fail the publish's requests to
// it for a while (each as Weaviate does, by what it lacks); the publish
// sends such a request again until they hold it, and completes. (It
// failed on the first request that every node failed so.)
func TestPublishWaitsForANewCollectionToReachTheNodes(t *testing.T) {
	eng := local(t, catalogue(t))
	tracks := eng.Stats().Indexed
	for _, tc := range []struct {
		name       string
		graphQLLag int
		lag        graphQLAnswer
		batchLag   int
	}{
		// Each node fails the read of what the collection holds, twice.
		{"the nodes' schema lacks it", 6, deleted, 0},
		{"a shard's node has no index of it", 6, noIndex, 0},
		{"the nodes have no schema yet", 6, noSchema, 0},
		// Each node refuses the first batch's every object (as a node
		// that reads the schema locally does), once; then one node only,
		// and the next node takes the batch.
		{"the nodes refuse its objects", 0, healthy, 3},
		{"a node refuses its objects", 0, healthy, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPublishNodes(t, 3, tc.graphQLLag, []graphQLAnswer{tc.lag}, tc.batchLag)
			start := time.Now()
			sum, err := publishTo(t.Context(), t, p, eng)
			t.Logf("%+v, %.600v in %v", sum, err, time.Since(start))
			if err != nil {
				t.Fatalf("Publish while the nodes learn the new collection late = %.600v; want it to wait for them and complete", err)
			}
			if !sum.Created || sum.Added != tracks || sum.Collection != "Tracks_v1" {
				t.Errorf("Publish = %+v; want Tracks_v1 created with all %d tracks added", sum, tracks)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if len(p.objects) != tracks || p.aliases["Tracks"] != "Tracks_v1" || strings.Contains(string(p.collections["Tracks_v1"]), "incomplete") {
				t.Errorf("the cluster holds %d objects, alias Tracks → %q, Tracks_v1's schema %.300s; want %d objects, Tracks → Tracks_v1, marked complete",
					len(p.objects), p.aliases["Tracks"], p.collections["Tracks_v1"], tracks)
			}
		})
	}
}

// TestPublishGivesUpOnANewCollectionTheNodesLack: when the nodes never
// learn the collection the publish created, it fails once a few seconds
// have passed since the creation, saying which nodes lack it and for how
// long, and that a re-run completes the collection; a stop during the
// wait ends it at once; and a failure of another kind is not waited on.
func TestPublishGivesUpOnANewCollectionTheNodesLack(t *testing.T) {
	eng := local(t, catalogue(t))
	for _, tc := range []struct {
		name       string
		graphQLLag int // -1: every GraphQL request lags
		batchLag   int
	}{
		{"the read, never learnt", -1, 0},
		{"the writes, never learnt", 0, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits the whole bound
			p := newPublishNodes(t, 3, tc.graphQLLag, []graphQLAnswer{deleted}, tc.batchLag)
			start := time.Now()
			_, err := publishTo(t.Context(), t, p, eng)
			took := time.Since(start)
			t.Logf("%.1200v in %v", err, took)
			if took < 4*time.Second || took > 8*time.Second {
				t.Errorf("Publish whose new collection no node learns took %v; want about 5s: a few seconds' wait, and no more", took)
			}
			if !errors.Is(err, soundalike.ErrIndexUnavailable) {
				t.Fatalf("Publish whose new collection no node learns = %.600v; want ErrIndexUnavailable", err)
			}
			// What the wait says, before what the nodes said, then what
			// state the collection is left in.
			named, wait, ok := strings.Cut(err.Error(), " lack collection Tracks_v1 ")
			for _, u := range p.urls {
				if !ok || !strings.Contains(named, u) {
					t.Errorf("Publish whose new collection no node learns = %.1200v; want %s named as lacking Tracks_v1", err, u)
				}
			}
			for _, want := range []string{"s after this publish created it (the request was sent again for ", "check those nodes' logs",
				"every weaviate node failed the request", "Tracks_v1 stays marked incomplete", "run `soundalike publish` again"} {
				if !strings.Contains(wait, want) {
					t.Errorf("Publish whose new collection no node learns = %.1200v; want %q in it", err, want)
				}
			}
			if n := p.graphQL.Load() + p.batches.Load(); n < 3*5 {
				t.Errorf("the nodes were sent %d requests for the new collection; want the request sent again while it waited", n)
			}
		})
	}
	t.Run("stopped while it waits", func(t *testing.T) {
		p := newPublishNodes(t, 3, -1, []graphQLAnswer{deleted}, 0)
		interrupt := errors.New("interrupt signal received")
		ctx, stop := context.WithCancelCause(t.Context())
		time.AfterFunc(500*time.Millisecond, func() { stop(interrupt) })
		start := time.Now()
		_, err := publishTo(ctx, t, p, eng)
		took := time.Since(start)
		t.Logf("%.600v in %v", err, took)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), interrupt.Error()) {
			t.Fatalf("Publish stopped while it waited for its new collection = %.600v; want context.Canceled, saying why", err)
		}
		if took > 2*time.Second {
			t.Errorf("Publish stopped 500ms in returned after %v; want the wait ended by the stop", took)
		}
	})

	// Only a request that every node failed for want of the collection is
	// sent again: one that a node fails otherwise, the others lacking the
	// collection, fails the publish at once, after one request to each
	// node.
	for _, other := range []graphQLAnswer{searchFailed, shuttingDown} {
		t.Run(fmt.Sprintf("a node answering %d otherwise", other.status), func(t *testing.T) {
			p := newPublishNodes(t, 3, -1, []graphQLAnswer{other, deleted, deleted}, 0)
			start := time.Now()
			_, err := publishTo(t.Context(), t, p, eng)
			t.Logf("%.600v in %v", err, time.Since(start))
			if err == nil || strings.Contains(err.Error(), "after this publish created it") {
				t.Fatalf("Publish whose read one node failed otherwise and two for want of the collection = %.600v; want it failed, not waiting", err)
			}
			if n := p.graphQL.Load(); n != 3 {
				t.Errorf("Publish whose read one node failed otherwise and two for want of the collection sent %d reads; want 3, one to each node", n)
			}
		})
	}
}
