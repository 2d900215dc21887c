package soundalike

import (
	"unsafe"

	"github.com/audotics/soundalike/internal/memsize"
)

// Footprint is the memory a served snapshot holds, in bytes, by part.
// Maps are estimated from their entry size and load factor; the rest is
// counted from the structures themselves.
type Footprint struct {
	Tracks     int   // catalogue tracks
	Vectors    int64 // the index's unit vectors
	Graph      int64 // the index's links, ids and id → slot map
	Catalogue  int64 // the tracks' fields and strings, and the maps from ids to nodes
	DedupeKeys int64 // the song, feature and artist keys the search filter reads
	WordIndex  int64 // the track search's inverted and forward indexes
	Facets     int64 // the filters' columns and posting lists (genre, year, popularity)
	Map        int64 // the index's 2-D map layout and where each node is on it
	Histories  int64 // the users' interactions
}

// Total is the sum of the parts.
func (f Footprint) Total() int64 {
	return f.Vectors + f.Graph + f.Catalogue + f.DedupeKeys + f.WordIndex + f.Facets + f.Map + f.Histories
}

// Footprint measures the snapshot being served. It waits for the track
// search's index and the facets when they are still being built. The
// postings by artist that the first filter by artists builds are not
// counted.
func (e *Engine) Footprint() Footprint {
	if e == nil {
		return Footprint{}
	}
	s := e.snap.Load()
	if s == nil {
		return Footprint{}
	}
	f := Footprint{Tracks: s.byID.len()}
	if s.graph != nil {
		f.Vectors, f.Graph = s.graph.Footprint()
	}
	f.Catalogue = s.catalogueBytes()
	f.DedupeKeys = int64(cap(s.keys))*int64(unsafe.Sizeof(nodeKeys{})) + int64(cap(s.artistOff))*4 + int64(cap(s.artistKey))*8
	if s.words != nil {
		f.WordIndex = s.words().bytes()
	}
	if s.facets != nil {
		f.Facets = s.facets().bytes()
	}
	if s.mapLayout != nil {
		f.Map = s.mapLayout.bytes()
	}
	if s.histories != nil {
		f.Histories = s.histories.bytes()
	}
	return f
}

// catalogueBytes counts the catalog and the maps from ids to nodes.
func (s *snapshot) catalogueBytes() int64 {
	n := s.cat.bytes() + s.byID.bytes() + memsize.Map(len(s.bySpotify), int(unsafe.Sizeof(""))+4)
	for k := range s.bySpotify {
		n += int64(len(k))
	}
	return n
}

// bytes counts the word index's arrays and words.
func (x *wordIndex) bytes() int64 {
	n := int64(cap(x.words.text)) + 4*int64(cap(x.words.off))
	return n + 4*int64(cap(x.postOff)+cap(x.post)+cap(x.fwdOff)+cap(x.fwd)+cap(x.byRank))
}

func (fa *facets) bytes() int64 {
	n := int64(cap(fa.attrs))*int64(unsafe.Sizeof(nodeAttrs{})) + int64(cap(fa.pops)+cap(fa.years))
	n += memsize.Map(len(fa.genreIDs), int(unsafe.Sizeof(""))+4)
	for g := range fa.genreIDs {
		n += int64(len(g))
	}
	n += 4 * int64(cap(fa.rareOff)+cap(fa.rareGenre)+cap(fa.byYear)+cap(fa.yearOff)+cap(fa.byPopularity))
	n += int64(cap(fa.byGenre)) * int64(unsafe.Sizeof([]uint32(nil)))
	for _, nodes := range fa.byGenre {
		n += 4 * int64(cap(nodes))
	}
	return n + int64(unsafe.Sizeof(*fa))
}

func (m *mapLayout) bytes() int64 {
	return 4 * int64(cap(m.nodes)+cap(m.xy)+cap(m.pos))
}

// ServingGCPercent is the garbage collector's target (GOGC) for a process
// that serves an Engine, as soundalike serve runs (server.SetServingGC
// sets it): a collection starts once the heap has grown by half the live
// heap. The snapshot is most of the live heap and holds almost no
// pointers, so a cycle costs little CPU, but during its mark phase a
// quarter of the CPU marks and allocating queries assist. 50 runs half the
// cycles of 25 for a heap within 1.5 times the snapshot; a much larger
// runway lands each query's garbage on fresh pages (minor page faults)
// instead of recycling warm ones. docs/benchmarks.md has the figures.
const ServingGCPercent = 50
