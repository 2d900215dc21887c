package weaviate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/audotics/soundalike"
	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/alias"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/filters"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
	"github.com/weaviate/weaviate/entities/models"
)

// PublishOptions configure Publish. A nil *PublishOptions or a zero field
// means the default.
type PublishOptions struct {
	// Alias names the published catalogue (default DefaultAlias); each
	// model version goes to the collection <Alias>_<version>.
	Alias string
	// Shards of a new collection. Default: as many as the cluster has
	// nodes.
	Shards int
	// Replicas of each shard in a new collection. Default 2 when the
	// cluster has at least 2 nodes, else 1.
	Replicas int
	// BatchSize is how many objects one request sends. Default 500.
	BatchSize int
	// InFlight is how many batch requests may be outstanding at once,
	// spread over the nodes. Default 4.
	InFlight int
	// Progress, when set, is called now and then with the tracks examined
	// plus the objects deleted so far, and the total of both known yet.
	Progress func(done, total int)
}

// PublishSummary says what a Publish did.
type PublishSummary struct {
	Alias      string // the alias, now pointing to Collection
	Collection string // the model version's collection
	Model      string // the model version published
	Created    bool   // the collection was created by this run
	Switched   bool   // the alias was created or moved to Collection
	Tracks     int    // indexed tracks, all now in Collection
	Added      int    // objects sent for tracks the collection lacked
	Changed    int    // objects sent again because the track changed
	Deleted    int    // objects deleted: their tracks left the index
	Unchanged  int    // tracks already published as they are
}

// Consistency levels: writes reach every replica (ALL) so that a read at
// ONE sees them; publish reads the collection's state at QUORUM, which
// repairs replicas that a crashed run left out of step.
const (
	writeConsistency = "ALL"
	stateConsistency = "QUORUM"
	readConsistency  = "ONE"
)

// Publish makes the cluster hold the engine's index: every indexed track
// with its embedding, in the collection of the engine's model version
// (created when missing), then points the alias to that collection.
//
// It is incremental and safe to re-run after a crash: it reads the ids and
// content hashes already in the collection, sends only the tracks that are
// missing or differ (objects keyed by a UUID derived from the track id, so
// a re-sent track overwrites itself) and deletes the objects of tracks no
// longer indexed. The collection is marked complete, and the alias moves,
// only after all of that succeeded, so neither readers of the alias nor a
// Source (which reads the model version's collection) see a model version
// half published. A collection that holds another model of the same
// version is refused.
func Publish(ctx context.Context, eng *soundalike.Engine, c *Cluster, opts *PublishOptions) (PublishSummary, error) {
	o, err := c.publishDefaults(ctx, opts)
	if err != nil {
		return PublishSummary{}, err
	}
	info, err := eng.Model(ctx)
	if err != nil {
		return PublishSummary{}, fmt.Errorf("publish: %w", err)
	}
	sum := PublishSummary{Alias: o.Alias, Model: info.Version, Collection: CollectionName(o.Alias, info.Version)}
	if err := c.checkAliasFree(ctx, o.Alias); err != nil {
		return sum, err
	}
	if sum.Created, err = c.ensureCollection(ctx, sum.Collection, info, o.Shards, o.Replicas); err != nil {
		return sum, err
	}
	published, err := c.publishedState(ctx, sum.Collection)
	if err != nil {
		return sum, err
	}
	deletes, err := c.upload(ctx, eng, published, o, &sum)
	if err != nil {
		return sum, err
	}
	if err := c.deleteAll(ctx, sum.Collection, deletes, o, sum.Tracks); err != nil {
		return sum, err
	}
	if err := c.markComplete(ctx, sum.Collection, info); err != nil {
		return sum, err
	}
	if sum.Switched, err = c.pointAlias(ctx, o.Alias, sum.Collection); err != nil {
		return sum, err
	}
	return sum, nil
}

func (c *Cluster) publishDefaults(ctx context.Context, opts *PublishOptions) (PublishOptions, error) {
	var o PublishOptions
	if opts != nil {
		o = *opts
	}
	if o.Alias == "" {
		o.Alias = DefaultAlias
	}
	var errs []error
	if err := CheckAlias(o.Alias); err != nil {
		errs = append(errs, err)
	}
	if o.Shards < 0 {
		errs = append(errs, fmt.Errorf("shards %d: want 1 or more, or 0 for one per node", o.Shards))
	}
	if o.Replicas < 0 {
		errs = append(errs, fmt.Errorf("replication %d: want 1 or more, or 0 for the default", o.Replicas))
	}
	if o.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d: want 1 or more, or 0 for the default", o.BatchSize))
	}
	if o.InFlight < 0 {
		errs = append(errs, fmt.Errorf("in flight %d: want 1 or more, or 0 for the default", o.InFlight))
	}
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	if o.BatchSize == 0 {
		o.BatchSize = 500
	}
	if o.InFlight == 0 {
		o.InFlight = 4
	}
	if o.Shards == 0 || o.Replicas == 0 {
		nodes, err := c.Nodes(ctx)
		if err != nil {
			return o, err
		}
		if o.Shards == 0 {
			o.Shards = max(1, nodes)
		}
		if o.Replicas == 0 {
			o.Replicas = 1
			if nodes >= 2 {
				o.Replicas = 2
			}
		}
	}
	return o, nil
}

// publishedState reads the track id and content hash of every object in
// the collection, by cursor.
func (c *Cluster) publishedState(ctx context.Context, collection string) (map[string]string, error) {
	state := make(map[string]string)
	const page = 5000
	after := ""
	for {
		var objs []map[string]any
		err := c.do(ctx, func(wc *client.Client) error {
			get := wc.GraphQL().Get().WithClassName(collection).WithLimit(page).
				WithConsistencyLevel(stateConsistency).
				WithFields(graphql.Field{Name: propTrackID}, graphql.Field{Name: propContentHash},
					graphql.Field{Name: "_additional", Fields: []graphql.Field{{Name: "id"}}})
			if after != "" {
				get = get.WithAfter(after)
			}
			res, err := get.Do(ctx)
			if err != nil {
				return err
			}
			objs, err = getResults(res, collection)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read the published state of %s: %w", collection, err)
		}
		for _, o := range objs {
			id, _ := o[propTrackID].(string)
			h, _ := o[propContentHash].(string)
			state[id] = h
		}
		if len(objs) < page {
			return state, nil
		}
		add, _ := objs[len(objs)-1]["_additional"].(map[string]any)
		after, _ = add["id"].(string)
	}
}

// getResults extracts the objects of a GraphQL Get of one collection.
func getResults(res *models.GraphQLResponse, collection string) ([]map[string]any, error) {
	if len(res.Errors) > 0 {
		msgs := make([]string, len(res.Errors))
		for i, e := range res.Errors {
			msgs[i] = e.Message
		}
		return nil, &fault.WeaviateClientError{StatusCode: 500, Msg: strings.Join(msgs, "; ")}
	}
	get, _ := res.Data["Get"].(map[string]any)
	list, _ := get[collection].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// upload sends, in batches with up to o.InFlight requests outstanding, the
// indexed tracks whose object is missing or differs from what published
// holds, and returns the ids of the objects whose tracks left the index.
// Progress counts the tracks examined, out of the index's size.
//
// Batches finish in any order; that is safe because an object's UUID and
// content come from its track alone, and a failed run leaves the alias
// where it was, so the next run re-reads the state and sends what is
// still missing or stale.
func (c *Cluster) upload(ctx context.Context, eng *soundalike.Engine, published map[string]string, o PublishOptions, sum *PublishSummary) ([]string, error) {
	total := eng.Stats().Indexed
	s := newSender(ctx, o.InFlight, c.upsert)
	batch := make([]*models.Object, 0, o.BatchSize)
	report := func() {
		if o.Progress != nil {
			o.Progress(sum.Tracks, max(total, sum.Tracks))
		}
	}
	report()
	err := eng.ForEachEmbedding(ctx, func(t *soundalike.Track, v soundalike.Embedding) error {
		sum.Tracks++
		obj := trackObject(sum.Collection, sum.Model, t, append([]float32(nil), v...))
		h, ok := published[string(t.ID)]
		delete(published, string(t.ID))
		switch {
		case !ok:
			sum.Added++
		case h != obj.Properties.(map[string]any)[propContentHash]:
			sum.Changed++
		default:
			sum.Unchanged++
		}
		if !ok || h != obj.Properties.(map[string]any)[propContentHash] {
			if batch = append(batch, obj); len(batch) == o.BatchSize {
				if err := s.send(batch); err != nil {
					return err
				}
				batch = make([]*models.Object, 0, o.BatchSize)
			}
		}
		if sum.Tracks%o.BatchSize == 0 {
			report()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = s.send(batch)
	}
	if werr := s.wait(); werr != nil {
		err = werr // the first failed batch, the cause of a stop
	}
	if err != nil {
		return nil, fmt.Errorf("publish to %s: %w", sum.Collection, err)
	}
	report()
	deletes := make([]string, 0, len(published)) // what remains left the index
	for id := range published {
		deletes = append(deletes, id)
	}
	slices.Sort(deletes)
	sum.Deleted = len(deletes)
	return deletes, nil
}

// sender runs batch requests with at most a fixed number outstanding. The
// first failure cancels the others and stops further sends.
type sender struct {
	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{}
	wg     sync.WaitGroup
	fn     func(context.Context, []*models.Object) error
	once   sync.Once
	err    error
}

func newSender(ctx context.Context, inFlight int, fn func(context.Context, []*models.Object) error) *sender {
	ctx, cancel := context.WithCancel(ctx)
	return &sender{ctx: ctx, cancel: cancel, slots: make(chan struct{}, inFlight), fn: fn}
}

// send starts a request for batch once a slot is free. It returns an
// error, and sends nothing, once a request has failed.
func (s *sender) send(batch []*models.Object) error {
	select {
	case s.slots <- struct{}{}:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	if s.ctx.Err() != nil {
		<-s.slots
		return s.ctx.Err()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.slots }()
		if err := s.fn(s.ctx, batch); err != nil {
			s.once.Do(func() { s.err = err; s.cancel() })
		}
	}()
	return nil
}

// wait waits for every request sent and returns the first failure.
func (s *sender) wait() error {
	s.wg.Wait()
	s.cancel()
	return s.err
}

// deleteAll deletes the objects of the track ids, in batches. Progress
// goes on from done, the tracks examined.
func (c *Cluster) deleteAll(ctx context.Context, collection string, ids []string, o PublishOptions, done int) error {
	for lo := 0; lo < len(ids); lo += o.BatchSize {
		batch := ids[lo:min(lo+o.BatchSize, len(ids))]
		if err := c.deleteTracks(ctx, collection, batch); err != nil {
			return fmt.Errorf("publish to %s: %w", collection, err)
		}
		if o.Progress != nil {
			o.Progress(done+lo+len(batch), done+len(ids))
		}
	}
	return nil
}

func (c *Cluster) upsert(ctx context.Context, batch []*models.Object) error {
	return c.do(ctx, func(wc *client.Client) error {
		res, err := wc.Batch().ObjectsBatcher().WithObjects(batch...).WithConsistencyLevel(writeConsistency).Do(ctx)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Result != nil && r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
				// A replica that failed the write: the batch is retried
				// on another node, then by the next run.
				return &fault.WeaviateClientError{StatusCode: 500, Msg: fmt.Sprintf("object %s: %s", r.ID, r.Result.Errors.Error[0].Message)}
			}
		}
		return nil
	})
}

func (c *Cluster) deleteTracks(ctx context.Context, collection string, ids []string) error {
	where := filters.Where().WithPath([]string{propTrackID}).WithOperator(filters.ContainsAny).WithValueText(ids...)
	return c.do(ctx, func(wc *client.Client) error {
		res, err := wc.Batch().ObjectsBatchDeleter().WithClassName(collection).WithWhere(where).
			WithConsistencyLevel(writeConsistency).Do(ctx)
		if err != nil {
			return err
		}
		if res.Results != nil && res.Results.Failed > 0 {
			return &fault.WeaviateClientError{StatusCode: 500, Msg: fmt.Sprintf("%d of %d deletes failed", res.Results.Failed, res.Results.Matches)}
		}
		return nil
	})
}

// checkAliasFree refuses an alias that is the name of a collection, before
// anything is sent: Weaviate would refuse the alias only at the end of the
// upload, leaving the whole upload in a collection no alias names.
func (c *Cluster) checkAliasFree(ctx context.Context, name string) error {
	target, err := c.aliasTarget(ctx, name)
	if err != nil || target != "" {
		return err
	}
	cl, err := c.collection(ctx, name)
	if err != nil {
		return err
	}
	if cl != nil {
		return fmt.Errorf("alias %s: the cluster has a collection of that name, and an alias cannot share it: publish under another alias (--collection)", name)
	}
	return nil
}

// pointAlias makes alias point to collection and reports whether it had
// to change.
func (c *Cluster) pointAlias(ctx context.Context, name, collection string) (bool, error) {
	target, err := c.aliasTarget(ctx, name)
	if err != nil {
		return false, err
	}
	if target == collection {
		return false, nil
	}
	a := &alias.Alias{Alias: name, Class: collection}
	err = c.do(ctx, func(wc *client.Client) error {
		if target == "" {
			return wc.Alias().AliasCreator().WithAlias(a).Do(ctx)
		}
		return wc.Alias().AliasUpdater().WithAlias(a).Do(ctx)
	})
	if err != nil {
		return false, fmt.Errorf("point alias %s to %s: %w", name, collection, err)
	}
	return true, nil
}

// aliasTarget returns the collection an alias points to, "" when there is
// no such alias.
func (c *Cluster) aliasTarget(ctx context.Context, name string) (string, error) {
	var target string
	err := c.do(ctx, func(wc *client.Client) error {
		a, err := wc.Alias().AliasGetter().WithAliasName(name).Do(ctx)
		var we *fault.WeaviateClientError
		if errors.As(err, &we) && we.StatusCode == 404 {
			return nil
		}
		if err != nil {
			return err
		}
		target = a.Class
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("alias %s: %w", name, err)
	}
	return target, nil
}

// Published returns the collection the alias points to ("" when there is
// none).
func (c *Cluster) Published(ctx context.Context, alias string) (string, error) {
	return c.aliasTarget(ctx, alias)
}
