package weaviate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate/entities/models"
)

// A read at consistency level ONE answers from one replica of each
// shard; when a shard has no replica on a live node, Weaviate answers with
// the other shards' objects alone, as if complete. So the Source checks
// that every shard of the collection it serves has a replica on a node
// the cluster lists as up (GET /v1/nodes?output=verbose&collection=…),
// and while one has none, Ready and Nearest fail naming the shard: a
// search does not silently miss a shard's tracks, and /readyz says so.
//
// The check runs every coverageEvery at most. A query that finds the last
// one old starts the next in its background and takes the last verdict: a
// query never waits for it, except the first of a collection, which has
// no verdict yet. Ready (/readyz, polled every few seconds, not in the
// query path) that finds it old waits for the next, so that a readiness
// probe sees the cluster as it is, not as it was at the last check.

// coverageEvery is how often the shard check of a collection runs, at
// most: how long a shard may be down before searches and /readyz say so.
const coverageEvery = 3 * time.Second

// coverageTimeout bounds one shard check.
const coverageTimeout = 5 * time.Second

// coverage is what the shard checks of one collection found.
type coverage struct {
	at       time.Time           // when the last check ended; zero before the first
	err      error               // nil when every shard had a live replica then
	holders  map[string][]string // shard → the nodes seen holding a replica of it, by any check
	checking bool                // a check is under way
}

// covered returns the verdict of the last shard check of the collection,
// which has shards shards by its schema: nil when every shard had a live
// replica. When the last is older than coverageEvery it starts a new
// check, in the background unless wait is set or there was none before,
// when it returns the new check's verdict.
func (s *Source) covered(ctx context.Context, name string, shards int, wait bool) error {
	s.mu.Lock()
	cv := s.coverage[name]
	if cv == nil {
		cv = &coverage{holders: make(map[string][]string)}
		s.coverage[name] = cv
	}
	first := cv.at.IsZero()
	start := !cv.checking && time.Since(cv.at) >= coverageEvery
	if start {
		cv.checking = true
	}
	err := cv.err
	s.mu.Unlock()
	switch {
	case start && (first || wait):
		s.checkShards(ctx, name, shards)
		s.mu.Lock()
		err = cv.err
		s.mu.Unlock()
	case start:
		go s.checkShards(context.WithoutCancel(ctx), name, shards)
	}
	return err
}

// checkShards runs one shard check of the collection and records its
// verdict. A check that cannot read the nodes' status keeps the last
// verdict: a cluster that does not answer fails the searches themselves.
func (s *Source) checkShards(ctx context.Context, name string, shards int) {
	ctx, cancel := context.WithTimeout(ctx, coverageTimeout)
	defer cancel()
	st, err := read(ctx, s.cluster, func(ctx context.Context, wc *client.Client) (*models.NodesStatusResponse, error) {
		return wc.Cluster().NodesStatusGetter().WithClass(name).WithOutput("verbose").Do(ctx)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	cv := s.coverage[name]
	cv.checking = false
	cv.at = time.Now()
	if err != nil {
		return
	}
	cv.err = cv.verdict(name, st, shards)
}

// verdict records which nodes hold which shards of the collection, and
// returns nil when each of its shards (want of them) has a replica on a
// node that answered the status request, else an error naming those that
// have none and the nodes their replicas were last seen on. A check that
// finds every shard live forgets the shards it did not see (those of a
// collection deleted and published again under the same name).
func (cv *coverage) verdict(collection string, st *models.NodesStatusResponse, want int) error {
	now := make(map[string][]string) // shard → the nodes this check saw holding it
	live := make(map[string]bool)
	for _, n := range st.Nodes {
		if n == nil {
			continue
		}
		up := n.Status == nil || nodeAnswered(*n.Status)
		for _, sh := range n.Shards {
			if sh == nil || sh.Class != collection {
				continue
			}
			if !slices.Contains(now[sh.Name], n.Name) {
				now[sh.Name] = append(now[sh.Name], n.Name)
			}
			if up {
				live[sh.Name] = true
			}
		}
	}
	if want > 0 && len(live) >= want {
		cv.holders = now
		return nil
	}
	for sh, nodes := range now {
		for _, n := range nodes {
			if !slices.Contains(cv.holders[sh], n) {
				cv.holders[sh] = append(cv.holders[sh], n)
			}
		}
	}
	var down []string
	for _, sh := range slices.Sorted(maps.Keys(cv.holders)) {
		if !live[sh] {
			down = append(down, fmt.Sprintf("shard %s (replicas on %s)", sh, strings.Join(cv.holders[sh], ", ")))
		}
	}
	if len(down) == 0 && len(live) >= want {
		return nil
	}
	if len(down) == 0 {
		down = append(down, fmt.Sprintf("%d of its %d shards (not seen on any node yet)", want-len(live), want))
	}
	return fmt.Errorf("%w: weaviate collection %s: no live node holds a replica of %s, so a search would miss its tracks: "+
		"start the nodes that hold it (GET /v1/nodes lists the live ones)",
		soundalike.ErrIndexUnavailable, collection, strings.Join(down, ", "))
}

// nodeAnswered reports whether a node's status in GET /v1/nodes is that
// of a node that answered the request: not UNAVAILABLE (the node that
// answered could not reach it) or TIMEOUT (it did not answer in time).
func nodeAnswered(status string) bool {
	return status != models.NodeStatusStatusUNAVAILABLE && status != models.NodeStatusStatusTIMEOUT
}

// shardCount is the collection's number of shards (its sharding config's
// actualCount), 0 when the schema does not say.
func shardCount(cl *models.Class) int {
	cfg, _ := cl.ShardingConfig.(map[string]any)
	switch n := cfg["actualCount"].(type) {
	case float64:
		return int(n)
	case int:
		return int(n)
	case int64:
		return int(n)
	}
	return 0
}
