// Package index finds the vectors most similar to a query by cosine
// similarity. It deals only in uint32 ids and []float32 vectors and knows
// nothing of tracks.
//
// # Indexes
//
// HNSW is an approximate index: the Hierarchical Navigable Small World
// graph of Malkov & Yashunin (arXiv:1603.09320) with random levels
// (mL = 1/ln M), greedy descent through the upper layers, SEARCH-LAYER with
// a beam of ef ≥ k and the paper's stopping rule, the heuristic neighbour
// selection of its Algorithm 4, M neighbours per node on the upper layers
// and 2·M on layer 0. Flat is exact: it scores every vector. Both have the
// same methods (Add, AddBatch, Delete, Search, SearchInto, Vector, Len,
// Contains, Stats), so Flat is the ground truth in tests and benchmarks
// (internal/coderhnsw puts github.com/coder/hnsw behind the same methods,
// for the benchmark only). Only HNSW is saved and read back (WriteTo,
// Read), and only it has the searches for selective filters (SearchKept,
// ScoreIDs) and the graph's upkeep (SetOptions, NeedsCompact, Compact).
//
// Flat is the right choice for small catalogues: it needs no build, is
// exact, and a scan of a few thousand vectors is cheap. Its cost grows
// linearly with the vectors while HNSW's grows roughly with their
// logarithm, so past some size HNSW is faster; docs/benchmarks.md gives the
// crossover measured on this project's vectors.
//
// # Vectors and scores
//
// Every vector must have the index's dimension, finite components, and not
// be all zeros; otherwise Add and Search return an error naming the problem
// (a *DimensionError for a wrong length). Vectors are normalised to unit
// length on the way in, so any non-zero vector may be given and the score
// is always its cosine similarity: higher is closer, 1 is identical. Flat
// stores float32. HNSW stores each component in half precision (Vector
// returns the stored vector, Stored computes it), which moves a score from
// the float32 one by about 1e-4; it ranks by the dot product of the query
// and the stored vector, whose length is 1 only up to that rounding, and
// scores its results by their cosine. Results are sorted by Score
// descending, ties by ID ascending.
//
// # Changes
//
// Add inserts a vector, or replaces the vector of an existing id: the old
// node becomes a tombstone and the new vector is linked as a fresh node.
// Delete makes a tombstone. Tombstones still guide searches through the
// graph but are never returned, and a search still returns k results while
// k live vectors pass. Tombstones cost memory and, past about a fifth of
// the graph, recall; NeedsCompact reports when they pass
// Options.MaxTombstoneRatio (default 0.2; SetOptions changes it on a built
// or read index, as it does EfSearch) and Compact rebuilds the graph
// without them. Compaction is explicit: the index never stalls a caller with
// a rebuild it did not ask for.
//
// # Filters
//
// A search takes an optional Filter (true keeps an id): exclude the query
// track, the same artist, tracks already heard. Rejected nodes are still
// traversed, and the beam widens past ef until ef passing results are found
// or the reachable graph is exhausted, so a search returns k results that
// pass whenever k exist. A very selective filter (keeping a few ids out of
// many) therefore costs up to a full scan; for those, SearchKept moves only
// through the kept ids, and ScoreIDs scores a list of them exactly.
//
// # Concurrency
//
// Both indexes are safe for concurrent use. Searches share a read lock and
// run in parallel without allocating (SearchInto with a reused dst). Add,
// AddBatch, Delete and Compact take the write lock. AddBatch links the batch
// in parallel on Options.Workers goroutines (default all cores), with a
// stripe of mutexes guarding the neighbour lists; with one worker a build is
// fully determined by Options.Seed.
//
// # Persistence
//
// HNSW's WriteTo writes a versioned stream of frames of at most 64 KiB,
// each with its own CRC-32C, so that storage can cut the stream into
// bounded chunks anywhere and a damaged chunk is caught on load. Read
// decodes it; a truncated or corrupt stream gives an error wrapping ErrCorrupt,
// never a panic, and arrays are allocated only as their bytes arrive. A
// reloaded index returns exactly the results of the saved one. The layout is
// documented in encode.go; testdata/graph_v1.bin is a version-1 stream that
// every later version must keep reading.
package index
