package main

// manual is printed by `soundalike help` (and, on standard error, by
// `soundalike` alone, a usage error): the whole manual in one screen, each
// command's flags under `soundalike COMMAND -h`.
const manual = `soundalike: which tracks sound like this one?

Usage: soundalike COMMAND [flags] [args]

The usual order:

  soundalike import tracks.csv.gz        CSV, TSV or JSON Lines (gzipped or not), or
  soundalike import --postgres URL       the app's PostgreSQL database
  soundalike train                       learn embeddings (a new model version)
  soundalike eval                        precision/recall@20 against baselines
  soundalike reindex                     embed every track, build the HNSW index
  soundalike serve                       GET /similar?track=ID&k=20 on 127.0.0.1:8080
  soundalike search blinding lights      find a track's id by words of its name and artists
  soundalike similar --track ID          the same answer on the command line
                                         (ID, spotify:track:ID or an open.spotify.com link)
  soundalike recommend --user ID         tracks for a user's history (or --positive ID,...)
  soundalike delete ID...                remove tracks (a takedown; --from FILE: one a line)

  soundalike demo                        all of it on the built-in sample

  soundalike backup --out FILE           a consistent copy of the database
  soundalike check                       what is damaged in the file, if anything

Every command that uses a database takes --db PATH (default $SOUNDALIKE_DB,
else soundalike.db); demo builds a fresh one, in a temporary file unless
its --db names a new file to keep.
Flags may come before or after a command's arguments; after -- every
argument is taken as one (a file named -x). Each flag is given once, except
--exclude, which may be repeated as the API repeats exclude=.
One database file holds the catalogue, the interactions, every model version
and the index. import, delete, train and reindex may run while serve is up:
the server answers from memory and reloads when they are done.

A damaged file (a corrupt page, a truncated file) is an error, never a crash:
restore a backup by renaming it over the file (backup --db BACKUP --out FILE
does, checking it first; never copy onto the live file); check lists the
damage. A damaged index alone is rebuilt from the tracks and models by
reindex --full.

Exit codes: 0 success; 1 failure (a busy --addr port, a file that is no
soundalike database), rows rejected by import, or damage found by check;
2 usage error (a flag or argument wrong in itself); 141 standard output
closed before the answer was written (| head), said nowhere; 130 (143)
stopped by SIGINT (SIGTERM), said nowhere when the signal comes in the
moment after start before the command runs. serve stopped by one exits 0:
at once while it waits for or loads the database, once serving when the
requests in flight have finished; a second signal stops that wait at once,
with 130 (143) as the first signal gives.
`
