package weaviate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/weaviate"
)

// The tests of this file run without a cluster: their nodes are
// stand-ins that answer the GraphQL endpoint (searches, counts) with a
// status and body of Weaviate's making.

// graphQLAnswer is how a stand-in answers one GraphQL request: with
// status and body, or, with hold set, not until the client gives up.
type graphQLAnswer struct {
	status int
	body   string
	hold   bool
}

// Weaviate's answers to a GraphQL request (its GraphQL handler and the API
// framework it runs in: adapters/handlers/rest/handlers_graphql.go).
var (
	// healthy answers a count (Aggregate) of Tracks_v1 and a search (Get)
	// of it, whichever was asked.
	healthy = graphQLAnswer{status: http.StatusOK}
	// refused400 is the framework's (go-openapi's) refusal of a body it
	// cannot parse.
	refused400 = graphQLAnswer{status: http.StatusBadRequest,
		body: `{"code":400,"message":"parsing body body from \"\" failed, because unexpected EOF"}`}
	// refused422 is the GraphQL handler's refusal of a request.
	refused422 = graphQLAnswer{status: http.StatusUnprocessableEntity,
		body: `{"error":[{"message":"query cannot be empty"}]}`}
	// noSchema is the GraphQL handler's 422 while the node has no schema
	// (just restarted): its state, which another node may not share.
	noSchema = graphQLAnswer{status: http.StatusUnprocessableEntity,
		body: `{"error":[{"message":"no graphql provider present, this is most likely because no schema is present. Import a schema first!"}]}`}
	// shedding is a node refusing for its load, not for the request.
	shedding = graphQLAnswer{status: http.StatusTooManyRequests, body: `{"error":[{"message":"too many concurrent requests"}]}`}
	// errorPage is a proxy's page in front of a node: never quoted whole.
	errorPage = graphQLAnswer{status: http.StatusBadGateway, body: "<html>" + strings.Repeat("x", 1<<20) + "</html>"}
	// shuttingDown is a 503 with Weaviate's error body: a node that
	// cannot serve the request now, which another node may.
	shuttingDown = graphQLAnswer{status: http.StatusServiceUnavailable,
		body: `{"error":[{"message":"node is shutting down"}]}`}
	holds = graphQLAnswer{hold: true}
	// deleted is the answer of a node whose schema has no Tracks_v1 (deleted
	// since a Source's Ready saw it): a 200 whose errors say so (the
	// GraphQL library's validation: tailor-inc/graphql's
	// UndefinedFieldMessage).
	deleted = graphQLAnswer{status: http.StatusOK,
		body: `{"errors":[{"locations":[{"column":7,"line":1}],"message":"Cannot query field \"Tracks_v1\" on type \"GetObjectsObj\". Did you mean \"Tracks_v2\"?","path":null}]}`}
	// searchFailed is a 200 whose errors say the search failed, with a
	// message longer than an error should quote.
	searchFailed = graphQLAnswer{status: http.StatusOK,
		body: `{"data":{"Get":{"Tracks_v1":null}},"errors":[{"locations":[{"column":6,"line":1}],"message":"explorer: get class: vector search: ` +
			strings.Repeat("x", 1<<20) + `","path":["Get","Tracks_v1"]}]}`}
)

// graphQLNodes are stand-ins for the nodes of a cluster, which answer the
// version request (GET /v1/meta), the schema of the complete collection
// Tracks_v1, and GraphQL requests as answers says: answers[i] is the
// answer to the i-th GraphQL request the nodes receive, together, so that
// a test need not know which node a request goes to first.
type graphQLNodes struct {
	urls  []string
	asked []*atomic.Int64 // each node's GraphQL requests
	total atomic.Int64    // GraphQL requests, all nodes together
	// schemaAsked counts the requests for Tracks_v1's schema (a Source's
	// Ready check), all nodes together.
	schemaAsked atomic.Int64
}

func newGraphQLNodes(t *testing.T, nodes int, answers ...graphQLAnswer) *graphQLNodes {
	t.Helper()
	g := &graphQLNodes{}
	for range nodes {
		asked := new(atomic.Int64)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body) // only then does the server notice a client that hangs up
			if err != nil {
				return
			}
			switch {
			case r.URL.Path == "/v1/meta":
				w.Write([]byte(`{"version":"1.35.2"}`))
				return
			case r.URL.Path == "/v1/schema/Tracks_v1":
				g.schemaAsked.Add(1)
				w.Write([]byte(`{"class":"Tracks_v1","description":"soundalike track embeddings of model v1"}`))
				return
			case r.URL.Path != "/v1/graphql":
				http.NotFound(w, r)
				return
			}
			asked.Add(1)
			n := int(g.total.Add(1))
			if n > len(answers) {
				t.Errorf("GraphQL request %d to %s: the test expects %d", n, r.Host, len(answers))
				http.Error(w, "unexpected request", http.StatusTeapot)
				return
			}
			a := answers[n-1]
			switch {
			case a.hold:
				<-r.Context().Done()
				return
			case a.status == http.StatusOK && a.body != "":
			case a.status == http.StatusOK && strings.Contains(string(body), "Aggregate"):
				a.body = `{"data":{"Aggregate":{"Tracks_v1":[{"meta":{"count":42}}]}}}`
			case a.status == http.StatusOK:
				a.body = `{"data":{"Get":{"Tracks_v1":[{"trackId":"t1","_additional":{"distance":0.25}}]}}}`
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			w.Write([]byte(a.body))
		}))
		t.Cleanup(srv.Close)
		g.urls = append(g.urls, srv.URL)
		g.asked = append(g.asked, asked)
	}
	return g
}

// askedURLs returns the URLs of the nodes that were sent a GraphQL
// request.
func (g *graphQLNodes) askedURLs() []string {
	var out []string
	for i, n := range g.asked {
		if n.Load() > 0 {
			out = append(out, g.urls[i])
		}
	}
	return out
}

// TestGraphQLRefusalFailsAtOnce: a 4xx answer to a count or a search is
// the request's fault, which every node would answer alike, as a 4xx to a
// REST request is. It fails the request at once, hedged or not, naming the
// node and what it said (parsed from its error body), and the other
// nodes, which would answer, are not asked. (A GraphQL 4xx was taken for a
// request that got no answer: the next node was asked, and its answer
// returned.)
func TestGraphQLRefusalFailsAtOnce(t *testing.T) {
	for _, refusal := range []struct {
		answer graphQLAnswer
		want   string
	}{
		{refused400, "status 400: parsing body body from \"\" failed, because unexpected EOF"},
		{refused422, "status 422: query cannot be empty"},
	} {
		for _, tc := range []struct {
			name  string
			hedge time.Duration
			call  func(context.Context, *weaviate.Cluster) error
		}{
			{"Count", -1, func(ctx context.Context, c *weaviate.Cluster) error {
				_, err := c.Count(ctx, "Tracks_v1")
				return err
			}},
			{"hedged Count", 50 * time.Millisecond, func(ctx context.Context, c *weaviate.Cluster) error {
				_, err := c.Count(ctx, "Tracks_v1")
				return err
			}},
			{"Nearest", 50 * time.Millisecond, func(ctx context.Context, c *weaviate.Cluster) error {
				src, err := weaviate.NewSource(c, "Tracks")
				if err != nil {
					return err
				}
				_, err = src.Nearest(ctx, "v1", make([]float32, 64), 10, nil)
				return err
			}},
		} {
			t.Run(tc.name+" answered "+http.StatusText(refusal.answer.status), func(t *testing.T) {
				g := newGraphQLNodes(t, 3, refusal.answer, healthy, healthy)
				c, err := weaviate.Dial(g.urls, &weaviate.Options{HedgeDelay: tc.hedge})
				if err != nil {
					t.Fatal(err)
				}
				err = tc.call(t.Context(), c)
				t.Logf("%v", err)
				asked := g.askedURLs()
				if len(asked) != 1 {
					t.Fatalf("%s that the node asked refused with %d: nodes %v were asked (err %v); want the one", tc.name, refusal.answer.status, asked, err)
				}
				if err == nil || !strings.Contains(err.Error(), "weaviate "+asked[0]+": "+refusal.want) {
					t.Fatalf("%s that node %s refused with %d = %v; want an error naming the node and %q", tc.name, asked[0], refusal.answer.status, err, refusal.want)
				}
				if msg := err.Error(); strings.Contains(msg, "unreachable") || strings.Contains(msg, "every weaviate node") || strings.Contains(msg, "status code:") {
					t.Errorf("%s refused with %d = %v; want neither an unreachable cluster nor every node failing nor the client's raw error", tc.name, refusal.answer.status, err)
				}
				// Nearest's failures are all ErrIndexUnavailable
				// (soundalike.VectorSource); a count's refusal is not.
				if tc.name != "Nearest" && errors.Is(err, soundalike.ErrIndexUnavailable) {
					t.Errorf("%s refused with %d = %v; want no ErrIndexUnavailable: the node answered", tc.name, refusal.answer.status, err)
				}
			})
		}
	}
}

// TestHedgedReadEndsOnARefusal: a hedge that is refused with a 4xx ends
// the read with that refusal: the request it hedged is cancelled, not
// waited for, and no further node is asked.
func TestHedgedReadEndsOnARefusal(t *testing.T) {
	g := newGraphQLNodes(t, 3, holds, refused422, healthy)
	c, err := weaviate.Dial(g.urls, &weaviate.Options{HedgeDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	n, err := c.Count(ctx, "Tracks_v1")
	took := time.Since(start)
	t.Logf("%d, %v in %v; asked %v", n, err, took, g.askedURLs())
	if err == nil || !strings.Contains(err.Error(), "status 422: query cannot be empty") {
		t.Fatalf("Count whose hedge was refused with 422 = %d, %v; want the refusal", n, err)
	}
	if got := g.total.Load(); got != 2 {
		t.Errorf("Count whose hedge was refused with 422 sent %d GraphQL requests; want 2: the held one and its hedge", got)
	}
	if took > 2*time.Second {
		t.Errorf("Count whose hedge was refused with 422 took %v; want it to end with the refusal, not wait for the held request", took)
	}
}

// TestGraphQL5xxSaysTheNodesAnswered: a 5xx answer to a count (a node
// shutting down) moves the request to the next node, and when every node
// answers so, the error says that they failed the request, each with
// what it said, not that the cluster could not be reached.
func TestGraphQL5xxSaysTheNodesAnswered(t *testing.T) {
	for name, hedge := range map[string]time.Duration{"every node": -1, "every node, hedged": weaviate.DefaultHedgeDelay} {
		t.Run(name, func(t *testing.T) {
			g := newGraphQLNodes(t, 3, shuttingDown, shuttingDown, shuttingDown)
			c, err := weaviate.Dial(g.urls, &weaviate.Options{HedgeDelay: hedge})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Count(t.Context(), "Tracks_v1")
			t.Logf("hedge %v: %v", hedge, err)
			if !errors.Is(err, soundalike.ErrIndexUnavailable) || !strings.Contains(err.Error(), "every weaviate node failed the request") ||
				strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "status code:") {
				t.Fatalf("Count that every node answered with 503 (hedge %v) = %v; want ErrIndexUnavailable saying every node failed it, not unreachable", hedge, err)
			}
			for _, u := range g.urls {
				if !strings.Contains(err.Error(), u+": status 503: node is shutting down") {
					t.Errorf("Count that every node answered with 503 (hedge %v) = %v; want %s's status and message", hedge, err, u)
				}
			}
		})
	}

	// The boundary the refusals of TestGraphQLRefusalFailsAtOnce must not
	// cross: a 503, a 429 and a 422 of a node without a schema are the
	// node's failure, and the next node answers.
	for _, first := range []graphQLAnswer{shuttingDown, shedding, noSchema} {
		t.Run(fmt.Sprintf("%d then a healthy node", first.status), func(t *testing.T) {
			g := newGraphQLNodes(t, 3, first, healthy)
			c, err := weaviate.Dial(g.urls, &weaviate.Options{HedgeDelay: -1})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := c.Count(t.Context(), "Tracks_v1"); err != nil || n != 42 {
				t.Errorf("Count that one node answered with %d and the next with 42 = %d, %v; want 42", first.status, n, err)
			}
		})
	}

	// A proxy's error page is cut where the error quotes it.
	t.Run("an error page", func(t *testing.T) {
		g := newGraphQLNodes(t, 3, errorPage, errorPage, errorPage)
		c, err := weaviate.Dial(g.urls, &weaviate.Options{HedgeDelay: -1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Count(t.Context(), "Tracks_v1"); err == nil || len(err.Error()) > 3*1024 {
			t.Errorf("Count that every node answered with a 1 MiB error page: an error of %d bytes; want each node's page cut", len(fmt.Sprint(err)))
		}
	})
}

// TestGraphQLTimeoutSaysTheNodeWasSlow: a node that takes a count and does
// not answer within Options.Timeout was reached: the error says no node
// answered in time, not that the cluster was unreachable, and names the
// request the client gave up on rather than the client's own wrapping.
func TestGraphQLTimeoutSaysTheNodeWasSlow(t *testing.T) {
	g := newGraphQLNodes(t, 1, holds)
	c, err := weaviate.Dial(g.urls, &weaviate.Options{Timeout: 300 * time.Millisecond, HedgeDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Count(t.Context(), "Tracks_v1")
	t.Logf("%v", err)
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || !strings.Contains(err.Error(), "no weaviate node answered the request in time") ||
		strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), g.urls[0]+": Post ") {
		t.Fatalf("Count that the node held past its timeout = %v; want ErrIndexUnavailable saying no node answered in time, naming %s and the request", err, g.urls[0])
	}
}

// TestGraphQLErrors: Weaviate answers a query it cannot run (one of a
// collection its schema does not hold, or whose search failed) with 200
// and the errors in the body. That is the node's state (a shard still
// loading, replicas it cannot reach, a schema a new collection has not
// reached yet): every node is asked, and the error quotes each, cut,
// without a status no node sent. A search of a collection no node holds
// (deleted since the Source's Ready saw it) says to publish the model.
// (Such answers were taken for a node's 500: the error said each node had
// failed with status 500.)
func TestGraphQLErrors(t *testing.T) {
	nearest := func(ctx context.Context, c *weaviate.Cluster) error {
		src, err := weaviate.NewSource(c, "Tracks")
		if err != nil {
			return err
		}
		_, err = src.Nearest(ctx, "v1", make([]float32, 64), 10, nil)
		return err
	}
	count := func(ctx context.Context, c *weaviate.Cluster) error {
		_, err := c.Count(ctx, "Tracks_v1")
		return err
	}
	for _, tc := range []struct {
		name   string
		answer graphQLAnswer
		hedge  time.Duration
		call   func(context.Context, *weaviate.Cluster) error
		node   string // what the error quotes of each node
		more   string // in the error too, when set
	}{
		// A hedged read moves on through race.answer, an unhedged one
		// through do.
		{"Nearest of a deleted collection", deleted, -1, nearest,
			`no collection Tracks_v1 (the node answered: Cannot query field "Tracks_v1" on type "GetObjectsObj".`, "publish model v1 with `soundalike publish`"},
		{"hedged Nearest of a deleted collection", deleted, time.Second, nearest,
			`no collection Tracks_v1 (the node answered: Cannot query field "Tracks_v1"`, "publish model v1 with `soundalike publish`"},
		{"Count of a deleted collection", deleted, -1, count,
			`no collection Tracks_v1 (the node answered: Cannot query field "Tracks_v1"`, ""},
		{"Nearest whose search failed", searchFailed, time.Second, nearest,
			"graphql query of Tracks_v1: explorer: get class: vector search: xxx", ""},
		{"Count whose search failed", searchFailed, -1, count,
			"graphql query of Tracks_v1: explorer: get class: vector search: xxx", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraphQLNodes(t, 3, tc.answer, tc.answer, tc.answer)
			c, err := weaviate.Dial(g.urls, &weaviate.Options{HedgeDelay: tc.hedge})
			if err != nil {
				t.Fatal(err)
			}
			err = tc.call(t.Context(), c)
			if asked := g.askedURLs(); len(asked) != len(g.urls) {
				t.Fatalf("%s: nodes %v were asked (err %.400v); want every node", tc.name, asked, err)
			}
			if !errors.Is(err, soundalike.ErrIndexUnavailable) {
				t.Fatalf("%s = %.400v; want ErrIndexUnavailable", tc.name, err)
			}
			msg := err.Error()
			wants := []string{"every weaviate node failed the request"}
			for _, u := range g.urls {
				wants = append(wants, u+": "+tc.node)
			}
			if tc.more != "" {
				wants = append(wants, tc.more)
			}
			for _, want := range wants {
				if !strings.Contains(msg, want) {
					t.Errorf("%s = %.400v; want %q in it", tc.name, err, want)
				}
			}
			for _, not := range []string{"unreachable", "status 500", "status code:"} {
				if strings.Contains(msg, not) {
					t.Errorf("%s = %.400v; want no %q: the nodes answered 200", tc.name, err, not)
				}
			}
			if len(msg) > 1024*len(g.urls) {
				t.Errorf("%s: an error of %d bytes; want each node's message cut", tc.name, len(msg))
			}
		})
	}
}

// graphQLSource is a Source of alias Tracks over stand-in nodes
// answering as newGraphQLNodes does, without hedging.
func graphQLSource(t *testing.T, nodes int, answers ...graphQLAnswer) (*graphQLNodes, *weaviate.Source) {
	t.Helper()
	g := newGraphQLNodes(t, nodes, answers...)
	c, err := weaviate.Dial(g.urls, &weaviate.Options{HedgeDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	src, err := weaviate.NewSource(c, "Tracks")
	if err != nil {
		t.Fatal(err)
	}
	return g, src
}

// TestSearchFailedOnANodeMovesOn: a node whose search failed (a 200 with
// errors) has the next node asked, whose answer is the query's.
func TestSearchFailedOnANodeMovesOn(t *testing.T) {
	g, src := graphQLSource(t, 2, searchFailed, healthy)
	if _, err := src.Nearest(t.Context(), "v1", make([]float32, 64), 10, nil); err != nil {
		t.Fatalf("Nearest with the first node's search failed and the second healthy = %.400v; want the second's answer", err)
	}
	if asked := g.askedURLs(); len(asked) != 2 {
		t.Fatalf("nodes %v were asked; want both", asked)
	}
}

// TestNearestOfACollectionSomeNodesLack: a node the collection's schema
// has not reached says it has no such collection; when the other nodes
// fail otherwise, the error quotes each and does not say to publish.
func TestNearestOfACollectionSomeNodesLack(t *testing.T) {
	_, src := graphQLSource(t, 3, deleted, shuttingDown, shuttingDown)
	_, err := src.Nearest(t.Context(), "v1", make([]float32, 64), 10, nil)
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || !strings.Contains(fmt.Sprint(err), "no collection Tracks_v1") ||
		!strings.Contains(fmt.Sprint(err), "node is shutting down") || strings.Contains(fmt.Sprint(err), "publish") {
		t.Fatalf("Nearest with one node lacking the collection and two shutting down = %.600v; want ErrIndexUnavailable quoting each, not saying to publish", err)
	}
}

// TestNearestOfADeletedCollectionChecksAgain: a Source trusts a
// collection Ready saw for a few seconds; a query that finds it deleted
// on every node drops that, so the next query asks for its schema again rather than
// query a collection known to be gone (here it was published again, and
// the query is answered).
func TestNearestOfADeletedCollectionChecksAgain(t *testing.T) {
	g, src := graphQLSource(t, 3, deleted, deleted, deleted, healthy)
	q := make([]float32, 64)
	if ns, err := src.Nearest(t.Context(), "v1", q, 10, nil); !errors.Is(err, soundalike.ErrIndexUnavailable) {
		t.Fatalf("Nearest of a deleted collection = %v, %v; want ErrIndexUnavailable", ns, err)
	}
	if got := g.schemaAsked.Load(); got != 1 {
		t.Fatalf("the first Nearest asked for the schema %d times; want 1", got)
	}
	ns, err := src.Nearest(t.Context(), "v1", q, 10, nil)
	if err != nil || len(ns) != 1 || ns[0].ID != "t1" {
		t.Fatalf("Nearest once the collection is back = %v, %v; want t1", ns, err)
	}
	if got := g.schemaAsked.Load(); got != 2 {
		t.Errorf("the Nearest after one that found the collection deleted asked for the schema %d times in all; want 2: Ready checks it again", got)
	}
}

// TestDialNamesEveryMalformedURL: Dial checks every URL before it asks
// any node, and names each malformed one with its position and what is
// accepted, not only the first.
func TestDialNamesEveryMalformedURL(t *testing.T) {
	g := newGraphQLNodes(t, 2)
	urls := []string{g.urls[0], "localhost:8080", g.urls[1], "http://10.0.0.3:8080/v1"}
	c, err := weaviate.Dial(urls, nil)
	if err == nil {
		t.Fatalf("Dial(%q) = %v, nil; want an error", urls, c)
	}
	t.Logf("%v", err)
	for _, want := range []string{
		`weaviate URL 2 of 4, "localhost:8080": want http://host:port or https://host:port`,
		`weaviate URL 4 of 4, "http://10.0.0.3:8080/v1": want http://host:port or https://host:port`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Dial(%q) = %v; want %q in it", urls, err, want)
		}
	}
	for _, good := range g.urls {
		if strings.Contains(err.Error(), good) {
			t.Errorf("Dial(%q) = %v; want the good URL %s not named", urls, err, good)
		}
	}
}
