package weaviate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
)

// fakeNodes is a cluster of three nodes that are never dialled: the read's
// fn plays them, by the index of the client it is given.
func fakeNodes(t testing.TB, hedge time.Duration) (*Cluster, func(*client.Client) int) {
	t.Helper()
	c, err := Dial([]string{"http://node0:1", "http://node1:1", "http://node2:1"}, &Options{HedgeDelay: hedge})
	if err != nil {
		t.Fatal(err)
	}
	c.next.Store(^uint32(0)) // the first read starts at node 0
	return c, func(wc *client.Client) int {
		for i := range c.nodes {
			if nc, _ := c.nodes[i].client(); nc == wc {
				return i
			}
		}
		t.Fatalf("a client of no node")
		return -1
	}
}

// Each node's behaviour: answer at once, fail as unreachable at once,
// refuse (a failure any node would give) or hold the request until it is
// cancelled.
type behaviour int

const (
	answers behaviour = iota
	unreachableNode
	refuses
	holds
)

// play runs read with the nodes behaving as given, under the context
// newCtx makes, and returns its result and which nodes were asked and
// which had their request cancelled.
func play(t *testing.T, hedge time.Duration, newCtx func() (context.Context, context.CancelFunc), nodes ...behaviour) (int, error, []int, []int) {
	c, index := fakeNodes(t, hedge)
	ctx, cancel := newCtx()
	defer cancel()
	var mu sync.Mutex
	var asked, cancelled []int
	var wg sync.WaitGroup
	v, err := read(ctx, c, func(ctx context.Context, wc *client.Client) (int, error) {
		i := index(wc)
		mu.Lock()
		asked = append(asked, i)
		mu.Unlock()
		switch nodes[i] {
		case answers:
			return 100 + i, nil
		case unreachableNode:
			return 0, &fault.WeaviateClientError{StatusCode: 503, Msg: `{"error":[{"message":"shutting down"}]}`}
		case refuses:
			return 0, &fault.WeaviateClientError{StatusCode: 422, Msg: "no such property"}
		}
		wg.Add(1)
		defer wg.Done()
		<-ctx.Done()
		mu.Lock()
		cancelled = append(cancelled, i)
		mu.Unlock()
		return 0, &fault.WeaviateClientError{DerivedFromError: ctx.Err()}
	})
	wg.Wait() // every held request ends: read cancelled it, or ctx ended
	return v, err, asked, cancelled
}

func TestRead(t *testing.T) {
	long := time.Hour // a hedge that never fires: only failures move on
	for _, tc := range []struct {
		name           string
		hedge          time.Duration
		nodes          []behaviour
		want           int
		err            string
		asked, cancels int
		unavailable    bool
	}{
		{"a healthy node answers alone", 10 * time.Millisecond, []behaviour{answers, answers, answers}, 100, "", 1, 0, false},
		{"a slow node is hedged", 10 * time.Millisecond, []behaviour{holds, answers, answers}, 101, "", 2, 1, false},
		{"two slow nodes are hedged", 10 * time.Millisecond, []behaviour{holds, holds, answers}, 102, "", 3, 2, false},
		{"a failed node moves on at once", long, []behaviour{unreachableNode, answers, answers}, 101, "", 2, 0, false},
		{"a hedge that fails moves on at once", 10 * time.Millisecond, []behaviour{holds, unreachableNode, answers}, 102, "", 3, 1, false},
		{"a refusal is any node's answer", 10 * time.Millisecond, []behaviour{holds, refuses, answers}, 0, "weaviate http://node1:1: ", 2, 1, false},
		{"every node fails", long, []behaviour{unreachableNode, unreachableNode, unreachableNode}, 0,
			"every weaviate node failed the request: http://node0:1: status 503: shutting down\nhttp://node1:1", 3, 0, true},
		{"the last node fails while a slow one holds", 10 * time.Millisecond, []behaviour{holds, unreachableNode, unreachableNode}, 0,
			"weaviate node http://node0:1 did not answer within ", 3, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newCtx := func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(t.Context(), 300*time.Millisecond)
			}
			if tc.err == "" {
				newCtx = func() (context.Context, context.CancelFunc) { return context.WithCancel(t.Context()) } // only the answers end the read
			}
			v, err, asked, cancelled := play(t, tc.hedge, newCtx, tc.nodes...)
			t.Logf("%d, %v; asked %v, cancelled %v", v, err, asked, cancelled)
			if v != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("read = %d, %v; want %d, %q", v, err, tc.want, tc.err)
			}
			if errors.Is(err, soundalike.ErrIndexUnavailable) != tc.unavailable {
				t.Errorf("read's error %v: ErrIndexUnavailable %v, want %v", err, !tc.unavailable, tc.unavailable)
			}
			if len(asked) != tc.asked || len(cancelled) != tc.cancels {
				t.Errorf("asked nodes %v and cancelled %v; want %d asked, %d cancelled", asked, cancelled, tc.asked, tc.cancels)
			}
		})
	}
}

func within(t *testing.T, d time.Duration) func() (context.Context, context.CancelFunc) {
	return func() (context.Context, context.CancelFunc) { return context.WithTimeout(t.Context(), d) }
}

// TestReadDeadline: when every node holds the request, the read ends with
// ctx, its error naming every node (asked in turn, each after the hedge
// delay, the last one halfway to the deadline at the latest), and a
// cancellation is returned as it is.
func TestReadDeadline(t *testing.T) {
	_, err, asked, _ := play(t, time.Hour, within(t, 200*time.Millisecond), holds, holds, holds)
	t.Logf("%v", err)
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || len(asked) != 3 ||
		!strings.Contains(err.Error(), "weaviate nodes http://node0:1, http://node1:1, http://node2:1 did not answer within ") {
		t.Fatalf("read with every node holding = %v, %d nodes asked; want ErrIndexUnavailable naming all 3", err, len(asked))
	}

	stopped := func() (context.Context, context.CancelFunc) {
		ctx, stop := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, stop)
		return ctx, stop
	}
	_, err, _, _ = play(t, 10*time.Millisecond, stopped, holds, holds, holds)
	if !errors.Is(err, context.Canceled) || errors.Is(err, soundalike.ErrIndexUnavailable) {
		t.Fatalf("read cancelled by its caller = %v; want context.Canceled", err)
	}
}

// TestReadNoHedge: a negative HedgeDelay leaves a slow node to its
// timeout (here the ctx's deadline), as do does.
func TestReadNoHedge(t *testing.T) {
	_, err, asked, _ := play(t, -1, within(t, 100*time.Millisecond), holds, answers, answers)
	if len(asked) != 1 || !strings.Contains(err.Error(), "node http://node0:1 did not answer within ") {
		t.Fatalf("read with hedging off and node 0 holding = %v, asked %v; want node 0 alone, timed out", err, asked)
	}
}

// TestDeadlineErrorIs: a read that its ctx's deadline ends while nodes
// hold it fails with an error that is both soundalike.ErrIndexUnavailable
// (the vector database did not answer) and context.DeadlineExceeded (the
// caller's deadline passed), hedged or not.
func TestDeadlineErrorIs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hedge time.Duration
		nodes []behaviour
	}{
		{"hedged, every node holds", 10 * time.Millisecond, []behaviour{holds, holds, holds}},
		{"hedged, the last node fails while a slow one holds", 10 * time.Millisecond, []behaviour{holds, unreachableNode, unreachableNode}},
		{"not hedged, the node asked holds", -1, []behaviour{holds, answers, answers}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, _, _ := play(t, tc.hedge, within(t, 100*time.Millisecond), tc.nodes...)
			t.Logf("%v", err)
			if !errors.Is(err, soundalike.ErrIndexUnavailable) || !errors.Is(err, context.DeadlineExceeded) ||
				!strings.Contains(err.Error(), "did not answer within ") {
				t.Fatalf("read past its deadline = %v; want an error that is ErrIndexUnavailable and context.DeadlineExceeded, naming the nodes", err)
			}
		})
	}
}

// slowReads runs reads on c, each of workers at once running each in
// turn with a deadline of d, the nodes behaving as given (answers or
// holds), and returns how many requests were sent and how many reads
// failed.
func slowReads(t *testing.T, c *Cluster, index func(*client.Client) int, workers, each int, d time.Duration, nodes ...behaviour) (sent, failed int64) {
	var sentN, failedN atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ctx, cancel := context.WithTimeout(t.Context(), d)
				_, err := read(ctx, c, func(ctx context.Context, wc *client.Client) (int, error) {
					sentN.Add(1)
					if nodes[index(wc)] == answers {
						return 1, nil
					}
					<-ctx.Done()
					return 0, &fault.WeaviateClientError{DerivedFromError: ctx.Err()}
				})
				cancel()
				if err != nil {
					failedN.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return sentN.Load(), failedN.Load()
}

// TestHedgeBudgetEveryNodeSlow: when every node is slower than the hedge
// delay (an overloaded cluster), hedges add at most a tenth to the reads,
// after a burst: N reads send at most N + N/hedgeCost + hedgeBurst
// requests, not up to 3N.
func TestHedgeBudgetEveryNodeSlow(t *testing.T) {
	if hedgeCost != 10 || hedgeBurst < 1 {
		t.Fatalf("hedgeCost %d, hedgeBurst %d: the documented budget is a tenth of the reads plus a burst", hedgeCost, hedgeBurst)
	}
	c, index := fakeNodes(t, time.Millisecond)
	const n = 300
	sent, failed := slowReads(t, c, index, 30, n/30, 30*time.Millisecond, holds, holds, holds)
	hedges := sent - n
	t.Logf("%d reads, every node holding: %d requests, %d hedges, %d failed", n, sent, hedges, failed)
	if most := int64(n/hedgeCost + hedgeBurst); hedges > most || hedges < hedgeBurst {
		t.Fatalf("%d reads with every node slow sent %d hedges; want at least the burst, %d, and at most %d (a tenth of the reads plus the burst)",
			n, hedges, hedgeBurst, most)
	}
	if failed != n {
		t.Errorf("%d of %d reads failed with every node holding, want all", failed, n)
	}
}

// TestHedgeBudgetOneSlowNode: with one node slow and the others quick,
// the reads that ask the slow node first (a third, more than the budget's
// tenth) are all hedged once the quick reads have put a hedge's worth
// back into a spent budget, since the node hedged to answers within the
// delay and the hedge is refunded.
func TestHedgeBudgetOneSlowNode(t *testing.T) {
	c, index := fakeNodes(t, 20*time.Millisecond)
	c.budget.tokens.Store(0) // spent, as by an overload
	const n = 90
	sent, failed := slowReads(t, c, index, 1, n, 100*time.Millisecond, holds, answers, answers)
	hedged := sent - n
	t.Logf("%d reads, node 0 of 3 holding: %d requests, %d hedges, %d failed", n, sent, hedged, failed)
	// Reads start at each node in turn: n/3 at the slow one. Until the
	// budget holds a hedge again, after hedgeCost reads, those wait for
	// their deadline and fail.
	slowFirst := int64(n / 3)
	if most := int64(hedgeCost/3 + 1); failed > most || hedged+failed != slowFirst {
		t.Fatalf("%d reads, %d asking the slow node first, from a spent budget: %d hedged, %d failed; want all hedged but the first %d at most",
			n, slowFirst, hedged, failed, most)
	}
}

// BenchmarkReadOverhead is the cost of the hedging machinery on a read
// that the first node answers at once: read against do, a node that
// answers at once (no network). The timer and the request's context are
// what a read adds; no goroutine starts.
func BenchmarkReadOverhead(b *testing.B) {
	c, _ := fakeNodes(b, DefaultHedgeDelay)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // as a server's search has
	defer cancel()
	b.Run("do", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v int
			if err := c.do(ctx, func(*client.Client) error { v = 1; return nil }); err != nil || v != 1 {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := read(ctx, c, func(context.Context, *client.Client) (int, error) { return 1, nil })
			if err != nil || v != 1 {
				b.Fatal(err)
			}
		}
	})
}

// TestFailuresSayUnreachableOnlyWhenNoNodeTookIt: a request that every
// node failed is "unreachable" when no node took it (connections
// refused); when a node took it and did not answer in time (a
// coordinator waiting on a replica that died), the error says so.
func TestFailuresSayUnreachableOnlyWhenNoNodeTookIt(t *testing.T) {
	refused := &fault.WeaviateClientError{DerivedFromError: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}
	slow := &fault.WeaviateClientError{DerivedFromError: fmt.Errorf("Post %q: %w", "http://node1:1/v1/batch/objects", context.DeadlineExceeded)}
	var all failures
	all.add("http://node0:1", refused)
	all.add("http://node2:1", refused)
	if err := all.err(); !errors.Is(err, soundalike.ErrIndexUnavailable) || !strings.Contains(err.Error(), "cluster unreachable") {
		t.Errorf("every node refused: %v; want cluster unreachable", err)
	}
	all.add("http://node1:1", slow)
	if err := all.err(); !errors.Is(err, soundalike.ErrIndexUnavailable) || strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "in time") {
		t.Errorf("one node took the request and timed out: %v; want no \"unreachable\", and that no node answered in time", err)
	}
}
