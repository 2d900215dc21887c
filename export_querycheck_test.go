package soundalike

import (
	"sync/atomic"
	"testing"
)

// CountFacetAsks makes the snapshot eng serves count how often a query
// asks for its facets (which a freshly loaded snapshot is still building,
// so that asking waits), and returns the count so far.
func CountFacetAsks(t testing.TB, eng *Engine) (asks func() int) {
	t.Helper()
	s, err := eng.current()
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	asked := s.facets
	s.facets = func() *facets { n.Add(1); return asked() }
	return func() int { return int(n.Load()) }
}
