package main

// manual is printed by `soundalike help`.
const manual = `soundalike: which tracks sound like this one?

Usage: soundalike COMMAND [flags] [args]

Every command takes --db PATH (default $SOUNDALIKE_DB, else soundalike.db).
Exit codes: 0 success, 1 failure (or rows rejected by import), 2 usage error.
`
