package weaviate_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/weaviate"
)

// The tests run against a real cluster: SOUNDALIKE_TEST_WEAVIATE names
// the file scripts/weaviate-test-cluster wrote (DIR/urls) or lists the
// node URLs. Without it they skip, unless SOUNDALIKE_TEST_WEAVIATE_REQUIRED
// is set (CI), when they fail.

// clusterURLs returns the test cluster's node URLs and the cluster's
// directory ("" when given as a list).
func clusterURLs(t testing.TB) ([]string, string) {
	t.Helper()
	v := os.Getenv("SOUNDALIKE_TEST_WEAVIATE")
	if v == "" {
		if os.Getenv("SOUNDALIKE_TEST_WEAVIATE_REQUIRED") != "" {
			t.Fatal("SOUNDALIKE_TEST_WEAVIATE is not set and SOUNDALIKE_TEST_WEAVIATE_REQUIRED is: start a cluster with scripts/weaviate-test-cluster (see docs/development.md)")
		}
		t.Skip("SOUNDALIKE_TEST_WEAVIATE is not set: start a cluster with scripts/weaviate-test-cluster start DIR and export SOUNDALIKE_TEST_WEAVIATE=DIR/urls (see docs/development.md)")
	}
	if b, err := os.ReadFile(v); err == nil {
		return weaviate.ParseURLs(string(b)), filepath.Dir(v)
	}
	return weaviate.ParseURLs(v), ""
}

func dial(t testing.TB) (*weaviate.Cluster, string) {
	t.Helper()
	urls, dir := clusterURLs(t)
	c, err := weaviate.Dial(urls, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

// newAlias is a fresh alias for one test, unpublished when it ends.
func newAlias(t testing.TB, c *weaviate.Cluster) string {
	var b [4]byte
	rand.Read(b[:])
	alias := "T" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if err := c.Unpublish(context.Background(), alias); err != nil {
			t.Errorf("unpublish %s: %v", alias, err)
		}
	})
	return alias
}

// catalogue builds the sample catalogue (testdata/spotify_sample.csv,
// 3,041 tracks) with a small random model's index, in a database of its
// own, and returns its path. Nothing holds the file afterwards.
func catalogue(t testing.TB) string {
	t.Helper()
	return catalogueOf(t, 7)
}

// catalogueOf is catalogue with the random model of another seed.
func catalogueOf(t testing.TB, seed uint64) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sample.db")
	write(t, path, func(eng *soundalike.Engine) error {
		err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			src, err := ingest.Open("../testdata/spotify_sample.csv")
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = ingest.Run(ctx, src, tx, nil)
			return err
		})
		if err != nil {
			return err
		}
		m, err := synth.Model(seed, []int{32}, 64)
		if err != nil {
			return err
		}
		_, err = eng.SaveModel(ctx, m, soundalike.ModelRun{})
		return err
	})
	return path
}

// write opens the database at path for writing, runs fn, reindexes and
// closes it.
func write(t testing.TB, path string, fn func(*soundalike.Engine) error) {
	t.Helper()
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := fn(eng); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reindex(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// local loads the database at path into memory (Detached), searching its
// own index.
func local(t testing.TB, path string) *soundalike.Engine {
	t.Helper()
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// served loads the database at path into memory (Detached), searching
// through the cluster.
func served(t testing.TB, path string, c *weaviate.Cluster, alias string) *soundalike.Engine {
	t.Helper()
	src, err := weaviate.NewSource(c, alias)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true, VectorSource: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	return eng
}

func publish(t testing.TB, eng *soundalike.Engine, c *weaviate.Cluster, o *weaviate.PublishOptions) weaviate.PublishSummary {
	t.Helper()
	sum, err := weaviate.Publish(context.Background(), eng, c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", sum)
	return sum
}

type embedded struct {
	id soundalike.TrackID
	v  []float32
}

func embeddings(t testing.TB, eng *soundalike.Engine) []embedded {
	t.Helper()
	var out []embedded
	err := eng.ForEachEmbedding(context.Background(), func(tr *soundalike.Track, v soundalike.Embedding) error {
		out = append(out, embedded{tr.ID, slices.Clone(v)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exact returns the k ids closest to q by exact cosine.
func exact(all []embedded, q []float32, k int) []soundalike.TrackID {
	type scored struct {
		id soundalike.TrackID
		s  float32
	}
	ss := make([]scored, len(all))
	for i, e := range all {
		var d float32
		for j := range q {
			d += q[j] * e.v[j]
		}
		ss[i] = scored{e.id, d}
	}
	sort.Slice(ss, func(a, b int) bool { return ss[a].s > ss[b].s })
	out := make([]soundalike.TrackID, k)
	for i := range out {
		out[i] = ss[i].id
	}
	return out
}

func TestPublishRecallAgainstExactSearch(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	all := embeddings(t, eng)
	if sum.Tracks != len(all) || sum.Added != len(all) || sum.Changed+sum.Deleted+sum.Unchanged != 0 || !sum.Created || !sum.Switched {
		t.Fatalf("first publish of %d tracks: %+v", len(all), sum)
	}
	if n, err := c.Count(context.Background(), sum.Collection); err != nil || n != len(all) {
		t.Fatalf("collection holds %d objects (%v), want %d", n, err, len(all))
	}
	if target, err := c.Published(context.Background(), alias); err != nil || target != sum.Collection {
		t.Fatalf("alias %s → %q (%v), want %s", alias, target, err, sum.Collection)
	}

	remote := served(t, path, c, alias)
	if st := remote.Stats(); st.Indexed != len(all) {
		t.Errorf("Stats().Indexed through the cluster = %d, want the %d tracks published", st.Indexed, len(all))
	}
	const k, queries = 20, 200
	hits := 0
	for i := 0; i < queries; i++ {
		q := all[(i*7919)%len(all)]
		want := exact(all, q.v, k)
		res, err := remote.SimilarTo(context.Background(), soundalike.Query{Vector: q.v}, k, &soundalike.SearchOptions{NoDedupe: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range res.Neighbors {
			if slices.Contains(want, n.ID) {
				hits++
			}
		}
	}
	recall := float64(hits) / (k * queries)
	t.Logf("recall@%d through Weaviate against exact search: %.4f (%d queries, %d tracks)", k, recall, queries, len(all))
	if recall < 0.95 {
		t.Fatalf("recall@%d = %.4f, want ≥ 0.95", k, recall)
	}
}

// TestSimilarResponsesMatchLocal compares GET /similar answered by the
// local index and through Weaviate, field by field.
func TestSimilarResponsesMatchLocal(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	local := httptest.NewServer(server.New(eng, nil))
	defer local.Close()
	remote := httptest.NewServer(server.New(served(t, path, c, alias), nil))
	defer remote.Close()

	all := embeddings(t, eng)
	same, results := 0, 0
	for i := 0; i < 50; i++ {
		id := all[(i*104729)%len(all)].id
		for _, query := range []string{"k=10", "k=10&exclude_artist=true", "k=5&dedupe=false"} {
			path := "/similar?track=" + string(id) + "&" + query
			l, r := getSimilar(t, local.URL+path), getSimilar(t, remote.URL+path)
			if l.Model != r.Model || !jsonEqual(t, l.Track, r.Track) || len(l.Results) != len(r.Results) {
				t.Fatalf("%s: local and Weaviate differ:\nlocal  %+v\nremote %+v", path, l, r)
			}
			byID := map[string]server.Result{}
			for _, x := range l.Results {
				byID[x.TrackID] = x
			}
			for _, x := range r.Results {
				results++
				lx, ok := byID[x.TrackID]
				if !ok {
					continue // approximate searches may differ at the edge
				}
				same++
				if lx.Name != x.Name || !slices.Equal(lx.Artists, x.Artists) || math.Abs(float64(lx.Score-x.Score)) > 1e-4 {
					t.Errorf("%s: %s: local %+v, Weaviate %+v", path, x.TrackID, lx, x)
				}
			}
		}
	}
	t.Logf("%d of %d results in both answers", same, results)
	if float64(same) < 0.95*float64(results) {
		t.Fatalf("only %d of %d results are the same through Weaviate", same, results)
	}
}

func getSimilar(t *testing.T, url string) server.SimilarResponse {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out server.SimilarResponse
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func jsonEqual(t *testing.T, a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// change imports a changed track, a new one and deletes one, then
// reindexes: what an incremental publish must send. It returns the
// database reloaded.
func change(t *testing.T, path string, all []embedded) (eng *soundalike.Engine, changed, added, deleted soundalike.TrackID) {
	t.Helper()
	ctx := context.Background()
	changed, deleted = all[10].id, all[20].id
	write(t, path, func(eng *soundalike.Engine) error {
		return eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			tr, err := eng.Track(ctx, changed)
			if err != nil {
				return err
			}
			tr.Name += " (remastered)"
			tr.Features.Energy = 1 - tr.Features.Energy
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
			nt := *tr
			nt.ID, nt.SpotifyID, nt.Name = "newtrack000000000000001", "", "A new track"
			// Its own sound and artist, so that its vector is nobody else's.
			nt.Features.Valence, nt.Features.Danceability = 1-tr.Features.Valence, 1-tr.Features.Danceability
			nt.Artists = []string{"A new artist"}
			added = nt.ID
			if _, _, err := tx.PutTrack(&nt); err != nil {
				return err
			}
			_, err = tx.DeleteTrack(deleted)
			return err
		})
	})
	return local(t, path), changed, added, deleted
}

func TestPublishIsIncremental(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	all := embeddings(t, eng)
	first := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	again := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	if again.Added+again.Changed+again.Deleted != 0 || again.Unchanged != len(all) || again.Created || again.Switched {
		t.Fatalf("a re-run with nothing changed: %+v", again)
	}

	eng, changed, added, deleted := change(t, path, all)
	var last [2]int
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias, Progress: func(done, total int) { last = [2]int{done, total} }})
	if sum.Added != 1 || sum.Changed != 1 || sum.Deleted != 1 || sum.Unchanged != len(all)-2 || sum.Collection != first.Collection {
		t.Fatalf("after changing, adding and deleting one track each: %+v", sum)
	}
	if last[0] != last[1] || last[1] != len(all)+1 {
		t.Fatalf("last progress %d of %d: want %d tracks examined and 1 deleted", last[0], last[1], len(all))
	}
	if n, err := c.Count(context.Background(), sum.Collection); err != nil || n != len(all) {
		t.Fatalf("collection holds %d objects (%v), want %d", n, err, len(all))
	}
	remote := served(t, path, c, alias)
	for _, id := range []soundalike.TrackID{changed, added} {
		v, err := eng.Embed(mustTrack(t, eng, id))
		if err != nil {
			t.Fatal(err)
		}
		res, err := remote.SimilarTo(context.Background(), soundalike.Query{Vector: v}, 1, &soundalike.SearchOptions{NoDedupe: true})
		if err != nil || len(res.Neighbors) != 1 || res.Neighbors[0].ID != id || res.Neighbors[0].Score < 0.9999 {
			t.Fatalf("nearest to %s's new vector: %+v, %v", id, res.Neighbors, err)
		}
	}
	src, _ := weaviate.NewSource(c, alias)
	ns, err := src.Nearest(context.Background(), sum.Model, all[20].v, 5, &soundalike.Filter{IDs: []soundalike.TrackID{deleted}})
	if err != nil || len(ns) != 0 {
		t.Fatalf("the deleted track %s is still published: %+v, %v", deleted, ns, err)
	}
}

func mustTrack(t *testing.T, eng *soundalike.Engine, id soundalike.TrackID) *soundalike.Track {
	t.Helper()
	tr, err := eng.Track(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// crashedPublish publishes eng under alias and stops it after 800 tracks
// examined. One request in flight: sending the second batch waits for the
// first to land, so the crash leaves the first 400 tracks in.
func crashedPublish(t *testing.T, eng *soundalike.Engine, c *weaviate.Cluster, alias string) {
	t.Helper()
	ctx, crash := context.WithCancel(context.Background())
	defer crash()
	_, err := weaviate.Publish(ctx, eng, c, &weaviate.PublishOptions{Alias: alias, BatchSize: 400, InFlight: 1, Progress: func(done, total int) {
		if done >= 800 {
			crash()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("publish stopped after a batch: %v, want context.Canceled", err)
	}
}

// TestPublishResumesAfterACrash stops a publish after its first batch of
// uploads, and another after its first delete: the next run finishes the
// job with no duplicate and no delete lost, and the alias moves only then.
func TestPublishResumesAfterACrash(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	all := embeddings(t, eng)

	crashedPublish(t, eng, c, alias)
	if target, err := c.Published(context.Background(), alias); err != nil || target != "" {
		t.Fatalf("alias after a crashed first publish → %q (%v), want none", target, err)
	}
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	if sum.Added+sum.Unchanged != len(all) || sum.Unchanged < 400 || !sum.Switched {
		t.Fatalf("the run after the crash: %+v", sum)
	}
	if n, err := c.Count(context.Background(), sum.Collection); err != nil || n != len(all) {
		t.Fatalf("collection holds %d objects (%v), want %d: duplicates or losses", n, err, len(all))
	}

	// Delete three tracks; the next publish crashes after the first delete.
	write(t, path, func(w *soundalike.Engine) error {
		return w.Import(context.Background(), func(tx *soundalike.ImportTx) error {
			for _, e := range all[:3] {
				if _, err := tx.DeleteTrack(e.id); err != nil {
					return err
				}
			}
			return nil
		})
	})
	eng = local(t, path)
	ctx, crash := context.WithCancel(context.Background())
	defer crash()
	_, err := weaviate.Publish(ctx, eng, c, &weaviate.PublishOptions{Alias: alias, BatchSize: 1, Progress: func(done, total int) {
		if done > len(all)-3 { // the tracks examined, then one delete
			crash()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("publish stopped after a delete: %v, want context.Canceled", err)
	}
	sum = publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	if sum.Deleted != 2 || sum.Added+sum.Changed != 0 {
		t.Fatalf("the run after the crash: %+v, want the 2 deletes left", sum)
	}
	if n, err := c.Count(context.Background(), sum.Collection); err != nil || n != len(all)-3 {
		t.Fatalf("collection holds %d objects (%v), want %d", n, err, len(all)-3)
	}
}

// TestNewModelSwitchesAliasWhenComplete publishes a second model version:
// a new collection, and the alias moves to it only at the end.
func TestNewModelSwitchesAliasWhenComplete(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	first := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	m, err := synth.Model(8, []int{32}, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	write(t, path, func(w *soundalike.Engine) error {
		_, err := w.SaveModel(ctx, m, soundalike.ModelRun{})
		return err
	})
	eng = local(t, path)
	var during []string
	second := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias, Progress: func(done, total int) {
		target, err := c.Published(ctx, alias)
		if err != nil {
			t.Error(err)
		}
		during = append(during, target)
	}})
	if second.Collection == first.Collection || !second.Created || !second.Switched || second.Added != first.Tracks {
		t.Fatalf("second model's publish: %+v (first %+v)", second, first)
	}
	for _, target := range during {
		if target != first.Collection {
			t.Fatalf("alias pointed to %s during the upload, want %s until it completed", target, first.Collection)
		}
	}
	if target, _ := c.Published(ctx, alias); target != second.Collection {
		t.Fatalf("alias → %s after the upload, want %s", target, second.Collection)
	}
}

// TestFiltersAsWhereClauses checks the where clauses against the local
// engine's reading of the same filter, by brute force over the catalogue.
func TestFiltersAsWhereClauses(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	tracks, err := eng.Tracks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	src, _ := weaviate.NewSource(c, alias)
	ip := func(v int) *int { return &v }
	artist := tracks[5].Artists[0]
	for _, f := range []soundalike.Filter{
		{Genres: []string{"ROCK"}},
		{YearMin: ip(2010), YearMax: ip(2012)},
		{YearMax: ip(1980)},
		{PopularityMin: ip(80)},
		{PopularityMax: ip(10), Genres: []string{"latin", "edm"}},
		{Artists: []string{strings.ToUpper(artist)}},
		{ExcludeArtists: []string{artist}, PopularityMin: ip(90)},
		{IDs: []soundalike.TrackID{tracks[1].ID, "spotify:track:" + tracks[2].ID}},
	} {
		var want []soundalike.TrackID
		for i := range tracks {
			if matches(&f, &tracks[i]) {
				want = append(want, tracks[i].ID)
			}
		}
		q := make([]float32, 64)
		q[0] = 1
		ns, err := src.Nearest(context.Background(), sum.Model, q, 10000, &f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		var got []soundalike.TrackID
		for _, n := range ns {
			got = append(got, n.ID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("filter %+v: Weaviate matched %d tracks, the catalogue %d", f, len(got), len(want))
		}
	}
}

// matches is Filter's documented meaning, read straight off the track.
func matches(f *soundalike.Filter, t *soundalike.Track) bool {
	if len(f.Genres) > 0 && !slices.ContainsFunc(t.Genres, func(g string) bool {
		return slices.ContainsFunc(f.Genres, func(w string) bool { return strings.EqualFold(g, w) })
	}) {
		return false
	}
	y := t.ReleaseYear()
	if (f.YearMin != nil || f.YearMax != nil) && y == 0 {
		return false
	}
	if (f.YearMin != nil && y < *f.YearMin) || (f.YearMax != nil && y > *f.YearMax) {
		return false
	}
	if (f.PopularityMin != nil && t.Popularity < *f.PopularityMin) || (f.PopularityMax != nil && t.Popularity > *f.PopularityMax) {
		return false
	}
	by := func(as []string) bool {
		return slices.ContainsFunc(t.Artists, func(a string) bool {
			return slices.ContainsFunc(as, func(w string) bool { return soundalike.NormalizeArtist(a) == soundalike.NormalizeArtist(w) })
		})
	}
	if len(f.Artists) > 0 && !by(f.Artists) {
		return false
	}
	if len(f.ExcludeArtists) > 0 && by(f.ExcludeArtists) {
		return false
	}
	if len(f.IDs) > 0 && !slices.ContainsFunc(f.IDs, func(id soundalike.TrackID) bool {
		ref, _ := soundalike.ParseTrackRef(string(id))
		return ref == t.ID
	}) {
		return false
	}
	return true
}

// TestQueriesSurviveNodeLoss sends a stream of queries while node 2 of the
// cluster stops and starts again: with replication 2 and reads at ONE,
// every query answers.
func TestQueriesSurviveNodeLoss(t *testing.T) {
	c, dir := dial(t)
	if dir == "" || len(c.URLs()) < 3 {
		t.Skip("needs a cluster of 3 or more nodes started by scripts/weaviate-test-cluster (SOUNDALIKE_TEST_WEAVIATE=DIR/urls)")
	}
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	publish(t, eng, c, &weaviate.PublishOptions{Alias: alias, Replicas: 2})
	remote := served(t, path, c, alias)
	all := embeddings(t, eng)
	script, err := filepath.Abs("../scripts/weaviate-test-cluster")
	if err != nil {
		t.Fatal(err)
	}
	cluster := func(cmd string) {
		out, err := exec.Command(script, cmd, dir, "2").CombinedOutput()
		if err != nil {
			t.Errorf("%s %s: %v\n%s", script, cmd, err, out)
		}
	}
	t.Cleanup(func() { cluster("start-node") }) // whatever happens, the next test gets 3 nodes

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				_, err := remote.Similar(context.Background(), all[i%len(all)].id, 10, nil)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	waitFor := func(n int64) {
		for sent.Load() < n {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(300)
	cluster("stop-node")
	before := sent.Load()
	waitFor(before + 1000)
	cluster("start-node")
	after := sent.Load()
	waitFor(after + 500)
	waitFor(2000)
	close(stop)
	wg.Wait()
	t.Logf("%d queries, %d failed: %d while node 2 was down, %d after it restarted", sent.Load(), failed.Load(), after-before, sent.Load()-after)
	if failed.Load() != 0 {
		t.Fatalf("%d of %d queries failed; the first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
}

// TestUnreachableCluster: a cluster that does not answer is a clear error
// naming its URL, fast, and a 503 from /readyz. No cluster needed.
func TestUnreachableCluster(t *testing.T) {
	path := catalogue(t)
	eng := local(t, path)
	url := "http://127.0.0.1:1"
	c, err := weaviate.Dial([]string{url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := weaviate.NewSource(c, "")
	remote, err := soundalike.Open(path, &soundalike.Options{Detached: true, VectorSource: src})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = remote.Ready(t.Context())
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || !strings.Contains(err.Error(), url) {
		t.Fatalf("Ready with no cluster: %v, want ErrIndexUnavailable naming %s", err, url)
	}
	if _, err := remote.Similar(context.Background(), embeddings(t, eng)[0].id, 10, nil); !errors.Is(err, soundalike.ErrIndexUnavailable) {
		t.Fatalf("Similar with no cluster: %v", err)
	}
	t.Logf("Ready: %v", err)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("failing took %v", took)
	}
	srv := httptest.NewServer(server.New(remote, nil))
	defer srv.Close()
	for _, p := range []string{"/readyz", "/similar?track=" + string(embeddings(t, eng)[0].id)} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.Error, url) {
			t.Errorf("GET %s: %d %q, want 503 naming %s", p, resp.StatusCode, body.Error, url)
		}
	}
	_, err = weaviate.Publish(context.Background(), eng, c, nil)
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || !strings.Contains(err.Error(), url) {
		t.Fatalf("Publish with no cluster: %v", err)
	}
}

// TestReadyRefusesAPartialPublish: a serve replica of a model whose publish
// stopped half way must not answer from the part published (its answers
// would silently miss tracks): Ready says so until a publish completes.
func TestReadyRefusesAPartialPublish(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	crashedPublish(t, eng, c, alias)
	info, err := eng.Model(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	src, _ := weaviate.NewSource(c, alias)
	collection := weaviate.CollectionName(alias, info.Version)
	err = src.Ready(context.Background(), info.Version)
	if !errors.Is(err, soundalike.ErrIndexUnavailable) || !strings.Contains(err.Error(), collection) || !strings.Contains(err.Error(), "soundalike publish") {
		t.Fatalf("Ready of a half-published collection: %v, want ErrIndexUnavailable naming %s and soundalike publish", err, collection)
	}
	q := make([]float32, 64)
	q[0] = 1
	if ns, err := src.Nearest(context.Background(), info.Version, q, 10, nil); !errors.Is(err, soundalike.ErrIndexUnavailable) {
		t.Fatalf("Nearest in a half-published collection: %d neighbours, %v; want ErrIndexUnavailable", len(ns), err)
	}
	publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})
	if err := src.Ready(context.Background(), info.Version); err != nil {
		t.Fatalf("Ready once the publish completed: %v", err)
	}
}

// TestPublishRefusesAnotherModelOfTheSameVersion: a second database whose
// model is also v1 must not overwrite the collection that the first
// database's serve replicas read.
func TestPublishRefusesAnotherModelOfTheSameVersion(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	first := publish(t, local(t, catalogue(t)), c, &weaviate.PublishOptions{Alias: alias})
	eng := local(t, catalogueOf(t, 9)) // the same tracks, another model v1
	if info, _ := eng.Model(context.Background()); info.Version != first.Model {
		t.Fatalf("the other database's model is %s, want %s", info.Version, first.Model)
	}
	sum, err := weaviate.Publish(context.Background(), eng, c, &weaviate.PublishOptions{Alias: alias})
	if err == nil || !strings.Contains(err.Error(), first.Collection) || !strings.Contains(err.Error(), "--collection") {
		t.Fatalf("publish of another model v1: %+v, %v; want an error naming %s and --collection", sum, err, first.Collection)
	}
	if sum.Added+sum.Changed != 0 {
		t.Fatalf("publish of another model v1 sent objects: %+v", sum)
	}
}

// TestAliasThatNamesACollection: an alias that is a collection's name is
// refused before anything is uploaded, and so is one that ends like a
// model version's collection.
func TestAliasThatNamesACollection(t *testing.T) {
	c, _ := dial(t)
	urls, _ := clusterURLs(t)
	alias := newAlias(t, c)
	eng := local(t, catalogue(t))
	first := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias})

	// A collection someone made by hand, of a name without a version.
	plain := alias + "Plain"
	schema := func(method, path, body string) {
		req, _ := http.NewRequest(method, urls[0]+"/v1/schema"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /v1/schema%s: %s", method, path, resp.Status)
		}
	}
	schema(http.MethodPost, "", `{"class":"`+plain+`","vectorizer":"none"}`)
	t.Cleanup(func() { schema(http.MethodDelete, "/"+plain, "") })

	for _, name := range []string{first.Collection, plain} {
		_, err := weaviate.Publish(context.Background(), eng, c, &weaviate.PublishOptions{Alias: name})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("publish under alias %s, a collection's name: %v, want an error naming it", name, err)
		}
		orphan := weaviate.CollectionName(name, first.Model)
		if n, err := c.Count(context.Background(), orphan); err == nil {
			t.Errorf("publish under alias %s left %d objects in %s", name, n, orphan)
			c.Unpublish(context.Background(), name)
		}
	}
}

// TestUnpublishKeepsOtherAliases: Unpublish of Tracks deletes Tracks_v1,
// not the collections of an alias that starts alike (Tracks_vinyl_v1).
func TestUnpublishKeepsOtherAliases(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	eng := local(t, catalogue(t))
	publish(t, eng, c, &weaviate.PublishOptions{Alias: alias, BatchSize: 1000})
	vinyl := alias + "_vinyl"
	t.Cleanup(func() { c.Unpublish(context.Background(), vinyl) })
	other := publish(t, eng, c, &weaviate.PublishOptions{Alias: vinyl, BatchSize: 1000})
	if err := c.Unpublish(context.Background(), alias); err != nil {
		t.Fatal(err)
	}
	src, _ := weaviate.NewSource(c, vinyl)
	if err := src.Ready(context.Background(), other.Model); err != nil {
		t.Fatalf("after unpublishing %s, %s: %v", alias, other.Collection, err)
	}
	if n, err := c.Count(context.Background(), other.Collection); err != nil || n != other.Tracks {
		t.Fatalf("after unpublishing %s, %s holds %d objects (%v), want %d", alias, other.Collection, n, err, other.Tracks)
	}
	if err := weaviate.CheckAlias(alias + "_v2"); err == nil {
		t.Fatalf("alias %s_v2 accepted: it is the name of %s's collection of model v2", alias, alias)
	}
}

// TestPublishWithOneReplica: a collection with one replica of each shard
// (publish --replication 1, the default on a 1-node cluster) publishes,
// publishes again incrementally and answers searches. Weaviate refuses a
// consistency level on a read of such a collection (`Unknown argument
// "consistencyLevel"`), which publish's read of the published state and
// every search sent.
func TestPublishWithOneReplica(t *testing.T) {
	c, _ := dial(t)
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	all := embeddings(t, eng)
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias, Replicas: 1})
	again := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias, Replicas: 1})
	if again.Unchanged != len(all) || again.Added+again.Changed+again.Deleted != 0 {
		t.Fatalf("a re-run with nothing changed: %+v", again)
	}
	src, err := weaviate.NewSource(c, alias)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := src.Nearest(context.Background(), sum.Model, all[3].v, 1, nil)
	if err != nil || len(ns) != 1 || ns[0].ID != all[3].id {
		t.Fatalf("nearest to %s's vector in %s: %+v, %v; want %s", all[3].id, sum.Collection, ns, err, all[3].id)
	}
}

// TestShardWithoutALiveReplica: a collection of 3 shards with one replica
// each loses the node holding one of them. Weaviate would answer a search
// from the other two shards as if complete; Ready instead fails within a
// few seconds naming a shard with no live replica, and answers again once
// the node is back.
func TestShardWithoutALiveReplica(t *testing.T) {
	c, dir := dial(t)
	if dir == "" || len(c.URLs()) != 3 {
		t.Skip("needs the 3-node cluster of scripts/weaviate-test-cluster (SOUNDALIKE_TEST_WEAVIATE=DIR/urls)")
	}
	alias := newAlias(t, c)
	path := catalogue(t)
	eng := local(t, path)
	all := embeddings(t, eng)
	sum := publish(t, eng, c, &weaviate.PublishOptions{Alias: alias, Shards: 3, Replicas: 1})
	src, err := weaviate.NewSource(c, alias)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Ready(t.Context(), sum.Model); err != nil {
		t.Fatalf("Ready with every node up: %v", err)
	}
	script, err := filepath.Abs("../scripts/weaviate-test-cluster")
	if err != nil {
		t.Fatal(err)
	}
	cluster := func(cmd string) {
		out, err := exec.Command(script, cmd, dir, "3").CombinedOutput()
		if err != nil {
			t.Errorf("%s %s: %v\n%s", script, cmd, err, out)
		}
	}
	t.Cleanup(func() { cluster("start-node") }) // whatever happens, the next test gets 3 nodes
	cluster("stop-node")

	// Within a check or two (a few seconds), Ready and Nearest say so.
	var readyErr error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if readyErr = src.Ready(t.Context(), sum.Model); readyErr != nil {
			break
		}
	}
	if !errors.Is(readyErr, soundalike.ErrIndexUnavailable) || !strings.Contains(readyErr.Error(), "no live node holds a replica of shard ") {
		t.Fatalf("Ready with node 3 down: %v; want ErrIndexUnavailable naming the shard with no live replica", readyErr)
	}
	t.Logf("Ready: %v", readyErr)
	if _, err := src.Nearest(t.Context(), sum.Model, all[0].v, 5, nil); !errors.Is(err, soundalike.ErrIndexUnavailable) {
		t.Fatalf("Nearest with node 3 down: %v; want ErrIndexUnavailable", err)
	}

	cluster("start-node")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if readyErr = src.Ready(t.Context(), sum.Model); readyErr == nil {
			break
		}
	}
	if readyErr != nil {
		t.Fatalf("Ready after node 3 came back: %v", readyErr)
	}
}
