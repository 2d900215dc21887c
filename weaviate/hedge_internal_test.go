package weaviate

import (
	"context"
	"errors"
	"strings"
	"sync"
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
		for i, n := range c.nodes {
			if n.client == wc {
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
