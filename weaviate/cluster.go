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
	"sync"
	"sync/atomic"
	"time"

	"github.com/audotics/soundalike"
	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
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
	// that finds the budget spent waits for the node it asked.
	// Default DefaultHedgeDelay; negative: never hedge (a read moves to the
	// next node only when a node fails or its Timeout passes).
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

type node struct {
	url    string
	client *client.Client
}

// Dial connects to a cluster through the nodes' HTTP URLs
// (http://host:port). The Weaviate client asks each node for its version
// (GET /v1/meta) when it is made; Dial makes them at once, so a node that
// takes the request and does not answer holds Dial for Options.Timeout,
// not that for each such node. A node that fails it is not an error here:
// an unreachable cluster fails the first request, naming the URLs tried.
func Dial(urls []string, opts *Options) (*Cluster, error) {
	o := opts.withDefaults()
	if len(urls) == 0 {
		return nil, errors.New("weaviate: no node URL given")
	}
	// The client carries the timeout: Weaviate's client applies its
	// Config.Timeout only to a client of its own making. A node that takes
	// a request and never answers (a coordinator waiting on a replica that
	// died mid-write) then fails it, and the next node is tried.
	hc := &http.Client{Timeout: o.Timeout, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.DialTimeout}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}}
	c := &Cluster{hedge: o.HedgeDelay}
	c.budget.tokens.Store(hedgeFull)
	parsed := make([]*url.URL, len(urls))
	for i, raw := range urls {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("weaviate URL %q: want http://host:port or https://host:port", raw)
		}
		parsed[i] = u
	}
	c.nodes = make([]node, len(parsed))
	errs := make([]error, len(parsed))
	var wg sync.WaitGroup
	for i, u := range parsed {
		wg.Go(func() {
			wc, err := client.NewClient(client.Config{Host: u.Host, Scheme: u.Scheme, ConnectionClient: hc, Timeout: o.Timeout})
			if err != nil {
				errs[i] = fmt.Errorf("weaviate %s: %w", u, err)
			}
			c.nodes[i] = node{url: u.Scheme + "://" + u.Host, client: wc}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
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
	for i, n := range c.nodes {
		out[i] = n.url
	}
	return out
}

// do runs fn on one node after another, starting with the next in turn,
// until one answers: fn's error says whether the node was unreachable
// (then the next is tried) or answered with a failure (returned as it
// is). When no node answers, or every node answers with a 5xx, the error
// wraps soundalike.ErrIndexUnavailable and names every URL tried with what
// went wrong there. A request that only reads goes through read instead,
// which does not wait for a slow node.
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
		n := c.nodes[(start+i)%len(c.nodes)]
		err := fn(n.client)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ended(ctx, began, n.url)
		}
		if !unreachable(err) {
			return fmt.Errorf("weaviate %s: %w", n.url, err)
		}
		failed.add(n.url, err)
	}
	return failed.err()
}

// failures are the errors of the nodes that could not answer a request.
type failures struct {
	errs     []error
	answered bool // a node answered, with a failure
	timedOut bool // a node took the request and did not answer in time
}

func (f *failures) add(url string, err error) {
	var we *fault.WeaviateClientError
	f.answered = f.answered || errors.As(err, &we) && we.DerivedFromError == nil && we.StatusCode > 0
	var ne net.Error
	c := cause(err)
	f.timedOut = f.timedOut || errors.As(c, &ne) && ne.Timeout() || errors.Is(c, context.DeadlineExceeded)
	f.errs = append(f.errs, fmt.Errorf("%s: %w", url, c))
}

// err is the error of a request that every node failed. "Unreachable" is
// said only when no node took it: a node that timed out was reached, and
// was slow (a coordinator waiting for a replica that died, say).
func (f *failures) err() error {
	switch {
	case f.answered:
		return fmt.Errorf("%w: every weaviate node failed the request: %w", soundalike.ErrIndexUnavailable, errors.Join(f.errs...))
	case f.timedOut:
		return fmt.Errorf("%w: no weaviate node answered the request in time: %w", soundalike.ErrIndexUnavailable, errors.Join(f.errs...))
	}
	return fmt.Errorf("%w: weaviate cluster unreachable: %w", soundalike.ErrIndexUnavailable, errors.Join(f.errs...))
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
	if had >= time.Second {
		had = had.Round(100 * time.Millisecond)
	} else {
		had = had.Round(time.Millisecond)
	}
	if len(urls) == 1 {
		return fmt.Errorf("%w: weaviate node %s did not answer within %v, the time it was given (%w): check that node's load and log",
			soundalike.ErrIndexUnavailable, urls[0], had, context.DeadlineExceeded)
	}
	return fmt.Errorf("%w: weaviate nodes %s did not answer within %v, the time the request was given (%w): check those nodes' load and logs",
		soundalike.ErrIndexUnavailable, strings.Join(urls, ", "), had, context.DeadlineExceeded)
}

// unreachable reports whether err means the node could not answer (a
// connection failure, a timeout, or a 5xx of a node that is shutting down
// or has lost its replicas), so another node should be asked.
func unreachable(err error) bool {
	var we *fault.WeaviateClientError
	if errors.As(err, &we) {
		if we.DerivedFromError != nil {
			return true // the request did not get an answer
		}
		return we.StatusCode >= 500 || we.StatusCode == 0
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// cause is the failure behind a client error that carries one (the
// client's own message only says where to look), or what the node said in
// the error body of its answer.
func cause(err error) error {
	var we *fault.WeaviateClientError
	if !errors.As(err, &we) {
		return err
	}
	if we.DerivedFromError != nil {
		return we.DerivedFromError
	}
	var body struct {
		Error []struct{ Message string }
	}
	if json.Unmarshal([]byte(we.Msg), &body) != nil || len(body.Error) == 0 {
		return err
	}
	msgs := make([]string, len(body.Error))
	for i, e := range body.Error {
		msgs[i] = e.Message
	}
	return fmt.Errorf("status %d: %s", we.StatusCode, strings.Join(msgs, "; "))
}

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
