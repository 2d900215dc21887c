package weaviate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/audotics/soundalike"
	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/filters"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
)

// Source answers a soundalike Engine's nearest-neighbour step from a
// published catalogue (Options.VectorSource). It queries the collection of
// the model version the engine serves, not the alias: a serve replica
// still on the previous model keeps getting that model's neighbours while
// another has moved on, and every answer comes from a complete
// collection. Reads are at consistency level ONE, so a query answers
// while any replica of each shard is up; while a shard has no live
// replica, queries and Ready fail naming it (shards.go) rather than
// answer without its tracks.
type Source struct {
	cluster *Cluster
	alias   string

	mu       sync.Mutex
	ready    map[string]seen      // collection → when it was last seen complete, and how
	coverage map[string]*coverage // collection → what its shard checks found (shards.go)
}

// seen is what Ready last saw of a complete collection.
type seen struct {
	at         time.Time
	replicated bool // more than one replica of each shard: reads send a consistency level
	shards     int  // its number of shards, 0 when the schema does not say
}

var _ soundalike.VectorSource = (*Source)(nil)

// readyFor is how long Ready trusts a collection it has seen.
const readyFor = 5 * time.Second

// NewSource returns the vector source for the catalogue published under
// alias ("" means DefaultAlias).
func NewSource(c *Cluster, alias string) (*Source, error) {
	if alias == "" {
		alias = DefaultAlias
	}
	if err := CheckAlias(alias); err != nil {
		return nil, err
	}
	return &Source{cluster: c, alias: alias, ready: make(map[string]seen), coverage: make(map[string]*coverage)}, nil
}

// Nearest implements soundalike.VectorSource with a nearVector query
// whose where clause is the filter, sent to another node too when the
// node asked is slow to answer (Options.HedgeDelay). It first checks, as
// Ready does (whose answer holds for a few seconds), that the collection
// is completely published: a server's queries do not wait for its
// /readyz, and a collection still being published would answer without
// the tracks not yet sent. A collection deleted since Ready saw it (no
// node holds it) fails the query saying so, and the next query checks it
// again.
func (s *Source) Nearest(ctx context.Context, model string, q []float32, k int, f *soundalike.Filter) ([]soundalike.Neighbor, error) {
	cl, err := s.check(ctx, model, false)
	if err != nil {
		return nil, err
	}
	collection := CollectionName(s.alias, model)
	level := consistency(cl.replicated, readConsistency)
	where := whereOf(f)
	out, err := read(ctx, s.cluster, func(ctx context.Context, wc *client.Client) ([]soundalike.Neighbor, error) {
		get := wc.GraphQL().Get().WithClassName(collection).WithLimit(k).
			WithConsistencyLevel(level).
			WithNearVector(wc.GraphQL().NearVectorArgBuilder().WithVector(q)).
			WithFields(graphql.Field{Name: propTrackID},
				graphql.Field{Name: "_additional", Fields: []graphql.Field{{Name: "distance"}}})
		if where != nil {
			get = get.WithWhere(where)
		}
		res, err := get.Do(ctx)
		if err != nil {
			return nil, err
		}
		objs, err := getResults(res, collection)
		if err != nil {
			return nil, err
		}
		out := make([]soundalike.Neighbor, 0, len(objs))
		for _, o := range objs {
			id, _ := o[propTrackID].(string)
			add, _ := o["_additional"].(map[string]any)
			d, _ := add["distance"].(float64)
			out = append(out, soundalike.Neighbor{ID: soundalike.TrackID(id), Score: float32(1 - d)})
		}
		return out, nil
	})
	if errors.Is(err, errNoCollection) {
		// Deleted since Ready saw it: the next query checks again.
		s.forget(collection)
		return nil, unavailable(fmt.Errorf("query %s: no weaviate node holds it: publish model %s with `soundalike publish`: %w", collection, model, err))
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("query %s: %w", collection, err))
	}
	return out, nil
}

// Ready implements soundalike.VectorSource: the cluster answers and holds
// the model version's collection, completely published, and each of its
// shards has a replica on a live node (as the last shard check found:
// shards.go).
func (s *Source) Ready(ctx context.Context, model string) error {
	_, err := s.check(ctx, model, true)
	return err
}

// check is Ready, returning what it saw of the collection. wait says
// whether a shard check found old is waited for (Ready) or run in the
// background (Nearest: see covered).
func (s *Source) check(ctx context.Context, model string, wait bool) (seen, error) {
	collection := CollectionName(s.alias, model)
	s.mu.Lock()
	last, ok := s.ready[collection]
	s.mu.Unlock()
	if ok && time.Since(last.at) < readyFor {
		return last, s.covered(ctx, collection, last.shards, wait)
	}
	cl, err := s.cluster.collection(ctx, collection)
	if err != nil {
		return seen{}, unavailable(err)
	}
	if cl == nil {
		return seen{}, fmt.Errorf("%w: weaviate %s has no collection %s: publish model %s with `soundalike publish`",
			soundalike.ErrIndexUnavailable, strings.Join(s.cluster.URLs(), ","), collection, model)
	}
	if strings.HasSuffix(cl.Description, publishingMark) {
		return seen{}, fmt.Errorf("%w: weaviate %s: collection %s holds only part of model %s's tracks, a publish is under way or stopped: "+
			"run `soundalike publish` to complete it", soundalike.ErrIndexUnavailable, strings.Join(s.cluster.URLs(), ","), collection, model)
	}
	last = seen{at: time.Now(), replicated: replicated(cl), shards: shardCount(cl)}
	s.mu.Lock()
	s.ready[collection] = last
	s.mu.Unlock()
	return last, s.covered(ctx, collection, last.shards, wait)
}

// forget drops what Ready saw of collection, so that the next query
// checks it again.
func (s *Source) forget(collection string) {
	s.mu.Lock()
	delete(s.ready, collection)
	s.mu.Unlock()
}

// whereOf translates a soundalike.Filter into a where clause: nil when it
// places no condition.
func whereOf(f *soundalike.Filter) *filters.WhereBuilder {
	if f == nil {
		return nil
	}
	var ops []*filters.WhereBuilder
	cond := func(path string, op filters.WhereOperator) *filters.WhereBuilder {
		w := filters.Where().WithPath([]string{path}).WithOperator(op)
		ops = append(ops, w)
		return w
	}
	if len(f.Genres) > 0 {
		gs := make([]string, len(f.Genres))
		for i, g := range f.Genres {
			gs[i] = strings.ToLower(g)
		}
		cond(propGenres, filters.ContainsAny).WithValueText(gs...)
	}
	if f.YearMin != nil || f.YearMax != nil {
		cond(propReleaseYear, filters.GreaterThan).WithValueInt(0) // an unknown year matches no bound
	}
	if f.YearMin != nil {
		cond(propReleaseYear, filters.GreaterThanEqual).WithValueInt(int64(*f.YearMin))
	}
	if f.YearMax != nil {
		cond(propReleaseYear, filters.LessThanEqual).WithValueInt(int64(*f.YearMax))
	}
	if f.PopularityMin != nil {
		cond(propPopularity, filters.GreaterThanEqual).WithValueInt(int64(*f.PopularityMin))
	}
	if f.PopularityMax != nil {
		cond(propPopularity, filters.LessThanEqual).WithValueInt(int64(*f.PopularityMax))
	}
	if ks := artistKeys(f.Artists); len(ks) > 0 {
		cond(propArtistKeys, filters.ContainsAny).WithValueText(ks...)
	}
	if ks := artistKeys(f.ExcludeArtists); len(ks) > 0 {
		cond(propArtistKeys, filters.ContainsNone).WithValueText(ks...)
	}
	if len(f.IDs) > 0 {
		ids := make([]string, 0, len(f.IDs))
		for _, id := range f.IDs {
			if ref, err := soundalike.ParseTrackRef(string(id)); err == nil {
				ids = append(ids, string(ref))
			}
			ids = append(ids, string(id)) // an id as stored, even one that looks like a URI
		}
		cond(propTrackID, filters.ContainsAny).WithValueText(ids...)
	}
	switch len(ops) {
	case 0:
		return nil
	case 1:
		return ops[0]
	}
	return filters.Where().WithOperator(filters.And).WithOperands(ops)
}

func artistKeys(as []string) []string {
	var out []string
	for _, a := range as {
		if k := soundalike.NormalizeArtist(a); k != "" {
			out = append(out, k)
		}
	}
	return out
}
