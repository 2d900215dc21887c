package weaviate

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	"github.com/go-openapi/strfmt"
	"github.com/google/uuid"
	client "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
	"github.com/weaviate/weaviate/entities/models"
)

// DefaultAlias is the alias a catalogue is published under when none is
// given: its collections are DefaultAlias_v1, DefaultAlias_v2, …
const DefaultAlias = "Tracks"

// The properties of a published track. Filters read the filterable ones;
// the rest are for other readers of the collection (and contentHash for
// the next publish).
const (
	propTrackID     = "trackId"
	propName        = "name"
	propArtists     = "artists"
	propArtistKeys  = "artistKeys" // soundalike.NormalizeArtist of each artist
	propAlbum       = "album"
	propReleaseYear = "releaseYear" // 0 when unknown
	propPopularity  = "popularity"
	propGenres      = "genres" // lower case
	propModel       = "modelVersion"
	propContentHash = "contentHash"
)

var (
	aliasName = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]{0,200}$`)
	// versionSuffix ends the name of a model version's collection (_v3).
	versionSuffix = regexp.MustCompile(`_v[0-9]+$`)
)

// CheckAlias reports an alias Weaviate would refuse as a collection name,
// and one that ends like a model version's collection (Tracks_v1): such an
// alias could name another alias's collection, and its own collections
// (Tracks_v1_v1) would be taken for another alias's.
func CheckAlias(alias string) error {
	if !aliasName.MatchString(alias) || versionSuffix.MatchString(alias) {
		return fmt.Errorf("collection %q: want a capital letter followed by letters, digits or _, not ending in _v and a number (e.g. %s)", alias, DefaultAlias)
	}
	return nil
}

// isCollectionOf reports whether a collection name is one of alias's
// (<alias>_v<N>), not another alias's that starts alike (<alias>_vinyl_v1).
func isCollectionOf(alias, name string) bool {
	rest, ok := strings.CutPrefix(name, alias+"_v")
	return ok && rest != "" && strings.Trim(rest, "0123456789") == ""
}

// CollectionName is the collection holding the embeddings of one model
// version under an alias: Tracks_v3.
func CollectionName(alias, model string) string { return alias + "_" + model }

// objectID is a track's object UUID: derived from its id, so that every
// publish of a track writes the same object (no duplicates after a crash).
func objectID(id soundalike.TrackID) strfmt.UUID {
	return strfmt.UUID(uuid.NewSHA1(trackNamespace, []byte(id)).String())
}

var trackNamespace = uuid.MustParse("6f0c4f2e-5b1a-4d8e-9a57-3c1f2b7d9e01")

func boolp(b bool) *bool { return &b }

// The description of a model version's collection names the model (its
// version, dimension and training time), so that a publish of another
// model that happens to have the same version (another database, or one
// rebuilt) does not overwrite it. While a publish has not completed it,
// the description ends with publishingMark; Source.Ready refuses such a
// collection, which holds only part of the catalogue.
const (
	descriptionPrefix = "soundalike track embeddings of model "
	publishingMark    = "; publishing, incomplete until `soundalike publish` completes"
)

// modelDescription is the description of a complete collection of the
// model's embeddings.
func modelDescription(m soundalike.ModelInfo) string {
	return fmt.Sprintf("%s%s (dim %d, trained %s)", descriptionPrefix, m.Version, m.Dim, m.Created.UTC().Format(time.RFC3339Nano))
}

// newCollection is the collection of one model version: no vectorizer
// (soundalike sends its vectors), HNSW with cosine distance, shards and
// replicas as asked. Its description marks it incomplete until Publish
// has sent every track.
func newCollection(name string, m soundalike.ModelInfo, shards, replicas int) *models.Class {
	text := func(n string, filterable bool) *models.Property {
		return &models.Property{Name: n, DataType: []string{"text"}, Tokenization: models.PropertyTokenizationField,
			IndexFilterable: boolp(filterable), IndexSearchable: boolp(false)}
	}
	texts := func(n string, filterable bool) *models.Property {
		p := text(n, filterable)
		p.DataType = []string{"text[]"}
		return p
	}
	integer := func(n string) *models.Property {
		return &models.Property{Name: n, DataType: []string{"int"}, IndexFilterable: boolp(true), IndexRangeFilters: boolp(true)}
	}
	return &models.Class{
		Class:             name,
		Description:       modelDescription(m) + publishingMark,
		Vectorizer:        "none",
		VectorIndexType:   "hnsw",
		VectorIndexConfig: map[string]any{"distance": "cosine"},
		ShardingConfig:    map[string]any{"desiredCount": shards},
		ReplicationConfig: &models.ReplicationConfig{Factor: int64(replicas)},
		Properties: []*models.Property{
			text(propTrackID, true),
			text(propName, false),
			texts(propArtists, false),
			texts(propArtistKeys, true),
			text(propAlbum, false),
			integer(propReleaseYear),
			integer(propPopularity),
			texts(propGenres, true),
			text(propModel, false),
			text(propContentHash, false),
		},
	}
}

// trackObject is the object a track and its embedding publish as.
func trackObject(collection, model string, t *soundalike.Track, v []float32) *models.Object {
	genres := make([]string, len(t.Genres))
	for i, g := range t.Genres {
		genres[i] = strings.ToLower(g)
	}
	keys := make([]string, 0, len(t.Artists))
	for _, a := range t.Artists {
		if k := soundalike.NormalizeArtist(a); k != "" {
			keys = append(keys, k)
		}
	}
	props := map[string]any{
		propTrackID:     string(t.ID),
		propName:        t.Name,
		propArtists:     nonNil(t.Artists),
		propArtistKeys:  keys,
		propAlbum:       t.Album,
		propReleaseYear: t.ReleaseYear(),
		propPopularity:  t.Popularity,
		propGenres:      genres,
		propModel:       model,
	}
	props[propContentHash] = contentHash(props, v)
	return &models.Object{Class: collection, ID: objectID(t.ID), Properties: props, Vector: models.C11yVector(v)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// contentHash is a hash of everything a track's object holds: equal hashes
// mean the published object is up to date.
func contentHash(props map[string]any, v []float32) string {
	h := fnv.New128a()
	for _, k := range []string{propTrackID, propName, propArtists, propAlbum, propReleaseYear, propPopularity, propGenres, propModel} {
		fmt.Fprintf(h, "%s=%v\x00", k, props[k])
	}
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ensureCollection creates the collection when it does not exist, and
// says whether it did and whether the collection is marked incomplete. It
// refuses an existing collection that holds another model's embeddings, by
// its description (a collection published before descriptions named the
// model is taken as it is).
func (c *Cluster) ensureCollection(ctx context.Context, name string, m soundalike.ModelInfo, shards, replicas int) (collectionState, error) {
	st := collectionState{name: name}
	cl, err := c.collection(ctx, name)
	if err != nil {
		return st, err
	}
	if cl != nil {
		have := strings.TrimSuffix(cl.Description, publishingMark)
		if strings.HasPrefix(have, descriptionPrefix) && have != modelDescription(m) {
			return st, fmt.Errorf("collection %s holds the embeddings of %s, not of this database's %s: "+
				"publish under another alias (--collection), or delete %s if nothing reads it",
				name, strings.TrimPrefix(have, descriptionPrefix), strings.TrimPrefix(modelDescription(m), descriptionPrefix), name)
		}
		st.incomplete = strings.HasSuffix(cl.Description, publishingMark)
		st.replicated = replicated(cl)
		return st, nil
	}
	err = c.do(ctx, func(wc *client.Client) error {
		return wc.Schema().ClassCreator().WithClass(newCollection(name, m, shards, replicas)).Do(ctx)
	})
	if err != nil {
		return st, fmt.Errorf("create collection %s: %w", name, err)
	}
	st.created, st.incomplete, st.replicated = time.Now(), true, replicas > 1
	return st, nil
}

// replicated reports whether a collection has more than one replica of
// each shard. Weaviate takes a consistency level only on a read of such a
// collection: a GraphQL Get of one with a single replica fails (`Unknown
// argument "consistencyLevel"`), so reads send one only when this holds
// (consistency).
func replicated(cl *models.Class) bool {
	return cl.ReplicationConfig != nil && cl.ReplicationConfig.Factor > 1
}

// consistency is the consistency level a read of a collection sends:
// level when the collection is replicated, none ("") when it is not.
func consistency(isReplicated bool, level string) string {
	if !isReplicated {
		return ""
	}
	return level
}

// collection returns the schema of a collection, nil when there is none.
// (A name that is an alias gets its target's schema.)
func (c *Cluster) collection(ctx context.Context, name string) (*models.Class, error) {
	cl, err := read(ctx, c, func(ctx context.Context, wc *client.Client) (*models.Class, error) {
		cl, err := wc.Schema().ClassGetter().WithClassName(name).Do(ctx)
		var we *fault.WeaviateClientError
		if errors.As(err, &we) && we.StatusCode == 404 {
			return nil, nil
		}
		return cl, err
	})
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", name, err)
	}
	return cl, nil
}

// markComplete gives a collection the description of a complete one, when
// it has another (the publishing mark, or none of the model's).
func (c *Cluster) markComplete(ctx context.Context, name string, m soundalike.ModelInfo) error {
	cl, err := c.collection(ctx, name)
	if err != nil {
		return err
	}
	if cl == nil {
		return fmt.Errorf("collection %s was deleted during the publish", name)
	}
	if cl.Description == modelDescription(m) {
		return nil
	}
	cl.Description = modelDescription(m)
	err = c.do(ctx, func(wc *client.Client) error {
		return wc.Schema().ClassUpdater().WithClass(cl).Do(ctx)
	})
	if err != nil {
		return fmt.Errorf("mark collection %s complete: %w", name, err)
	}
	return nil
}
