package soundalike

// A search drops what its query excludes (filter.excludes: the examples'
// catalogue tracks, SearchOptions.Exclude, the songs already taken) in
// one of two places. Checked on every node a graph search considers, each
// check reads the node's keys, a cache miss a node. Checked on the
// search's results instead, the search must find as many more results as
// the exclusions could drop (dropCount), widening it. Two bounds choose,
// one for each kind of graph search, because the room costs them
// differently:
//
//   - maxDropped (64): the index search of an unfiltered query
//     (insideFilter) checks up to 64 on its results (refine). The room
//     widens its beam by up to 64 nodes, where keep inside it would miss
//     on every one of the hundreds of nodes it considers; past that, a
//     long Exclude list would buy a beam as long as itself.
//   - fewExclusions (16): a graph search through kept tracks
//     only (keptGraph) checks up to 16 on its results. Each result of
//     room costs it about 1/selectivity expanded nodes (graphCost: ef/sel
//     for ef results), up to 20 times an unfiltered search's at
//     keptOnlyAbove, so its bound is lower: enough for a Similar's track,
//     its song's keys and a few Exclude ids.
//
// Both compare dropCount, which counts keys, not tracks.

// maxDropped is the most exclusions (dropCount) an unfiltered index
// search drops from its results (refine) rather than checking on every
// node inside the search (insideFilter); see above.
const maxDropped = 64

// fewExclusions is the most exclusions (dropCount) a graph search through
// kept tracks only (keptGraph) checks on its results; see above.
const fewExclusions = 16

// dropCount is how many results f's exclusions may drop from a search
// that checks them on its results, the room it asks for: the excluded
// nodes plus the song keys taken. keySet.addSong adds two keys for a track
// with a song key (its song and its features) and one for a track
// without, so a seed counts up to three (its node and two keys); a song
// key drops every copy of its song, which may be more, and a search left
// short of results asks for more (refine).
func (f *filter) dropCount() int { return len(f.excludedNodes) + f.songs.len() }
