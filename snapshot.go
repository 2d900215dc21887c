package soundalike

import "github.com/audotics/soundalike/storage"

// snapshot is what an Engine serves: immutable once published.
type snapshot struct {
	gen    uint64
	tracks []Track // by node id; zero Track (empty ID) where a node is free
	byID   map[TrackID]uint32
}

// loadFrom loads the snapshot from an open database. (The model and index
// parts arrive with those packages.)
func (e *Engine) loadFrom(db *storage.DB) error {
	return nil
}
