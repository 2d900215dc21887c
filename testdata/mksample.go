//go:build ignore

// mksample draws testdata/spotify_sample.csv from the shared dev file:
// whole playlists, chosen by a seeded shuffle, until the sample has at least
// -rows rows (never more than -max). Rows keep their order in the source.
//
//	go run testdata/mksample.go -in /work/shared/data/spotify_songs_dev.csv.gz -out testdata/spotify_sample.csv
package main

import (
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"slices"
)

func main() {
	in := flag.String("in", "/work/shared/data/spotify_songs_dev.csv.gz", "source CSV (gzip)")
	out := flag.String("out", "testdata/spotify_sample.csv", "sample to write")
	seed := flag.Uint64("seed", 1, "shuffle seed")
	want := flag.Int("rows", 3000, "stop adding playlists once the sample has this many rows")
	max := flag.Int("max", 4000, "never exceed this many rows")
	flag.Parse()

	f, err := os.Open(*in)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	all, err := csv.NewReader(gz).ReadAll()
	if err != nil {
		log.Fatal(err)
	}
	header, rows := all[0], all[1:]
	col := slices.Index(header, "playlist_id")
	count := map[string]int{}
	for _, r := range rows {
		count[r[col]]++
	}
	ids := make([]string, 0, len(count))
	for id := range count {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rand.New(rand.NewPCG(*seed, 0)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })

	keep := map[string]bool{}
	total := 0
	for _, id := range ids {
		if total >= *want {
			break
		}
		if total+count[id] > *max {
			continue
		}
		keep[id] = true
		total += count[id]
	}
	o, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := csv.NewWriter(o)
	w.Write(header)
	for _, r := range rows {
		if keep[r[col]] {
			w.Write(r)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		log.Fatal(err)
	}
	if err := o.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d playlists, %d rows\n", len(keep), total)
}
