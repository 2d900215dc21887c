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

	"github.com/audotics/soundalike"
	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
)

// Options configure Dial. A nil *Options or a zero field means the default.
type Options struct {
	// Timeout bounds one request to a node. Default 30s (a batch of
	// objects replicated to every replica takes a while under load).
	Timeout time.Duration
	// DialTimeout bounds connecting to a node. Default 2s.
	DialTimeout time.Duration
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Timeout <= 0 {
		out.Timeout = 30 * time.Second
	}
	if out.DialTimeout <= 0 {
		out.DialTimeout = 2 * time.Second
	}
	return out
}

// Cluster is a connection to the nodes of one Weaviate cluster. A request
// goes to the next node in turn and, when that node cannot be reached, to
// the others: any node answers for the whole cluster. It is safe for
// concurrent use.
type Cluster struct {
	nodes []node
	next  atomic.Uint32
}

type node struct {
	url    string
	client *client.Client
}

// Dial connects to a cluster through the nodes' HTTP URLs
// (http://host:port). It sends nothing: an unreachable cluster fails the
// first request, naming the URLs tried.
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
	c := &Cluster{}
	for _, raw := range urls {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("weaviate URL %q: want http://host:port or https://host:port", raw)
		}
		wc, err := client.NewClient(client.Config{Host: u.Host, Scheme: u.Scheme, ConnectionClient: hc, Timeout: o.Timeout})
		if err != nil {
			return nil, fmt.Errorf("weaviate %s: %w", u, err)
		}
		c.nodes = append(c.nodes, node{url: u.Scheme + "://" + u.Host, client: wc})
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
// went wrong there.
//
// A ctx that ends while a node has not answered ends the request. A
// cancellation is the caller's and is returned as it is. A deadline that
// passes is the node's failure to answer in time: the error wraps
// soundalike.ErrIndexUnavailable, not context.DeadlineExceeded, and names
// the node and the time it had, because a server that sees
// context.DeadlineExceeded answers with its own timeout message, which
// does not say that the vector database is what was slow.
func (c *Cluster) do(ctx context.Context, fn func(*client.Client) error) error {
	began := time.Now()
	start := int(c.next.Add(1))
	var errs []error
	answered := false // a node answered, with a failure
	for i := range c.nodes {
		n := c.nodes[(start+i)%len(c.nodes)]
		err := fn(n.client)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ended(ctx, n.url, began)
		}
		if !unreachable(err) {
			return fmt.Errorf("weaviate %s: %w", n.url, err)
		}
		var we *fault.WeaviateClientError
		answered = answered || errors.As(err, &we) && we.DerivedFromError == nil && we.StatusCode > 0
		errs = append(errs, fmt.Errorf("%s: %w", n.url, cause(err)))
	}
	if answered {
		return fmt.Errorf("%w: every weaviate node failed the request: %w", soundalike.ErrIndexUnavailable, errors.Join(errs...))
	}
	return fmt.Errorf("%w: weaviate cluster unreachable: %w", soundalike.ErrIndexUnavailable, errors.Join(errs...))
}

// ended is the error of a request to the node at url that ctx ended (see
// do), began when the request started.
func ended(ctx context.Context, url string, began time.Time) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("weaviate %s: %w", url, ctx.Err())
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
	return fmt.Errorf("%w: weaviate node %s did not answer within %v, the time it was given: check that node's load and log",
		soundalike.ErrIndexUnavailable, url, had)
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
	var n int
	err := c.do(ctx, func(wc *client.Client) error {
		st, err := wc.Cluster().NodesStatusGetter().Do(ctx)
		if err != nil {
			return err
		}
		n = len(st.Nodes)
		return nil
	})
	return n, err
}
