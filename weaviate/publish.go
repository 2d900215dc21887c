package weaviate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/audotics/soundalike"
	"github.com/go-openapi/strfmt"
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
// repairs replicas that a crashed run left out of step. Reads of a
// collection with one replica of each shard send no level (consistency).
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
//
// A collection it creates reaches the cluster's nodes one after another
// (Weaviate replicates its schema through Raft): a read or a batch that
// every node fails for want of it is sent again, for up to 5 s from the
// creation, and then fails naming those nodes. Another failure is not
// waited on.
//
// An error once the collection exists says what state the collection is
// left in and that a re-run completes it. A publish stopped by ctx wraps
// ctx.Err() and names context.Cause (the signal). A failure of the
// cluster also names the nodes that do not answer: writes go to every
// replica (consistency ALL), so a publish completes only with every node
// up.
func Publish(ctx context.Context, eng *soundalike.Engine, c *Cluster, opts *PublishOptions) (PublishSummary, error) {
	o, err := c.publishDefaults(ctx, opts)
	if err != nil {
		return PublishSummary{}, c.publishFailed(ctx, err, nil)
	}
	info, err := eng.Model(ctx)
	if err != nil {
		return PublishSummary{}, fmt.Errorf("publish: %w", err)
	}
	sum := PublishSummary{Alias: o.Alias, Model: info.Version, Collection: CollectionName(o.Alias, info.Version)}
	if err := c.checkAliasFree(ctx, o.Alias); err != nil {
		return sum, c.publishFailed(ctx, err, nil)
	}
	var st collectionState
	if st, err = c.ensureCollection(ctx, sum.Collection, info, o.Shards, o.Replicas); err != nil {
		return sum, c.publishFailed(ctx, err, nil)
	}
	sum.Created = !st.created.IsZero()
	fail := func(err error) (PublishSummary, error) {
		return sum, c.publishFailed(ctx, fmt.Errorf("publish to %s: %w", sum.Collection, err), &st)
	}
	published, err := c.publishedState(ctx, &st)
	if err != nil {
		return fail(err)
	}
	deletes, err := c.upload(ctx, eng, &st, published, o, &sum)
	if err != nil {
		return fail(err)
	}
	if err := c.deleteAll(ctx, sum.Collection, deletes, o, sum.Tracks); err != nil {
		return fail(err)
	}
	if err := c.markComplete(ctx, sum.Collection, info); err != nil {
		return fail(err)
	}
	st.incomplete = false
	if sum.Switched, err = c.pointAlias(ctx, o.Alias, sum.Collection); err != nil {
		return fail(err)
	}
	return sum, nil
}

// publishFailed completes the error of a failed Publish: what state the
// collection is left in (st; nil when the publish failed before it had
// one) and that a re-run completes it. After a failure of the cluster
// (unavailable, or objects refused) it also names the nodes that do not
// answer; a refusal of the request itself (an alias that names a
// collection) has nothing to do with them, and reads no node.
func (c *Cluster) publishFailed(ctx context.Context, err error, st *collectionState) error {
	if ctx.Err() != nil {
		why := ctx.Err().Error()
		if cause := context.Cause(ctx); cause != ctx.Err() {
			why = cause.Error()
		}
		if st == nil {
			return fmt.Errorf("publish stopped (%s) before it sent any track: %w", why, ctx.Err())
		}
		return fmt.Errorf("publish to %s stopped (%s) before it completed: %w; %s", st.name, why, ctx.Err(), st.rerun(""))
	}
	var refused *objectsRefused
	if errors.Is(err, soundalike.ErrIndexUnavailable) || errors.As(err, &refused) {
		if silent := c.silentNodes(ctx); len(silent) > 0 {
			which := "node " + silent[0] + " does not answer"
			if len(silent) > 1 {
				which = "nodes " + strings.Join(silent, ", ") + " do not answer"
			}
			next := "start it again, then run `soundalike publish` again"
			if st != nil {
				next = "start it again; " + st.rerun(" once every node is up")
			}
			return fmt.Errorf("%w; %s, and a publish writes to every replica (consistency ALL): %s", err, which, next)
		}
	}
	if st == nil {
		return err
	}
	return fmt.Errorf("%w; %s", err, st.rerun(" once that is fixed"))
}

// collectionState is what Publish knows of the collection it publishes to.
type collectionState struct {
	name       string
	created    time.Time // when this publish created it; zero when it did not
	incomplete bool      // its description marks it incomplete
	replicated bool      // it has more than one replica of each shard (see consistency)
}

// rerun says what state a publish that failed leaves the collection in,
// and that running it again (when: once what) completes it.
func (st *collectionState) rerun(when string) string {
	if st.incomplete {
		return fmt.Sprintf("%s stays marked incomplete (a serve --weaviate of its model answers 503) until a publish completes: "+
			"run `soundalike publish` again%s to complete it; it sends only what is missing", st.name, when)
	}
	return fmt.Sprintf("%s may hold only part of this publish's changes: run `soundalike publish` again%s to complete it; "+
		"it sends only what is missing or changed", st.name, when)
}

// silentNodes returns the URLs of the nodes that do not answer a liveness
// check, each with why, when some do: a publish needs them all. When none
// answers, it returns nothing: the request's own error names them all.
func (c *Cluster) silentNodes(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	silent := make([]string, len(c.nodes))
	var wg sync.WaitGroup
	for i := range c.nodes {
		n := &c.nodes[i]
		wg.Go(func() {
			wc, err := n.client()
			if err != nil {
				silent[i] = fmt.Sprintf("%s (%v)", n.url, err)
				return
			}
			live, err := wc.Misc().LiveChecker().Do(ctx)
			switch {
			case err != nil:
				err = cause(err)
				if ue, ok := errors.AsType[*url.Error](err); ok {
					err = ue.Err // the URL is named already
				}
				silent[i] = fmt.Sprintf("%s (%v)", n.url, err)
			case !live:
				silent[i] = n.url + " (not live)"
			}
		})
	}
	wg.Wait()
	out := slices.DeleteFunc(silent, func(s string) bool { return s == "" })
	if len(out) == len(c.nodes) {
		return nil
	}
	return out
}

// checkTimeout bounds the liveness check of a node after a failure.
const checkTimeout = 2 * time.Second

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
			return o, fmt.Errorf("publish: count the cluster's nodes for the default shards and replicas: %w", err)
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

// schemaSpread bounds how long a publish waits, from its creation of a
// collection, for the nodes to hold the collection. Weaviate's schema
// reaches the nodes through Raft: the creation returns once the leader has
// applied it, and each other node applies it when the leader's next
// message reaches it, on a healthy cluster within a heartbeat (tens of
// milliseconds; longer under load). A node without it after a few seconds
// is behind for another reason (cut off from the leader, overloaded), and
// waiting longer only delays the error that says so.
const schemaSpread = 5 * time.Second

// doOnCollection runs fn, a request to st's collection, as do does. When
// this publish created the collection, a request that every node failed
// because it lacks the collection (a *collectionLacking: the creation has
// not reached them yet) is sent again after a pause, 50 ms doubling up to
// a second, until schemaSpread has passed since the creation; the error
// then says which nodes lacked it, how long after the creation, and for
// how long the request was sent again. Any other failure, and a lack of a
// collection this publish did not create (deleted since it was read), is
// returned at once. ctx ends the wait.
func (c *Cluster) doOnCollection(ctx context.Context, st *collectionState, fn func(*client.Client) error) error {
	began := time.Now()
	pause := 50 * time.Millisecond
	for {
		err := c.do(ctx, fn)
		lacking, ok := errors.AsType[*collectionLacking](err)
		if !ok || st.created.IsZero() {
			return err
		}
		which, logs := "node "+lacking.nodes[0]+" lacks", "that node's log"
		if len(lacking.nodes) > 1 {
			which, logs = "nodes "+strings.Join(lacking.nodes, ", ")+" lack", "those nodes' logs"
		}
		left := schemaSpread - time.Since(st.created)
		if left <= 0 {
			return fmt.Errorf("%s collection %s %v after this publish created it (the request was sent again for %v), "+
				"longer than a node that keeps up with the cluster's Raft leader takes to apply it: check %s: %w",
				which, st.name, roundWait(time.Since(st.created)), roundWait(time.Since(began)), logs, err)
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s collection %s, created by this publish: stopped waiting for it after %v: %w", which, st.name, roundWait(time.Since(began)), ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, time.Second)
	}
}

// publishedState reads the track id and content hash of every object in
// the collection, by cursor.
func (c *Cluster) publishedState(ctx context.Context, st *collectionState) (map[string]string, error) {
	collection := st.name
	state := make(map[string]string)
	const page = 5000
	after := ""
	for {
		var objs []map[string]any
		err := c.doOnCollection(ctx, st, func(wc *client.Client) error {
			get := wc.GraphQL().Get().WithClassName(collection).WithLimit(page).
				WithConsistencyLevel(consistency(st.replicated, stateConsistency)).
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

// getResults extracts the objects of a GraphQL Get of one collection, or
// the failure its errors say (answerErrors).
func getResults(res *models.GraphQLResponse, collection string) ([]map[string]any, error) {
	if err := answerErrors(res, collection); err != nil {
		return nil, err
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
func (c *Cluster) upload(ctx context.Context, eng *soundalike.Engine, st *collectionState, published map[string]string, o PublishOptions, sum *PublishSummary) ([]string, error) {
	total := eng.Stats().Indexed
	s := newSender(ctx, o.InFlight, func(ctx context.Context, batch []*models.Object) error {
		return c.upsert(ctx, st, batch)
	})
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
		return nil, err
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
			return err
		}
		if o.Progress != nil {
			o.Progress(done+lo+len(batch), done+len(ids))
		}
	}
	return nil
}

// upsert writes a batch of objects to st's collection. Objects the
// cluster refuses one by one (a replica that did not take the write, a
// vector of another dimension) fail the batch with what the cluster said,
// and are not sent to another node: any node coordinates the write to the
// same replicas. Only a batch whose every refused object the node refused
// for want of the collection goes to the next node (objectsRefused).
func (c *Cluster) upsert(ctx context.Context, st *collectionState, batch []*models.Object) error {
	return c.doOnCollection(ctx, st, func(wc *client.Client) error {
		res, err := wc.Batch().ObjectsBatcher().WithObjects(batch...).WithConsistencyLevel(writeConsistency).Do(ctx)
		if err != nil {
			return err
		}
		track := make(map[strfmt.UUID]any, len(batch))
		for _, o := range batch {
			props, _ := o.Properties.(map[string]any) // as trackObject builds it
			track[o.ID] = props[propTrackID]
		}
		r := refusals{collection: st.name}
		for _, o := range res {
			if o.Result != nil {
				r.add(track[o.ID], o.Result.Errors)
			}
		}
		return r.err("writes", len(batch))
	})
}

// deleteTracks deletes the objects of the track ids. Deletes the cluster
// fails one by one fail the batch as upsert's writes do.
func (c *Cluster) deleteTracks(ctx context.Context, collection string, ids []string) error {
	where := filters.Where().WithPath([]string{propTrackID}).WithOperator(filters.ContainsAny).WithValueText(ids...)
	return c.do(ctx, func(wc *client.Client) error {
		res, err := wc.Batch().ObjectsBatchDeleter().WithClassName(collection).WithWhere(where).
			WithConsistencyLevel(writeConsistency).WithOutput("verbose").Do(ctx)
		if err != nil {
			return err
		}
		if res.Results == nil || res.Results.Failed == 0 {
			return nil
		}
		track := make(map[strfmt.UUID]string, len(ids))
		for _, id := range ids {
			track[objectID(soundalike.TrackID(id))] = id
		}
		r := refusals{collection: collection}
		for _, o := range res.Results.Objects {
			if o.Status != nil && *o.Status == models.BatchDeleteResponseResultsObjectsItems0StatusFAILED {
				errs := o.Errors
				if errs == nil {
					errs = &models.ErrorResponse{Error: []*models.ErrorResponseErrorItems0{{Message: "failed, with no reason given"}}}
				}
				r.add(track[o.ID], errs)
			}
		}
		if r.n == 0 { // no object listed: the count is all there is
			return &objectsRefused{msg: fmt.Sprintf("the cluster failed %d of the %d deletes of a batch", res.Results.Failed, res.Results.Matches)}
		}
		return r.err("deletes", int(res.Results.Matches))
	})
}

// refusals collects the objects of a batch request to a collection that
// the cluster refused, with what it said of the first few.
type refusals struct {
	collection   string
	n            int
	noCollection int // of the n, those refused for want of the collection only
	msgs         []string
}

// add counts the object of a track as refused when errs holds a message.
func (r *refusals) add(track any, errs *models.ErrorResponse) {
	if errs == nil || len(errs.Error) == 0 {
		return
	}
	r.n++
	if saysNoCollection(r.collection, errs) {
		r.noCollection++
	}
	if len(r.msgs) < 3 {
		said := make([]string, len(errs.Error))
		for i, e := range errs.Error {
			// Weaviate ends some messages with the nil error it wrapped.
			said[i] = strings.TrimSuffix(e.Message, ": <nil>")
		}
		r.msgs = append(r.msgs, fmt.Sprintf("track %v: %s", track, strings.Join(said, "; ")))
	}
}

// err is the error of a batch of total writes or deletes (what) with the
// refusals, nil when there is none.
func (r *refusals) err(what string, total int) error {
	if r.n == 0 {
		return nil
	}
	more := ""
	if r.n > len(r.msgs) {
		more = fmt.Sprintf("; and %d more", r.n-len(r.msgs))
	}
	return &objectsRefused{msg: fmt.Sprintf("the cluster refused %d of the %d %s of a batch: %s%s", r.n, total, what, strings.Join(r.msgs, "; "), more),
		noCollection: r.noCollection == r.n}
}

// saysNoCollection reports whether every message of an object's refusal says
// that the node holds no such collection: what Weaviate answers for the
// objects of a collection whose creation the node has not applied yet
// when it reads the schema locally (COLLECTION_RETRIEVAL_STRATEGY
// LocalOnly: `class 'Tracks_v1' not present in schema`) or has not
// created the collection's index yet (`could not find index for class
// Tracks_v1. It might have been deleted in the meantime`).
func saysNoCollection(collection string, errs *models.ErrorResponse) bool {
	for _, e := range errs.Error {
		if e == nil || !strings.Contains(e.Message, "class '"+collection+"' not present in schema") &&
			!strings.Contains(e.Message, "could not find index for class "+collection+".") {
			return false
		}
	}
	return true
}

// objectsRefused is a batch request the cluster took but of which it
// refused some objects.
type objectsRefused struct {
	msg string
	// noCollection: the node refused every one of them for want of the
	// collection (a node the collection's creation has not reached yet),
	// so the next node is asked (unreachable).
	noCollection bool
}

func (e *objectsRefused) Error() string { return e.msg }

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
	target, err := read(ctx, c, func(ctx context.Context, wc *client.Client) (string, error) {
		a, err := wc.Alias().AliasGetter().WithAliasName(name).Do(ctx)
		var we *fault.WeaviateClientError
		if errors.As(err, &we) && we.StatusCode == 404 {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return a.Class, nil
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
