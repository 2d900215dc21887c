package main

import (
	_ "embed"
)

// demoSample is testdata/spotify_sample.csv, gzipped: whole playlists from
// the public Spotify songs set. go:embed cannot reach ../../testdata, so the
// command keeps its own copy; TestDemoSampleMatchesTestdata keeps it equal.
//
//go:generate sh -c "gzip -9 -n -c ../../testdata/spotify_sample.csv > demo_sample.csv.gz"
//go:embed demo_sample.csv.gz
var demoSample []byte
