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
