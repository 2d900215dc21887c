package weaviate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
// Hedges are capped by the cluster's hedgeBudget: when it is spent, a read
// waits for the node it asked, as with no hedging.
//
// fn must send its request with the context it is given, which ends when
// another request settles the read, and must not write to anything
// shared: only the settling request's result is returned.
//
// The first request runs on the caller's goroutine, as do's do, with a
// timer set: a read that the first node answers within the delay starts
// no goroutine and sends nothing more (it costs a timer and a context,
// about a microsecond: BenchmarkReadOverhead), and its deposit in the
// hedge budget, an atomic load while the budget is full. A hedge runs on
// the goroutine of the timer that fired.
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
	c.budget.deposit()
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
	reqs   []request     // the requests sent, in order
	timer  *time.Timer   // the hedge of the last request sent
	hedged time.Duration // since began, when the last request was sent as a hedge (charged to the budget); 0 when it was not
	delay  time.Duration // the hedge delay the last request was sent with (hedgeDelay)
	failed failures      // of the nodes that could not answer
	over   bool          // settled, with v and err the read's result
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
	r.hedged = 0
	if r.reqs == nil {
		r.reqs = make([]request, 0, len(r.c.nodes))
	}
	i := len(r.reqs)
	ctx, cancel := context.WithCancel(r.ctx)
	r.reqs = append(r.reqs, request{cancel: cancel})
	r.delay = r.c.hedgeDelay(r.ctx)
	if i+1 < len(r.c.nodes) && r.delay > 0 {
		r.timer = time.AfterFunc(r.delay, func() { r.hedge(i) })
	}
	return i, ctx
}

// hedge runs when request i has not been answered after the hedge delay:
// it asks the next node, unless the read is settled, another request went
// out since, or the hedge budget is spent (then the read waits for the
// requests in flight).
func (r *race[T]) hedge(i int) {
	r.mu.Lock()
	if r.over || len(r.reqs) != i+1 || !r.c.budget.spend() {
		r.mu.Unlock()
		return
	}
	j, ctx := r.send()
	r.hedged = time.Since(r.began)
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
		r.refund(i)
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
		r.refund(i)
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

// refund returns to the budget the cost of request i, with r.mu held and
// the request settling the read with its node's answer, when it is a hedge
// that its node answered within the hedge delay it was sent with (which
// a near deadline shortens): that node was not slow,
// so the slowness hedged against was one node's, not the cluster's. Only
// the last request sent can be such a hedge: one sent after it means that
// it had gone unanswered for a hedge delay already, or failed.
func (r *race[T]) refund(i int) {
	if i == len(r.reqs)-1 && r.hedged > 0 && time.Since(r.began)-r.hedged < r.delay {
		r.c.budget.refund()
	}
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

// The hedge budget (hedgeBudget): each read a Cluster hedges deposits one
// token, a hedge costs hedgeCost, and the budget holds at most hedgeBurst
// hedges' worth, which it starts with. So over N reads at most
// N/hedgeCost + hedgeBurst hedges are charged: when every node is slower
// than the hedge delay (an overloaded cluster, where asking another node
// only adds to the load), hedges add at most a tenth to the reads, after
// a burst of ten. A hedge that its node answers within the hedge delay is
// refunded: it shows that the node asked first was slow alone, so the
// reads that meet one slow node among quick ones (a third of them on a
// 3-node cluster, more than a tenth) all keep being hedged. Finagle's
// retry budget has the same shape: a fraction of the requests, plus a
// reserve.
const (
	hedgeCost  = 10
	hedgeBurst = 10
	hedgeFull  = hedgeBurst * hedgeCost
)

// hedgeBudget is the tokens a Cluster's hedges spend (see hedgeCost),
// hedgeFull when Dial makes it. It takes no lock: a read that finds it
// full only loads it.
type hedgeBudget struct{ tokens atomic.Int64 }

// deposit adds a read's token, up to the budget's size.
func (b *hedgeBudget) deposit() { b.add(1) }

// refund returns a hedge's tokens, up to the budget's size.
func (b *hedgeBudget) refund() { b.add(hedgeCost) }

func (b *hedgeBudget) add(n int64) {
	for {
		t := b.tokens.Load()
		if t >= hedgeFull || b.tokens.CompareAndSwap(t, min(t+n, hedgeFull)) {
			return
		}
	}
}

// spend takes a hedge's tokens and reports whether the budget held them.
func (b *hedgeBudget) spend() bool {
	for {
		t := b.tokens.Load()
		if t < hedgeCost {
			return false
		}
		if b.tokens.CompareAndSwap(t, t-hedgeCost) {
			return true
		}
	}
}
