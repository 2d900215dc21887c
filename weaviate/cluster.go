// Package weaviate publishes soundalike's embeddings to a Weaviate cluster
// and answers the nearest-neighbour step of a search from it (a
// soundalike.VectorSource), so that the index lives in a sharded,
// replicated vector database rather than in each serve process.
//
// A published catalogue is one collection per model version, named
// <alias>_<version> (Tracks_v3), and an alias (Tracks) that points to the
// last one published completely. Each object's UUID derives from its track
// id, and its properties hold a hash of what was sent, so the collection
// itself is the published state: a re-run compares the catalogue with it
// and sends only the difference (see Publish).
package weaviate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/printable"
)

// Options configure Dial. A nil *Options or a zero field means the default.
type Options struct {
	// Timeout bounds one request to a node. Default DefaultTimeout.
	Timeout time.Duration
	// DialTimeout bounds connecting to a node. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// HedgeDelay is how long a read (a search, a lookup of a collection,
	// an alias, a count) waits for the node asked before it asks the next
	// node too: the first answer wins and the other requests are
	// cancelled, so a node that takes requests but answers late costs a
	// search HedgeDelay, not its whole deadline. Writes and deletes are
	// never sent twice. A read hedges no later than halfway to its
	// context's deadline, so the node asked next still has time to answer.
	// Hedges are capped per Cluster, so that a cluster slow as a whole is
	// not sent more than it can bear: they add at most a tenth to its
	// reads, after a burst of ten, and a hedge that its node answers within
	// HedgeDelay costs nothing (one node was slow, not the cluster). A read
	// that finds the budget spent waits for the node it asked. Dial, too,
	// waits HedgeDelay for the nodes slower than the first to answer the
	// version request, and no longer (see Dial).
	// Default DefaultHedgeDelay; negative: never hedge (a read moves to the
	// next node only when a node fails or its Timeout passes, and Dial waits
	// for every node).
	HedgeDelay time.Duration
}

// Default option values.
const (
	// DefaultTimeout: a batch of objects replicated to every replica takes
	// a while under load.
	DefaultTimeout     = 30 * time.Second
	DefaultDialTimeout = 2 * time.Second
	// DefaultHedgeDelay is fixed, several times a healthy search's p99
	// through a 3-node cluster at 1M tracks on two cores shared with the
	// client (the figure is in docs/benchmarks.md; on a LAN of real
	// machines it is lower). So a healthy cluster's searches do not hedge
	// and see no extra request. It is an eighth of serve's default
	// 2 s deadline, so a search that meets a slow node still answers well
	// within it. A delay derived from observed latency (a running p95)
	// would by design hedge the slowest twentieth of a healthy cluster's
	// searches, and it would drift up with a node that turns slow.
	DefaultHedgeDelay = 250 * time.Millisecond
)

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Timeout <= 0 {
		out.Timeout = DefaultTimeout
	}
	if out.DialTimeout <= 0 {
		out.DialTimeout = DefaultDialTimeout
	}
	if out.HedgeDelay == 0 {
		out.HedgeDelay = DefaultHedgeDelay
	}
	return out
}

// Cluster is a connection to the nodes of one Weaviate cluster. A request
// goes to the next node in turn and, when that node cannot be reached, to
// the others: any node answers for the whole cluster. A read also goes to
// the next node when the one asked is slow to answer (Options.HedgeDelay).
// It is safe for concurrent use.
type Cluster struct {
	nodes  []node
	next   atomic.Uint32
	hedge  time.Duration // Options.HedgeDelay; negative: never
	budget hedgeBudget   // what hedges may still add (see hedgeCost)
}

// node is one node of a Cluster: its URL, and its Weaviate client once
// made. Making the client asks the node for its version (see Dial), so a
// node that has not answered that request yet has no client: a request
// passes it by as one that could not answer (errNoVersionYet).
type node struct {
	url  string
	made atomic.Pointer[nodeClient] // nil until the client is made
}

// nodeClient is what making a node's Weaviate client gave: the client, or
// the error that made none.
type nodeClient struct {
	wc  *client.Client
	err error
}

// errNoVersionYet is the failure of a node asked before it answered the
// version request that making its client sends.
var errNoVersionYet = errors.New("has not answered the version request Dial sent it (GET /v1/meta) yet")

// client returns the node's Weaviate client, or errNoVersionYet while it
// is being made.
func (n *node) client() (*client.Client, error) {
	m := n.made.Load()
	if m == nil {
		return nil, errNoVersionYet
	}
	return m.wc, m.err
}

// Dial connects to a cluster through the nodes' HTTP URLs
// (http://host:port). It fails only on malformed URLs, naming each with its
// position in urls, before it sends anything: a node that cannot be
// reached fails the requests sent to it, and a cluster none of whose
// nodes can be reached fails the first request, naming the URLs tried.
//
// The Weaviate client asks a node for its version (GET /v1/meta) when it
// is made. Dial makes the nodes' clients at once and returns when every
// node has answered that request or failed it, or, when some node has not,
// once one node answered with its version and the others have had
// Options.HedgeDelay more (with hedging off, Dial waits for every node). So
// a node that takes the request and does not answer holds Dial for
// Options.Timeout only when no node answers. A node still silent when Dial
// returns has its client made in the background: until its version
// request is answered or times out, requests pass it by at once, as a
// node that could not answer, and then it is asked in turn with the
// others. (The requests this package sends do not depend on the version:
// the client uses it only for its object, reference and gRPC APIs.)
func Dial(urls []string, opts *Options) (*Cluster, error) {
	o := opts.withDefaults()
	parsed, err := parseNodeURLs(urls)
	if err != nil {
		return nil, err
	}
	// One transport holds the connections to every node.
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.DialTimeout}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &Cluster{hedge: o.HedgeDelay, nodes: make([]node, len(parsed))}
	c.budget.tokens.Store(hedgeFull)
	answered := make(chan bool, len(parsed)) // each node's, when its client is made: whether it answered with its version
	for i, u := range parsed {
		n := &c.nodes[i]
		n.url = u.Scheme + "://" + u.Host
		go func() { answered <- n.connect(u, transport, o.Timeout) }()
	}
	awaitVersions(answered, len(parsed), o.HedgeDelay)
	return c, nil
}

// parseNodeURLs parses the nodes' URLs, each http://host:port or
// https://host:port. It reports every malformed URL in one error, each
// with its position in urls, so that a list with several is fixed in one
// go.
func parseNodeURLs(urls []string) ([]*url.URL, error) {
	if len(urls) == 0 {
		return nil, errors.New("weaviate: no node URL given")
	}
	parsed := make([]*url.URL, len(urls))
	var errs []error
	for i, raw := range urls {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("weaviate URL %d of %d, %q: want http://host:port or https://host:port", i+1, len(urls), raw))
			continue
		}
		parsed[i] = u
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return parsed, nil
}

// connect makes n's Weaviate client for the node at u, which asks the
// node for its version before it returns, and reports whether the node
// answered with one. The client's requests, the version request too, go
// through transport and are bounded by timeout.
func (n *node) connect(u *url.URL, transport http.RoundTripper, timeout time.Duration) (answered bool) {
	// The client carries the timeout: Weaviate's client applies its
	// Config.Timeout only to a client of its own making. A node that takes
	// a request and never answers (a coordinator waiting on a replica that
	// died mid-write) then fails it, and the next node is tried.
	probe := &versionProbe{RoundTripper: transport}
	hc := &http.Client{Timeout: timeout, Transport: probe}
	wc, err := client.NewClient(client.Config{Host: u.Host, Scheme: u.Scheme, ConnectionClient: hc, Timeout: timeout})
	hc.Transport = transport // the version request is over: the client's later requests skip probe
	n.made.Store(&nodeClient{wc: wc, err: err})
	return probe.answered
}

// versionProbe is a node's transport while its client is made, when the
// only request sent is the one asking the node for its version. It
// records whether the node answered with one (200 OK).
type versionProbe struct {
	http.RoundTripper
	answered bool
}

func (p *versionProbe) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.RoundTripper.RoundTrip(req)
	p.answered = err == nil && resp.StatusCode == http.StatusOK
	return resp, err
}

// awaitVersions waits for the nodes' clients to be made (answered gives
// one value a node, true when it answered with its version) until all
// of them are, or until grace has passed since the first node answered
// with its version: a node slower than that to answer is slow, as a read
// hedges against one slower than the hedge delay. A negative grace waits
// for all.
func awaitVersions(answered <-chan bool, nodes int, grace time.Duration) {
	var graceOver <-chan time.Time
	for range nodes {
		select {
		case ok := <-answered:
			if ok && graceOver == nil && grace >= 0 {
				t := time.NewTimer(grace)
				defer t.Stop()
				graceOver = t.C
			}
		case <-graceOver:
			return
		}
	}
}

// ParseURLs splits a comma-separated list of node URLs (the --weaviate
// flag), or reads them one a line from a file when the value names one
// (scripts/weaviate-test-cluster's DIR/urls).
func ParseURLs(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// URLs returns the nodes' URLs.
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.nodes))
	for i := range c.nodes {
		out[i] = c.nodes[i].url
	}
	return out
}

// do runs fn on one node after another, starting with the next in turn,
// until one answers: fn's error says whether the node could not answer
// (unreachable: then the next is tried) or answered with a failure that
// any node would give, a 4xx (returned at once, naming the node, the
// status and what the node said). When no node answers, or every node
// answers with a 5xx, the error wraps soundalike.ErrIndexUnavailable and
// names every URL tried with what went wrong there. A request that only
// reads goes through read instead, which does not wait for a slow node.
//
// A ctx that ends while a node has not answered ends the request. A
// cancellation is the caller's and is returned as it is. A deadline that
// passes is the node's failure to answer in time: the error wraps both
// soundalike.ErrIndexUnavailable and context.DeadlineExceeded, and names
// the node and the time it had, so that a caller can tell its own
// deadline passed and a server can answer that the vector database is
// what was slow (the server checks ErrIndexUnavailable before its own
// timeout).
func (c *Cluster) do(ctx context.Context, fn func(*client.Client) error) error {
	began := time.Now()
	start := int(c.next.Add(1))
	var failed failures
	for i := range c.nodes {
		n := &c.nodes[(start+i)%len(c.nodes)]
		wc, err := n.client()
		if err == nil {
			err = fn(wc)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ended(ctx, began, n.url)
		}
		if !unreachable(err) {
			return fmt.Errorf("weaviate %s: %w", n.url, cause(err))
		}
		failed.add(n.url, err)
	}
	return failed.err()
}

// failures are the errors of the nodes that could not answer a request.
type failures struct {
	errs         []error
	answered     bool     // a node answered, with a failure
	timedOut     bool     // a node took the request, or Dial's version request, and did not answer in time
	noCollection int      // nodes that said the collection is no field of their schema
	lacking      []string // the URLs of the nodes that failed because they lack the collection (lacksCollection)
}

func (f *failures) add(url string, err error) {
	we := clientError(err)
	gf, graphqlFailed := errors.AsType[*graphqlFailure](err)
	if graphqlFailed && gf.noCollection {
		f.noCollection++
	}
	if lacksCollection(err) {
		f.lacking = append(f.lacking, url)
	}
	_, refused := errors.AsType[*objectsRefused](err)
	f.answered = f.answered || graphqlFailed || refused || we != nil && we.DerivedFromError == nil && we.StatusCode > 0
	var ne net.Error
	c := cause(err)
	f.timedOut = f.timedOut || errors.As(c, &ne) && ne.Timeout() || errors.Is(c, context.DeadlineExceeded) || errors.Is(c, errNoVersionYet)
	f.errs = append(f.errs, fmt.Errorf("%s: %w", url, c))
}

// err is the error of a request that every node failed. "Unreachable" is
// said only when no node took it: a node that timed out was reached, and
// was slow (a coordinator waiting for a replica that died, say), and one
// that has not answered Dial's version request yet is slow to answer or
// to connect to. When every node said the collection is no field of its
// schema, the error wraps errNoCollection. When every node failed because
// it lacks the collection, the error is a *collectionLacking naming them.
func (f *failures) err() error {
	err := f.why()
	if len(f.lacking) > 0 && len(f.lacking) == len(f.errs) {
		return &collectionLacking{nodes: f.lacking, err: err}
	}
	return err
}

// why is err's error, before it names the nodes that lack the collection.
func (f *failures) why() error {
	switch {
	case f.noCollection > 0 && f.noCollection == len(f.errs):
		return fmt.Errorf("%w: every weaviate node failed the request (%w): %w", soundalike.ErrIndexUnavailable, errNoCollection, errors.Join(f.errs...))
	case f.answered:
		return fmt.Errorf("%w: every weaviate node failed the request: %w", soundalike.ErrIndexUnavailable, errors.Join(f.errs...))
	case f.timedOut:
		return fmt.Errorf("%w: no weaviate node answered the request in time: %w", soundalike.ErrIndexUnavailable, errors.Join(f.errs...))
	}
	return fmt.Errorf("%w: weaviate cluster unreachable: %w", soundalike.ErrIndexUnavailable, errors.Join(f.errs...))
}

// collectionLacking is the failure of a request that every node failed
// because it lacks the collection (lacksCollection): the schema of a
// collection just created has not reached them yet, or the collection is
// gone. Its message is err's; it adds the nodes, for a publish that waits
// for them to learn a collection it created (Cluster.doOnCollection).
type collectionLacking struct {
	nodes []string // their URLs
	err   error
}

func (e *collectionLacking) Error() string { return e.err.Error() }
func (e *collectionLacking) Unwrap() error { return e.err }

// lacksCollection reports whether a node's failure says that the node, or
// a node it asked for a shard, does not hold the collection the request
// names, which is what a node that has not applied the collection's
// creation yet answers (the schema reaches the nodes through Raft, one
// after another): a GraphQL answer saying so (graphqlFailure), the
// GraphQL handler's 422 of a node with no schema at all, a batch whose
// every refused object the node refused for want of the collection
// (objectsRefused).
func lacksCollection(err error) bool {
	if gf, ok := errors.AsType[*graphqlFailure](err); ok {
		return gf.noCollection || gf.noIndex
	}
	if r, ok := errors.AsType[*objectsRefused](err); ok {
		return r.noCollection
	}
	we := clientError(err)
	return we != nil && we.DerivedFromError == nil && noSchema(we)
}

// ended is the error of a request, begun at began, that ctx ended while
// the nodes at urls had not answered it (see do).
func ended(ctx context.Context, began time.Time, urls ...string) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("weaviate %s: %w", strings.Join(urls, ", "), ctx.Err())
	}
	had := time.Since(began)
	if dl, ok := ctx.Deadline(); ok {
		had = max(0, dl.Sub(began))
	}
	had = roundWait(had)
	if len(urls) == 1 {
		return fmt.Errorf("%w: weaviate node %s did not answer within %v, the time it was given (%w): check that node's load and log",
			soundalike.ErrIndexUnavailable, urls[0], had, context.DeadlineExceeded)
	}
	return fmt.Errorf("%w: weaviate nodes %s did not answer within %v, the time the request was given (%w): check those nodes' load and logs",
		soundalike.ErrIndexUnavailable, strings.Join(urls, ", "), had, context.DeadlineExceeded)
}

// roundWait rounds a time waited for an error message: to 100 ms from a
// second up, to the millisecond below.
func roundWait(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// unreachable reports whether err means the node could not answer (a
// connection failure, a timeout, a 5xx of a node that is shutting down
// or has lost its replicas, or a node that has not answered Dial's version
// request yet, a GraphQL answer with errors: a *graphqlFailure, or a batch
// whose objects the node refused for want of the collection), so another
// node should be asked. A 4xx is the request's fault: any node would
// answer it so.
func unreachable(err error) bool {
	if errors.Is(err, errNoVersionYet) {
		return true
	}
	if _, ok := errors.AsType[*graphqlFailure](err); ok {
		return true
	}
	if r, ok := errors.AsType[*objectsRefused](err); ok {
		return r.noCollection
	}
	if we := clientError(err); we != nil {
		if we.DerivedFromError != nil {
			return true // the request did not get an answer
		}
		return we.StatusCode >= 500 || we.StatusCode == 0 || nodeRefusal(we)
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// nodeRefusal reports whether a 4xx answer is the node's state, not the
// request's fault, so another node may answer it: a node shedding load
// (429), one that timed the request out (408) or is not ready for it
// (425), and a GraphQL handler that has no schema yet (422 "no graphql
// provider present": a node just restarted, or one a new collection has
// not reached).
func nodeRefusal(we *fault.WeaviateClientError) bool {
	switch we.StatusCode {
	case http.StatusTooManyRequests, http.StatusRequestTimeout, http.StatusTooEarly:
		return true
	case http.StatusUnprocessableEntity:
		return noSchema(we)
	}
	return false
}

// noSchema reports whether a node's answer is the GraphQL handler's 422
// of a node with no schema yet.
func noSchema(we *fault.WeaviateClientError) bool {
	return we.StatusCode == http.StatusUnprocessableEntity && strings.Contains(we.Msg, "no graphql provider present")
}

// clientError is the Weaviate client error in err that says how the
// request ended, nil when there is none: the error of the node's answer
// (its status and body), or the one holding the failure that got no
// answer. The client's REST calls return that error itself; its GraphQL
// calls (searches, counts) wrap it as the DerivedFromError of another,
// answer or no answer alike (runGraphQLQuery in the client's graphql
// package), and a client error does not unwrap.
func clientError(err error) *fault.WeaviateClientError {
	we, ok := errors.AsType[*fault.WeaviateClientError](err)
	for ok {
		inner, isClient := errors.AsType[*fault.WeaviateClientError](we.DerivedFromError)
		if !isClient {
			break
		}
		we = inner
	}
	return we
}

// cause is the failure behind a client error that carries one (the
// client's own message only says where to look), or the status of the
// node's answer with what the node said in its error body.
func cause(err error) error {
	we := clientError(err)
	if we == nil {
		return err
	}
	if we.DerivedFromError != nil {
		return we.DerivedFromError
	}
	if msg := bodyMessage(we.Msg); msg != "" {
		return fmt.Errorf("status %d: %s", we.StatusCode, msg)
	}
	return fmt.Errorf("status %d %s", we.StatusCode, http.StatusText(we.StatusCode))
}

// bodyMessage is what a node said in the body of a failed answer: the
// messages of Weaviate's error body ({"error":[{"message":…}]}, which its
// REST and GraphQL endpoints send with a 4xx or 5xx), of a GraphQL
// response's errors ({"errors":[{"message":…}]}) or of the API
// framework's own errors ({"code":…,"message":…}: a request refused before
// a handler saw it); else the body as it is (a proxy's answer).
func bodyMessage(body string) string {
	type message struct{ Message string }
	var b struct {
		Error   []message
		Errors  []message
		Message string
	}
	if json.Unmarshal([]byte(body), &b) == nil {
		var msgs []string
		for _, m := range append(b.Error, b.Errors...) {
			if m.Message != "" {
				msgs = append(msgs, m.Message)
			}
		}
		if b.Message != "" {
			msgs = append(msgs, b.Message)
		}
		if len(msgs) > 0 {
			return joinMessages(msgs)
		}
	}
	return printable.Cut(strings.TrimSpace(body), maxBodyMessage)
}

// joinMessages is the messages of a node's answer as an error quotes
// them: joined, escaped and cut at maxBodyMessage.
func joinMessages(msgs []string) string {
	return printable.Cut(strings.Join(msgs, "; "), maxBodyMessage)
}

// errNoCollection is the failure of a GraphQL query of a collection that
// no node's schema holds (see answerErrors and failures.err).
var errNoCollection = errors.New("no collection")

// answerErrors is the failure of a GraphQL answer of status 200 that
// carries errors (a query of collection), nil when it carries none: a
// *graphqlFailure quoting what the node said, cut as the body of a failed
// answer is. Weaviate answers so a query it took and could not run, in
// whole or in part; the client passes such an answer on as a result, not
// an error. It is the node's state (a shard still loading, replicas it
// cannot reach, a schema a new collection has not reached yet), so the
// next node is asked (unreachable). An answer saying that the collection
// is no field of the schema (`Cannot query field "Tracks_v1" on type
// "GetObjectsObj".`: deleted, never published, or created and not applied
// on that node yet) is noCollection; when every node says so, the
// request's error wraps errNoCollection (failures.err), by which
// Source.Nearest tells a collection every node lacks. One whose every
// message says that a node the node asked for a shard holds no index of
// the collection (`local index "Tracks_v1" not found`: a replica that
// has not applied the collection's creation yet) is noIndex.
func answerErrors(res *models.GraphQLResponse, collection string) error {
	if len(res.Errors) == 0 {
		return nil
	}
	missing := `Cannot query field "` + collection + `" on type "`
	noIndexOf := `local index "` + collection + `" not found`
	var msgs []string
	noCollection, noIndex := false, true
	for _, e := range res.Errors {
		if e == nil || e.Message == "" {
			continue
		}
		msgs = append(msgs, e.Message)
		noCollection = noCollection || strings.HasPrefix(e.Message, missing)
		noIndex = noIndex && strings.Contains(e.Message, noIndexOf)
	}
	switch {
	case noCollection:
		return &graphqlFailure{msg: fmt.Sprintf("no collection %s (the node answered: %s)", collection, joinMessages(msgs)), noCollection: true}
	case len(msgs) == 0:
		return &graphqlFailure{msg: fmt.Sprintf("graphql query of %s: an answer with %d errors and no message", collection, len(res.Errors))}
	case noIndex:
		return &graphqlFailure{msg: fmt.Sprintf("a node holding a shard of %s has no index of it (the node answered: %s)", collection, joinMessages(msgs)), noIndex: true}
	}
	return &graphqlFailure{msg: fmt.Sprintf("graphql query of %s: %s", collection, joinMessages(msgs))}
}

// graphqlFailure is the errors of a GraphQL answer (see answerErrors).
type graphqlFailure struct {
	msg          string
	noCollection bool // the node's schema has no such collection
	noIndex      bool // a node the node asked for a shard holds no index of the collection
}

func (e *graphqlFailure) Error() string { return e.msg }

// maxBodyMessage bounds what a node's answer puts in an error, which a
// 503 of the server quotes: a proxy's error page is never quoted whole.
const maxBodyMessage = 300

// unavailable wraps err in soundalike.ErrIndexUnavailable once.
func unavailable(err error) error {
	if errors.Is(err, soundalike.ErrIndexUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", soundalike.ErrIndexUnavailable, err)
}

// Nodes returns how many nodes the cluster has, as a node reports it.
func (c *Cluster) Nodes(ctx context.Context) (int, error) {
	return read(ctx, c, func(ctx context.Context, wc *client.Client) (int, error) {
		st, err := wc.Cluster().NodesStatusGetter().Do(ctx)
		if err != nil {
			return 0, err
		}
		return len(st.Nodes), nil
	})
}
