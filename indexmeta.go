package soundalike

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/audotics/soundalike/index"
)

// indexMeta is the metadata document stored with every index.
type indexMeta struct {
	Model      string      `json:"model"`
	Dim        int         `json:"dim"`
	Params     indexParams `json:"params"`
	Tracks     int         `json:"tracks"`
	Created    time.Time   `json:"created"`
	CatalogSeq uint64      `json:"catalog_seq"`
}

func decodeIndexMeta(b []byte) (indexMeta, error) {
	var m indexMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return indexMeta{}, fmt.Errorf("index metadata: %w", err)
	}
	return m, nil
}

// indexParamsVersion is the version of indexParams' stored form. Version
// 1, the first release's, had no version field: it was index.Options under
// its Go field names, Workers included.
const indexParamsVersion = 2

// indexParams are the parameters an index was built with and is served
// with, as its metadata stores them. Every field holds its value, never
// 0 for a default. How many goroutines built the index is not a property
// of the index and is not stored.
type indexParams struct {
	Version           int     `json:"version"`
	M                 int     `json:"m"`
	EfConstruction    int     `json:"ef_construction"`
	EfSearch          int     `json:"ef_search"` // the beam of every search that sets none
	Seed              int64   `json:"seed"`
	MaxTombstoneRatio float64 `json:"max_tombstone_ratio"`
}

// paramsOf returns the stored form of o, defaults filled in.
func paramsOf(o index.Options) indexParams {
	d := o.WithDefaults()
	return indexParams{
		Version:           indexParamsVersion,
		M:                 d.M,
		EfConstruction:    d.EfConstruction,
		EfSearch:          d.EfSearch,
		Seed:              d.Seed,
		MaxTombstoneRatio: d.MaxTombstoneRatio,
	}
}

// options returns p as index options building with workers goroutines
// (0: the index's default).
func (p indexParams) options(workers int) index.Options {
	return index.Options{M: p.M, EfConstruction: p.EfConstruction, EfSearch: p.EfSearch,
		Seed: p.Seed, Workers: workers, MaxTombstoneRatio: p.MaxTombstoneRatio}
}

// sameBuild reports whether an index built with p can be updated in place
// into one with q's parameters: the graph's shape (M, EfConstruction) and
// level draws (Seed) agree. EfSearch and MaxTombstoneRatio may differ:
// the build sets them on the updated index (index.HNSW.SetOptions).
func (p indexParams) sameBuild(q indexParams) bool {
	return p.M == q.M && p.EfConstruction == q.EfConstruction && p.Seed == q.Seed
}

// UnmarshalJSON reads either stored form: the current tagged one, or
// version 1's index.Options under Go field names.
func (p *indexParams) UnmarshalJSON(b []byte) error {
	var probe struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return fmt.Errorf("index params: %w", err)
	}
	switch probe.Version {
	case 0:
		var v1 index.Options
		if err := json.Unmarshal(b, &v1); err != nil {
			return fmt.Errorf("index params (version 1): %w", err)
		}
		v1.Workers = 0
		*p = paramsOf(v1)
		return nil
	case indexParamsVersion:
		type plain indexParams // without this method
		return json.Unmarshal(b, (*plain)(p))
	}
	return fmt.Errorf("index params version %d: this soundalike reads versions 1 and %d", probe.Version, indexParamsVersion)
}
