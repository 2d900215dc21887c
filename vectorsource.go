package soundalike

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/audotics/soundalike/index"
)

// VectorSource answers the nearest-neighbour step of a search from outside
// the engine: a vector database that holds the published embeddings
// (package weaviate implements it). An Engine opened with
// Options.VectorSource keeps the catalogue and the model in memory (to
// resolve tracks, embed feature queries and recompute a track's vector)
// and does all the post-processing itself (exclusions, dedupe, the
// response), but decodes no index graph: the source finds the candidates.
type VectorSource interface {
	// Nearest returns up to k tracks whose embeddings by the model version
	// (ModelInfo.Version) are closest to the unit vector q, closest first,
	// among those that match f (nil matches every track). Score is cosine
	// similarity. Fewer than k results mean no more tracks match.
	// Failures to reach the source wrap ErrIndexUnavailable.
	Nearest(ctx context.Context, model string, q []float32, k int, f *Filter) ([]Neighbor, error)
	// Ready returns nil when Nearest can answer for the model version,
	// else why not, wrapping ErrIndexUnavailable.
	Ready(ctx context.Context, model string) error
}

// ErrIndexUnavailable: the index the engine searches through
// (Options.VectorSource) cannot be reached or does not hold the served
// model's vectors. The wrapped message names the source.
var ErrIndexUnavailable = errors.New("index unavailable")

// sourceTimeout bounds one query's calls to a VectorSource: a source that
// does not answer fails the query rather than hanging it.
const sourceTimeout = 5 * time.Second

// hasIndex reports whether s can answer similarity queries: an index graph
// in memory, or a vector source and the metadata of the index whose model
// it serves.
func (s *snapshot) hasIndex() bool {
	return s.graph != nil || (s.vectorSource != nil && s.indexMeta.Model != "")
}

// indexLen is how many vectors a search may find at most: the graph's
// size, or the catalogue's when a source holds the vectors.
func (s *snapshot) indexLen() int {
	if s.graph != nil {
		return s.graph.Len()
	}
	return s.cat.len()
}

// storedVector returns the indexed vector of a node from the graph; a
// snapshot served through a source has none in memory (vectorOf then
// embeds the track with the same model and rounds it as the index did:
// the same vector).
func (s *snapshot) storedVector(node uint32) ([]float32, bool) {
	if s.graph == nil {
		return nil, false
	}
	return s.graph.Vector(node)
}

// nearest is the search's nearest-neighbour step: up to want nodes that
// pass keep (nil keeps all), closest to at.q, from the graph (starting at
// at.node when it is one) or the vector source. Fewer than want mean the
// index has no more.
func (s *snapshot) nearest(ctx context.Context, at around, want int, keep index.Filter, ef int, opts *SearchOptions) ([]index.Result, error) {
	q := at.q
	if s.graph != nil {
		res, err := s.graph.SearchFrom(nil, q, at.node, want, keep, ef)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidQuery, err)
		}
		return res, nil
	}
	var f *Filter
	if opts != nil {
		f = opts.Filter
	}
	ctx, cancel := context.WithTimeout(ctx, sourceTimeout)
	defer cancel()
	// The source knows nothing of keep, nor of tracks deleted from the
	// catalogue since the publish: ask for more until want survive.
	ask := want
	for {
		ns, err := s.vectorSource.Nearest(ctx, s.modelInfo.Version, q, ask, f)
		if err != nil {
			return nil, err
		}
		res := make([]index.Result, 0, want)
		for _, n := range ns {
			node, ok := s.byID.find(&s.cat, string(n.ID))
			if !ok || (keep != nil && !keep(node)) {
				continue
			}
			res = append(res, index.Result{ID: node, Score: n.Score})
			if len(res) == want {
				return res, nil
			}
		}
		if len(ns) < ask || ask >= maxSourceAsk {
			return res, nil // the source has no more
		}
		ask = min(2*ask, maxSourceAsk)
	}
}

// maxSourceAsk caps one query's request to a vector source (Weaviate's
// QUERY_MAXIMUM_RESULTS defaults to 10,000).
const maxSourceAsk = 10000

// readySource checks the vector source of a snapshot that has one.
func (s *snapshot) readySource(ctx context.Context) error {
	if s.vectorSource == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, sourceTimeout)
	defer cancel()
	return s.vectorSource.Ready(ctx, s.modelInfo.Version)
}

// NormalizeArtist returns an artist name in the form Filter.Artists and
// Filter.ExcludeArtists compare (case folded, punctuation dropped, spaces
// collapsed), for a VectorSource that filters by artist itself.
func NormalizeArtist(a string) string { return normalizeText(a) }
