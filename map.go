package soundalike

import (
	"context"
	"errors"
	"fmt"

	"github.com/audotics/soundalike/storage"
)

// MapQuery asks for points of the map of the embedding space (layout.go).
type MapQuery struct {
	// Sample is how many points of the fixed random sample to return (the
	// whole catalogue when it is larger). The sample is the same for every
	// query on one index, and a larger one holds every smaller one.
	Sample int
	// IDs are tracks to return besides the sample (a query and its
	// neighbours), by track references as Similar takes them.
	IDs []TrackID
}

// MapPoint is one track's place on the map: X and Y in [-1, 1]; Genre is
// the track's first genre ("" when it has none).
type MapPoint struct {
	ID    TrackID
	X, Y  float32
	Genre string
}

// MapView answers a MapQuery: the sample's points first, then those of
// the IDs not already in it; Missing are the IDs that name no track on the
// map.
type MapView struct {
	Points  []MapPoint
	Total   int // points on the whole map
	Missing []TrackID
}

// mapCache is the layout of one index with where each node is in it. A
// snapshot loads it with its index, so the map always matches the index
// served.
type mapCache struct {
	indexID uint64
	l       *layout
	pos     []int32 // by node: its index in l.nodes, -1 when it is not on the map
}

// Map returns points of the map of the served index. It fails with
// ErrNoLayout when the index was stored without one.
func (e *Engine) Map(ctx context.Context, q MapQuery) (MapView, error) {
	if err := checkCtx(ctx); err != nil {
		return MapView{}, fmt.Errorf("map: %w", err)
	}
	if q.Sample < 0 {
		return MapView{}, fmt.Errorf("map: sample %d: %w", q.Sample, ErrInvalidQuery)
	}
	s, err := e.ready()
	if err != nil {
		return MapView{}, err
	}
	c := s.maps
	if c == nil {
		return MapView{}, ErrNoLayout
	}
	n := min(q.Sample, len(c.l.nodes))
	v := MapView{Total: len(c.l.nodes), Points: make([]MapPoint, 0, n+len(q.IDs))}
	for i := range n {
		if p := c.point(s, i); p.ID != "" { // "": deleted since the index was built
			v.Points = append(v.Points, p)
		}
	}
	for _, ref := range q.IDs {
		node, err := s.resolve(ref)
		if err != nil || int(node) >= len(c.pos) || c.pos[node] < 0 {
			v.Missing = append(v.Missing, ref)
			continue
		}
		if i := int(c.pos[node]); i >= n && s.cat.id(node) != "" {
			v.Points = append(v.Points, c.point(s, i))
		}
	}
	return v, nil
}

// point is the MapPoint of the i-th node of the layout.
func (c *mapCache) point(s *snapshot, i int) MapPoint {
	node := c.l.nodes[i]
	p := MapPoint{X: c.l.xy[2*i], Y: c.l.xy[2*i+1]}
	if int(node) < s.cat.len() {
		var t Track
		s.cat.decode(node, &t)
		p.ID = t.ID
		if len(t.Genres) > 0 {
			p.Genre = t.Genres[0]
		}
	}
	return p
}

// loadMap reads the map layout of the current index, id; nil when it has
// none (or one of another version).
func loadMap(tx *storage.Tx, id uint64) (*mapCache, error) {
	l, err := readLayoutTx(tx)
	if errors.Is(err, ErrNoLayout) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &mapCache{indexID: id, l: l}
	var limit uint32
	for _, n := range l.nodes {
		limit = max(limit, n+1)
	}
	c.pos = make([]int32, limit)
	for i := range c.pos {
		c.pos[i] = -1
	}
	for i, n := range l.nodes {
		c.pos[n] = int32(i)
	}
	return c, nil
}
