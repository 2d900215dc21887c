package soundalike

import (
	"context"
	"fmt"
)

// ForEachEmbedding calls fn for every indexed track with its embedding as
// the index holds it (its direction in half precision, scaled to unit
// length: index.HNSW.Vector), in catalogue order. It is how `soundalike export` moves
// embeddings into other systems. fn must not keep v after it returns.
func (e *Engine) ForEachEmbedding(ctx context.Context, fn func(t *Track, v Embedding) error) error {
	if err := checkCtx(ctx); err != nil {
		return fmt.Errorf("for each embedding: %w", err)
	}
	if fn == nil {
		return fmt.Errorf("for each embedding: fn is nil: pass the func to call for each track")
	}
	s, err := e.ready(ctx)
	if err != nil {
		return err
	}
	for n := range uint32(s.cat.len()) {
		if !s.cat.holdsTrack(n) {
			continue
		}
		t := s.cat.track(n)
		v, ok := s.storedVector(n)
		if !ok {
			continue // imported after the last reindex
		}
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(t, v); err != nil {
			return err
		}
	}
	return nil
}
