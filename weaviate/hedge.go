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
// wins: a result, or a failure that is not the node's (a 4xx, which any
// node would give); the requests still in flight are then cancelled. A node
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
// no goroutine and sends nothing more. What it costs beyond do is the
// timer, the request's context and the read's state
// (BenchmarkReadOverhead), and its deposit in the hedge budget, an atomic
// load while the budget is full. A hedge runs on the goroutine of the
// timer that fired.
func read[T any](ctx context.Context, c *Cluster, fn func(context.Context, *client.Client) (T, error)) (T, error) {
	if c.hedge < 0 || len(c.nodes) == 1 {
		return readUnhedged(ctx, c, fn)
	}
	c.budget.deposit()
	r := &race[T]{c: c, ctx: ctx, fn: fn, began: time.Now(), start: int(c.next.Add(1)), reqs: make([]request, 0, len(c.nodes))}
	r.mu.Lock()
	i, reqCtx := r.send()
	r.mu.Unlock()
	r.run(reqCtx, i)
	return r.result()
}

// readUnhedged is read with hedging off (Options.HedgeDelay negative) or
// nothing to hedge to (one node): do, keeping fn's result.
func readUnhedged[T any](ctx context.Context, c *Cluster, fn func(context.Context, *client.Client) (T, error)) (T, error) {
	var out T
	err := c.do(ctx, func(wc *client.Client) error {
		var err error
		out, err = fn(ctx, wc)
		return err
	})
	return out, err
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

// race is one hedged read (see read): the requests it sent, one node
// each, and whether one of them has settled it.
type race[T any] struct {
	c     *Cluster
	ctx   context.Context // the read's; each request's context is a child, cancelled when the read settles
	fn    func(context.Context, *client.Client) (T, error)
	began time.Time
	start int // request i goes to node (start+i) % len(nodes)

	mu sync.Mutex // guards the fields below
	// reqs are the requests sent, in order. The last one is the only one
	// that can be a hedge still within its delay: a later request is
	// sent only when it has gone unanswered for a hedge delay, or failed.
	reqs      []request
	timer     *time.Timer   // hedges the last request sent; nil when no node remains to ask
	hedgeSent time.Duration // when the last request was sent as a hedge (charged to the budget), since began; 0 when it was not a hedge
	delay     time.Duration // the hedge delay the last request was sent with (hedgeDelay)
	failed    failures      // of the nodes that could not answer
	settled   bool          // v and err are the read's result
	v         T
	err       error
	done      chan struct{} // made when result waits for the read to settle; closed by settle
}

// request is one request of a race.
type request struct {
	cancel context.CancelFunc
	failed bool // its node could not answer: no answer is coming
}

func (r *race[T]) node(i int) *node { return &r.c.nodes[(r.start+i)%len(r.c.nodes)] }

// run sends request i, with its ctx, then the next whenever the node asked fails,
// until the read is settled or no node remains to ask.
func (r *race[T]) run(ctx context.Context, i int) {
	for {
		v, err := r.ask(ctx, i)
		r.mu.Lock()
		if r.settled || !r.answer(i, v, err) {
			r.mu.Unlock()
			return
		}
		i, ctx = r.send()
		r.mu.Unlock()
	}
}

// ask sends request i, with its ctx, to its node.
func (r *race[T]) ask(ctx context.Context, i int) (T, error) {
	wc, err := r.node(i).client()
	if err != nil {
		var zero T
		return zero, err
	}
	return r.fn(ctx, wc)
}

// send starts request number len(r.reqs), with r.mu held: it returns the
// request's number and context, and sets the timer that hedges it when a
// node remains to be asked, in place of the last request's. (A timer that
// fired meanwhile finds another request sent, and does nothing.) The
// request is not a hedge: hedge marks the ones that are.
func (r *race[T]) send() (int, context.Context) {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.hedgeSent = 0
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
	if r.settled || len(r.reqs) != i+1 || !r.c.budget.spend() {
		r.mu.Unlock()
		return
	}
	j, ctx := r.send()
	r.hedgeSent = time.Since(r.began)
	r.mu.Unlock()
	r.run(ctx, j)
}

// answer takes request i's answer, with r.mu held and the read not
// settled: v and a nil err, or the failure err. It settles the read,
// unless node i could not answer, and then says whether to ask the next
// node.
func (r *race[T]) answer(i int, v T, err error) (askNext bool) {
	var zero T
	switch {
	case err == nil:
		r.refund(i)
		r.settle(v, nil)
	case r.ctx.Err() != nil:
		r.settle(zero, r.ctxEnded())
	case !unreachable(err):
		// Any node would fail the request so (a 4xx): it is the read's
		// answer, and the requests in flight are cancelled.
		r.refund(i)
		r.settle(zero, fmt.Errorf("weaviate %s: %w", r.node(i).url, cause(err)))
	default:
		return r.fail(i, err)
	}
	return false
}

// fail records that request i's node could not answer, with r.mu held,
// and says whether to ask the next node: when one remains. When none
// does, the read waits for the requests still in flight, and settles with
// every node's failure when none is.
func (r *race[T]) fail(i int, err error) (askNext bool) {
	r.reqs[i].failed = true
	r.failed.add(r.node(i).url, err)
	if len(r.reqs) < len(r.c.nodes) {
		return true
	}
	if !r.inFlight() {
		var zero T
		r.settle(zero, r.failed.err())
	}
	return false
}

// inFlight reports whether a request may still be answered, with r.mu
// held.
func (r *race[T]) inFlight() bool {
	for _, q := range r.reqs {
		if !q.failed {
			return true
		}
	}
	return false
}

// ctxEnded is the error of a read that its ctx ended, with r.mu held:
// do's (ended), naming the nodes whose requests were in flight, with the
// failures of the nodes that could not answer.
func (r *race[T]) ctxEnded() error {
	var urls []string
	for i, q := range r.reqs {
		if !q.failed {
			urls = append(urls, r.node(i).url)
		}
	}
	err := ended(r.ctx, r.began, urls...)
	if len(r.failed.errs) > 0 {
		err = fmt.Errorf("%w; the other nodes failed: %w", err, errors.Join(r.failed.errs...))
	}
	return err
}

// refund returns to the budget the cost of request i, with r.mu held and
// the request settling the read with its node's answer, when it is a hedge
// that its node answered within the hedge delay it was sent with (which a
// near deadline shortens): that node was not slow, so the slowness hedged
// against was one node's, not the cluster's. Only the last request sent
// can be such a hedge (see race.reqs).
func (r *race[T]) refund(i int) {
	if i == len(r.reqs)-1 && r.hedgeSent > 0 && time.Since(r.began)-r.hedgeSent < r.delay {
		r.c.budget.refund()
	}
}

// settle ends the read with its result, with r.mu held: no more hedges,
// every request still in flight is cancelled, and result returns.
func (r *race[T]) settle(v T, err error) {
	r.settled, r.v, r.err = true, v, err
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

// result waits for the read to settle and returns its result. read's
// goroutine calls it when it has no more to send: the read is settled
// then, or that goroutine's last request failed with no node left to ask
// while a hedge is in flight, whose goroutine settles it.
func (r *race[T]) result() (T, error) {
	r.mu.Lock()
	if !r.settled {
		r.done = make(chan struct{})
		r.mu.Unlock()
		<-r.done
		return r.v, r.err
	}
	r.mu.Unlock()
	return r.v, r.err
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
	hedgeFull  = hedgeBurst * hedgeCost // the budget's size, in tokens
)

// hedgeBudget is the tokens a Cluster's hedges spend (see hedgeCost),
// hedgeFull when Dial makes it. It takes no lock: a read that finds it
// full only loads it.
type hedgeBudget struct{ tokens atomic.Int64 }

// deposit adds a read's token.
func (b *hedgeBudget) deposit() { b.add(1) }

// refund returns a hedge's tokens.
func (b *hedgeBudget) refund() { b.add(hedgeCost) }

// add adds n tokens, up to hedgeFull: tokens past it are dropped.
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
