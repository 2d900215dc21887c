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
	// neighbours), by track references as Similar takes them: one that
	// names no track on the map is listed in MapView.Missing, one that no
	// stored id could be fails the query (a *TrackRefError naming
	// MapQuery.IDs and its index).
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
	Points []MapPoint
	// Total is the points on the whole map: the tracks laid out by the
	// last reindex that the catalogue still holds (a track deleted since
	// is no point; one imported since is on no map until the next reindex).
	Total   int
	Missing []TrackID
}

// mapLayout is the map layout (layout.go) of the index a snapshot
// serves, with where each node is on it. The snapshot reads it with its
// index (loadMapLayout), so the map always matches the index served.
type mapLayout struct {
	*layout
	pos []int32 // by node: its index in nodes, -1 when it is not on the map
}

// Map returns points of the map of the served index. It fails with
// ErrNoLayout when the index was stored without one. A negative Sample, or
// a reference of IDs that no stored id could be, is refused before Map
// waits for the snapshot.
func (e *Engine) Map(ctx context.Context, q MapQuery) (MapView, error) {
	if err := checkCtx(ctx); err != nil {
		return MapView{}, fmt.Errorf("map: %w", err)
	}
	if q.Sample < 0 {
		return MapView{}, fmt.Errorf("map: sample %d: %w", q.Sample, ErrInvalidQuery)
	}
	if err := checkRefs("MapQuery.IDs", q.IDs); err != nil {
		return MapView{}, err
	}
	s, err := e.ready(ctx)
	if err != nil {
		return MapView{}, err
	}
	m := s.mapLayout
	if m == nil {
		return MapView{}, ErrNoLayout
	}
	n := min(q.Sample, len(m.nodes))
	s.mapPoints.once.Do(func() { s.mapPoints.n = m.points(s) })
	v := MapView{Total: s.mapPoints.n, Points: make([]MapPoint, 0, n+len(q.IDs))}
	for i := range n {
		if p, ok := m.point(s, i); ok {
			v.Points = append(v.Points, p)
		}
	}
	for _, ref := range q.IDs {
		node, err := s.resolve(ref)
		if err != nil || int(node) >= len(m.pos) || m.pos[node] < 0 {
			v.Missing = append(v.Missing, ref)
			continue
		}
		if i := int(m.pos[node]); i >= n {
			if p, ok := m.point(s, i); ok {
				v.Points = append(v.Points, p)
			}
		}
	}
	return v, nil
}

// points counts the nodes of the layout that hold a track of s: the
// layout keeps the nodes of tracks deleted since the index was built,
// which are no points (point).
func (m *mapLayout) points(s *snapshot) int {
	n := 0
	for _, node := range m.nodes {
		if m.onMap(s, node) {
			n++
		}
	}
	return n
}

// onMap reports whether node, one of the layout's, holds a track of s.
func (m *mapLayout) onMap(s *snapshot, node uint32) bool {
	return int(node) < s.cat.len() && s.cat.holdsTrack(node)
}

// point is the MapPoint of the i-th node of the layout, ok false when the
// node holds no track of s (deleted since the index was built).
func (m *mapLayout) point(s *snapshot, i int) (p MapPoint, ok bool) {
	node := m.nodes[i]
	if !m.onMap(s, node) {
		return MapPoint{}, false
	}
	var t Track
	s.cat.decode(node, &t)
	p = MapPoint{ID: t.ID, X: m.xy[2*i], Y: m.xy[2*i+1]}
	if len(t.Genres) > 0 {
		p.Genre = t.Genres[0]
	}
	return p, true
}

// loadMapLayout reads the map layout of the current index; nil when it
// has none (or one of another version).
func loadMapLayout(tx *storage.Tx) (*mapLayout, error) {
	l, err := readLayoutTx(tx)
	if errors.Is(err, ErrNoLayout) {
		return nil, nil
	}
	if err != nil {
		return nil, indexDamaged(err) // readLayoutTx's error names the map layout
	}
	m := &mapLayout{layout: l}
	var limit uint32
	for _, n := range l.nodes {
		limit = max(limit, n+1)
	}
	m.pos = make([]int32, limit)
	for i := range m.pos {
		m.pos[i] = -1
	}
	for i, n := range l.nodes {
		m.pos[n] = int32(i)
	}
	return m, nil
}
