package weaviate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
)

// read runs fn as do does, for a request that only reads, which two nodes
// can answer at once without harm: when the node asked has not answered
// after the hedge delay (Cluster.hedgeDelay), the next node is asked too,
// and so on while nodes remain. The first answer that settles the read
// wins: a result, or a failure that is not the node's (which any node
// would give); the requests still in flight are then cancelled. A node
// that fails as unreachable has the next one asked at once, as in do.
// When every node fails, or ctx ends first, the error is do's, naming the
// nodes.
//
// fn must send its request with the context it is given, which ends when
// another request settles the read, and must not write to anything
// shared: only the settling request's result is returned.
//
// The first request runs on the caller's goroutine, as do's do, with a
// timer set: a read that the first node answers within the delay starts
// no goroutine and sends nothing more (it costs a timer and a context,
// about a microsecond: BenchmarkReadOverhead). A hedge runs on the
// goroutine of the timer that fired.
func read[T any](ctx context.Context, c *Cluster, fn func(context.Context, *client.Client) (T, error)) (T, error) {
	if c.hedge < 0 || len(c.nodes) == 1 {
		var out T
		err := c.do(ctx, func(wc *client.Client) error {
			var err error
			out, err = fn(ctx, wc)
			return err
		})
		return out, err
	}
	r := &race[T]{c: c, ctx: ctx, fn: fn, began: time.Now(), start: int(c.next.Add(1))}
	r.mu.Lock()
	i, rctx := r.send()
	r.mu.Unlock()
	r.work(i, rctx)
	r.mu.Lock()
	if r.over {
		r.mu.Unlock()
	} else {
		// This goroutine's last request failed with no node left to ask,
		// while a hedge is in flight.
		r.done = make(chan struct{})
		r.mu.Unlock()
		<-r.done
	}
	return r.v, r.err
}

// hedgeDelay is how long a read waits for the node asked before asking
// the next one too: Options.HedgeDelay, but no later than halfway to
// ctx's deadline, so that the next node has as long to answer as the one
// it backs up had.
func (c *Cluster) hedgeDelay(ctx context.Context) time.Duration {
	d := c.hedge
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)/2)
	}
	return d
}

// race is one hedged read (see read).
type race[T any] struct {
	c     *Cluster
	ctx   context.Context
	fn    func(context.Context, *client.Client) (T, error)
	began time.Time
	start int // request i goes to node (start+i) % len(nodes)

	mu     sync.Mutex
	reqs   []request   // the requests sent, in order
	timer  *time.Timer // the hedge of the last request sent
	failed failures    // of the nodes that could not answer
	over   bool        // settled, with v and err the read's result
	v      T
	err    error
	done   chan struct{} // closed by settle, when read waits for it
}

type request struct {
	cancel   context.CancelFunc
	answered bool // with a failure of the node's
}

func (r *race[T]) node(i int) node { return r.c.nodes[(r.start+i)%len(r.c.nodes)] }

// work sends request i, then the next whenever the node asked fails,
// until the read is settled or no node remains to ask.
func (r *race[T]) work(i int, ctx context.Context) {
	for {
		v, err := r.fn(ctx, r.node(i).client)
		r.mu.Lock()
		if r.over || !r.take(i, v, err) {
			r.mu.Unlock()
			return
		}
		i, ctx = r.send()
		r.mu.Unlock()
	}
}

// send starts request number len(r.reqs), with r.mu held: it returns the
// request's number and context, and sets the timer that hedges it when a
// node remains to be asked, in place of the last request's. (A timer that
// fired meanwhile finds another request sent, and does nothing.)
func (r *race[T]) send() (int, context.Context) {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.reqs == nil {
		r.reqs = make([]request, 0, len(r.c.nodes))
	}
	i := len(r.reqs)
	ctx, cancel := context.WithCancel(r.ctx)
	r.reqs = append(r.reqs, request{cancel: cancel})
	if i+1 < len(r.c.nodes) {
		if d := r.c.hedgeDelay(r.ctx); d > 0 {
			r.timer = time.AfterFunc(d, func() { r.hedge(i) })
		}
	}
	return i, ctx
}

// hedge runs when request i has not been answered after the hedge delay:
// it asks the next node, unless the read is settled or another request
// went out since.
func (r *race[T]) hedge(i int) {
	r.mu.Lock()
	if r.over || len(r.reqs) != i+1 {
		r.mu.Unlock()
		return
	}
	j, ctx := r.send()
	r.mu.Unlock()
	r.work(j, ctx)
}

// take takes request i's answer, with r.mu held and the read not settled:
// it settles the read, or, when node i could not answer, says whether to
// ask the next node (when one remains; else the read waits for the
// requests in flight, and when none is, every node has failed).
func (r *race[T]) take(i int, v T, err error) (next bool) {
	var zero T
	switch {
	case err == nil:
		r.settle(v, nil)
	case r.ctx.Err() != nil:
		var urls []string
		for j, q := range r.reqs {
			if !q.answered {
				urls = append(urls, r.node(j).url)
			}
		}
		err := ended(r.ctx, r.began, urls...)
		if len(r.failed.errs) > 0 {
			err = fmt.Errorf("%w; the other nodes failed: %w", err, errors.Join(r.failed.errs...))
		}
		r.settle(zero, err)
	case !unreachable(err):
		r.settle(zero, fmt.Errorf("weaviate %s: %w", r.node(i).url, err))
	default:
		r.reqs[i].answered = true
		r.failed.add(r.node(i).url, err)
		if len(r.reqs) < len(r.c.nodes) {
			return true
		}
		for _, q := range r.reqs {
			if !q.answered {
				return false
			}
		}
		r.settle(zero, r.failed.err())
	}
	return false
}

// settle ends the read with its result, with r.mu held: no more hedges,
// every request still in flight is cancelled, and read returns.
func (r *race[T]) settle(v T, err error) {
	r.over, r.v, r.err = true, v, err
	if r.timer != nil {
		r.timer.Stop()
	}
	for _, q := range r.reqs {
		q.cancel()
	}
	if r.done != nil {
		close(r.done)
	}
}
