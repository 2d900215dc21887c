package soundalike

import (
	"context"
	"errors"
	"fmt"

	"github.com/audotics/soundalike/storage"
)

// ForEachTrackID calls fn with the id of every catalogue track, in id
// order: ForEachTrack for a caller that needs only the ids (import
// --prune lists the catalogue with it). It decodes no track, so listing
// a million ids costs the ids' strings alone, not the tracks'.
//
// A panic in fn is fn's own, as in ForEachTrack.
func (e *Engine) ForEachTrackID(ctx context.Context, fn func(id TrackID) error) error {
	if err := checkCtx(ctx); err != nil {
		return fmt.Errorf("for each track id: %w", err)
	}
	if fn == nil {
		return errors.New("for each track id: fn is nil: pass the func to call for each track id")
	}
	return e.view(ctx, func(tx *storage.Tx) error {
		i := 0
		return tx.ForEachTrackID(func(id string) error {
			if i++; i%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			return storage.RunCaller(func() error { return fn(TrackID(id)) })
		})
	})
}
