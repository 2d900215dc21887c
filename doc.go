// Package soundalike answers "which tracks sound like this one?".
//
// It keeps a music catalogue (tracks with Spotify's eleven audio features,
// and what users did with them) in one bbolt database, learns a 64-d
// embedding of each track (its audio features, duration, release year,
// popularity, artists and album) from what users play together,
// indexes the embeddings in an HNSW cosine index, and answers similarity
// queries in well under a millisecond.
//
// # Quick start
//
//	eng, err := soundalike.Open("soundalike.db", nil)
//	if err != nil { ... }
//	defer eng.Close()
//	res, err := eng.Similar(ctx, "0sf12qNH5qcw8qpgymFOqD", 20, nil)
//	for _, n := range res.Neighbors {
//		fmt.Println(n.ID, n.Track.Name, n.Score) // Score is cosine similarity: higher is closer
//	}
//
// The command-line tool (cmd/soundalike) fills the database: `import` reads
// files or the app's PostgreSQL database, `train` fits a model, `reindex`
// embeds every track and builds the index, `serve` answers over HTTP.
// Libraries do the same through Engine.Import (with package ingest),
// package trainer and Engine.Reindex; server.New mounts the HTTP API.
//
// # Track references
//
// Wherever a query names a track (Similar's and Track's id, Query.Tracks,
// an Example's Track, SearchOptions.Exclude, Filter.IDs, MapQuery.IDs) it
// takes a reference: the track's id as stored, whatever its form, or a
// form ParseTrackRef accepts (a spotify:track:ID URI or an
// open.spotify.com link, also found through Track.SpotifyID); only the
// catalogue can tell the two apart, so callers pass references on as
// given. A reference that names no track, whatever its form (a deleted
// track's id among them), is ignored in Exclude and Filter.IDs, listed in
// MapView.Missing, and wraps ErrNotFound where a query names one track;
// the message says what a Spotify reference must be
// when the reference looks like a Spotify URI or a link. Only a reference
// that no stored id could be (what CheckTrack refuses as an id, as given
// and with spaces trimmed: empty, longer than MaxKeyLen bytes, holding a
// NUL byte) fails the query with a *TrackRefError, which wraps
// ErrInvalidQuery and names the option it was given in. An interaction's
// track (ImportTx.PutInteraction) and Engine.ResolveTracks are looked up
// the same way, in the database; where tracks share a Spotify id, every
// lookup finds the one added last (an update keeps its place), and
// Engine.ResolveAllTracks, for a caller acting on every track sharing
// the Spotify id, the others too.
//
// # Concurrency
//
// An Engine is safe for concurrent use. Queries read an immutable snapshot
// (catalogue, model, index) through an atomic pointer, and their Results
// (the model that answered, the neighbours and copies of their tracks) all
// come from that one snapshot. Reindex and Reload build a complete new
// snapshot and swap it in, so no query fails or waits behind them; a load
// that fails leaves the previous snapshot serving and is reported by the
// call that asked for it, in Stats and in the log. The ctx of the call
// that loads (OpenContext of a Detached engine, Reload) stops the load
// between its phases and every few thousand records within them: the call
// returns ctx's error, the previous snapshot keeps serving, and the stop
// is not counted as a failure. The queries (and Model) that an attached
// engine gets before its first snapshot share one load: a query whose
// ctx ends returns ctx's error at once, and the load stops once no query
// waits for it. An engine's writes (Import, SaveModel, PromoteModel,
// Reindex) run one at a time, a write waiting for the one in progress
// until its ctx ends, and each is one atomic change to the database: a crash
// leaves the previous state intact.
//
// bbolt lets one process write at a time. An engine opened with nil
// Options therefore holds the file only while it loads or writes, and a
// Detached one (what `soundalike serve` uses) only while it loads; batch
// jobs in other processes can write meanwhile, and Watch polls the file and
// reloads when its generation changes. A ReadOnly engine holds a shared
// lock until Close. A process that finds the file locked waits up to
// Options.LockTimeout and then names the process holding it; the ctx of
// the call that opens the file (OpenContext, Reload, a query's, Import's,
// Backup's, Check's) ends the wait sooner, with ctx's error naming the
// holder.
//
// A reload that Reload, ReloadFor or Watch asked for is logged once
// (Options.Logger) when it publishes a new snapshot: a "reloaded" line
// naming the asker (on=Reload, on=watch for Watch, or what a ReloadFor
// caller names, such as serve's on=SIGHUP) with the generation, model and
// index size now served and the load's timings. The engine's other loads
// (Open of a Detached engine, an attached engine's first query, the
// refresh after a write, Reindex's swap) log nothing when they succeed:
// their caller sees the result. A load that fails (not one stopped by
// ctx, nor a wait for another process's lock) is logged whoever asked for
// it, naming the asker and saying whether a previous snapshot still
// serves, and the next load that succeeds logs that the failure is over.
//
// # Scores and embeddings
//
// Embeddings are unit vectors of the model's dimension, so cosine
// similarity is a dot product. Neighbor.Score is that similarity, in
// [-1, 1], higher is closer.
//
// # Files
//
// The database layout is described in package storage, the model file
// format in package embedder and the index encoding in package index. Each
// carries a version, a checksum and a fixture of the current format that
// tests keep loading.
package soundalike
